// PageScanner and take_snapshot (libself/page_scanner, snapshot) over fake
// /proc trees: every class, batches, frame runs, and every refusal.
#include <catch2/catch.hpp>

#include <linux/kernel-page-flags.h>

#include "fake_tree.hpp"
#include "self_e/error.hpp"
#include "self_e/page_scanner.hpp"
#include "self_e/snapshot.hpp"

using namespace self_e;
using self_e::test::FakeTree;
using self_e::test::flag;

namespace {

constexpr int kPid = 42;
constexpr std::uint64_t kBase = 0x10000000;  // the fake guest RAM
constexpr std::uint64_t kPage = 4096;

std::uint64_t page(std::uint64_t i) { return kBase + i * kPage; }

constexpr const char* kMaps =
    "00400000-00401000 r-xp 00000000 fd:01 77 /usr/bin/fakevmm\n"
    "10000000-10010000 rw-p 00000000 00:00 0 \n"           // 16 pages of guest RAM
    "10010000-10011000 rw-s 00000000 00:01 9 /memfd:x\n"   // shared memory: not anonymous
    "10020000-10022000 rw-p 00000000 00:00 0 [heap]\n";

// 16 pages, one of each kind:
//  0 not present   1 swapped    2 private   3 shared (fork)   4,5 one KSM frame
//  6 another KSM frame          7 zero      8-15 a THP (private), 15 also file
FakeTree make_vm()
{
    FakeTree tree;
    tree.add_process(kPid, "fakevmm", kMaps, 0x10100000);
    tree.set_frame_count(4096);
    tree.set_pagemap(kPid, page(1), (std::uint64_t{1} << 62) | 0x3e0);
    tree.map_page(kPid, page(2), 100);
    tree.set_frame(100, flag(KPF_ANON) | flag(KPF_LRU));
    tree.map_page(kPid, page(3), 101, /*exclusive=*/false);
    tree.set_frame(101, flag(KPF_ANON));
    tree.map_page(kPid, page(4), 500, false);
    tree.map_page(kPid, page(5), 500, false);
    tree.set_frame(500, flag(KPF_ANON) | flag(KPF_KSM));
    tree.map_page(kPid, page(6), 3000);
    tree.set_frame(3000, flag(KPF_ANON) | flag(KPF_KSM));
    tree.map_page(kPid, page(7), 7, false);
    tree.set_frame(7, flag(KPF_ZERO_PAGE));
    for (std::uint64_t i = 0; i < 8; ++i) {
        tree.map_page(kPid, page(8 + i), 1024 + i, true, /*file=*/i == 7);
        tree.set_frame(1024 + i, flag(KPF_ANON) | flag(KPF_THP) |
                                     flag(i ? KPF_COMPOUND_TAIL : KPF_COMPOUND_HEAD));
    }
    tree.write(tree.proc() / "42/ksm_stat", "ksm_rmap_items 9\nksm_merging_pages 3\nksm_merge_any: no\n");
    tree.write(tree.proc() / "42/ksm_merging_pages", "3\n");
    tree.write(tree.sys() / "kernel/mm/ksm/run", "1\n");
    tree.write(tree.sys() / "kernel/mm/ksm/pages_sharing", "3\n");
    return tree;
}

std::string snapshot_error(const FakeTree& tree, const SnapshotTarget& target, ErrorKind kind)
{
    try {
        take_snapshot(ProcFs{tree.proc()}, SysFs{tree.sys()}, target);
    } catch (const Error& e) {
        CHECK(e.kind() == kind);
        return e.what();
    }
    FAIL("no error");
    return {};
}

}  // namespace

TEST_CASE("a snapshot counts every page by the class rules", "[snapshot]")
{
    const FakeTree tree = make_vm();
    const SnapshotTarget target{kPid, {{kBase, kBase + 16 * kPage}}, RangeOrigin::given};
    const Snapshot snap = take_snapshot(ProcFs{tree.proc()}, SysFs{tree.sys()}, target);

    CHECK(snap.pid == kPid);
    CHECK(snap.comm == "fakevmm");
    CHECK(snap.page_size == kPage);
    CHECK(snap.origin == RangeOrigin::given);
    const PageCounts& c = snap.pages;
    CHECK(c.total == 16);
    CHECK(c.not_present == 1);
    CHECK(c.swapped == 1);
    CHECK(c.present == 14);
    CHECK(c.private_pages == 9);
    CHECK(c.shared == 1);
    CHECK(c.ksm == 3);
    CHECK(c.zero == 1);
    CHECK(c.thp == 8);
    CHECK(c.file == 1);
    CHECK(c.hugetlb == 0);
    CHECK(snap.ksm.frames_in_ranges == 2);
    CHECK(snap.ksm.merging_pages == 3);
    REQUIRE(snap.ksm.stat.has_value());
    CHECK(find_number(*snap.ksm.stat, "ksm_rmap_items") == 9);
    REQUIRE(snap.ksm_system.has_value());
    CHECK(find_number(*snap.ksm_system, "run") == 1);
    REQUIRE(snap.ranges.size() == 1);
    CHECK(snap.ranges[0].pages == c);
}

TEST_CASE("by default the ranges are the private anonymous mappings", "[snapshot]")
{
    const FakeTree tree = make_vm();
    const ProcFs proc{tree.proc()};
    const SnapshotTarget target = anonymous_mappings_target(proc, kPid);
    CHECK(target.origin == RangeOrigin::anonymous_mappings);
    CHECK(target.ranges == std::vector<AddressRange>{{0x10000000, 0x10010000}, {0x10020000, 0x10022000}});

    const Snapshot snap = take_snapshot(proc, SysFs{tree.sys()}, target);
    CHECK(snap.pages.total == 18);
    CHECK(snap.pages.present == 14);
    CHECK(snap.ranges[1].pages.not_present == 2);
}

TEST_CASE("a process without anonymous mappings is an error naming it", "[snapshot]")
{
    FakeTree tree;
    tree.add_process(2, "kthreadd", "", 0);
    CHECK_THROWS_WITH(anonymous_mappings_target(ProcFs{tree.proc()}, 2),
                      Catch::Contains("pid 2 (kthreadd)") && Catch::Contains("no anonymous"));
    CHECK_THROWS_WITH(anonymous_mappings_target(ProcFs{tree.proc()}, 3), Catch::Contains("no process with pid 3"));
}

TEST_CASE("large ranges go in batches, frames in runs, and still count exactly", "[snapshot]")
{
    FakeTree tree;
    const std::uint64_t nr_pages = PageScanner::kBatchPages + 4464;  // two batches
    tree.add_process(kPid, "big", "", kBase + nr_pages * kPage);
    tree.set_frame_count(1 << 20);
    // Pages in the order of frames reversed, with near and far frames.
    const std::uint64_t present_pages[] = {0, 1, 2, 65535, 65536, 65537, nr_pages - 1};
    const std::uint64_t frames[] = {900000, 40, 41, 75, 40 + PageScanner::kMaxPfnGap + 1, 999999, 2};
    for (int i = 0; i < 7; ++i) {
        tree.map_page(kPid, page(present_pages[i]), frames[i]);
        tree.set_frame(frames[i], flag(KPF_ANON) | (i % 2 ? flag(KPF_KSM) : 0));
    }
    PageScanner scanner(ProcFs{tree.proc()}, kPid);
    std::vector<std::uint64_t> batch_starts;
    std::vector<std::pair<std::uint64_t, PageInfo>> seen;
    scanner.scan({kBase, kBase + nr_pages * kPage}, [&](std::uint64_t first, std::span<const PageInfo> pages) {
        batch_starts.push_back(first);
        for (std::size_t i = 0; i < pages.size(); ++i)
            if (pages[i].page_class != PageClass::not_present)
                seen.emplace_back(first + i * kPage, pages[i]);
    });
    CHECK(batch_starts == std::vector<std::uint64_t>{kBase, kBase + PageScanner::kBatchPages * kPage});
    REQUIRE(seen.size() == 7);
    for (int i = 0; i < 7; ++i) {
        CHECK(seen[i].first == page(present_pages[i]));
        CHECK(seen[i].second.pfn == frames[i]);
        CHECK(seen[i].second.page_class == (i % 2 ? PageClass::ksm : PageClass::private_page));
    }
}

TEST_CASE("a pagemap without frame numbers means not root", "[snapshot]")
{
    const FakeTree tree = make_vm();
    tree.map_page(kPid, page(0), 0);
    const auto msg = snapshot_error(tree, {kPid, {{kBase, kBase + 16 * kPage}}, RangeOrigin::given},
                                    ErrorKind::permission);
    CHECK_THAT(msg, Catch::Contains("need root") && Catch::Contains("pid 42") &&
                        Catch::Contains("0x10000000"));
}

TEST_CASE("frames without struct page or past kpageflags are refused", "[snapshot]")
{
    const FakeTree tree = make_vm();
    tree.map_page(kPid, page(0), 4000);
    tree.set_frame(4000, flag(KPF_NOPAGE));
    CHECK_THAT(snapshot_error(tree, {kPid, {{kBase, kBase + 16 * kPage}}, RangeOrigin::given},
                              ErrorKind::unsupported),
               Catch::Contains("no struct page") && Catch::Contains("0xfa0"));

    tree.map_page(kPid, page(0), 5000);
    CHECK_THAT(snapshot_error(tree, {kPid, {{kBase, kBase + 16 * kPage}}, RangeOrigin::given},
                              ErrorKind::unsupported),
               Catch::Contains("0x1388") && Catch::Contains("past the end"));
}

TEST_CASE("a range past the end of the pagemap is an error, not a short count", "[snapshot]")
{
    const FakeTree tree = make_vm();
    const auto msg = snapshot_error(tree, {kPid, {{0x100f0000, 0x10110000}}, RangeOrigin::given},
                                    ErrorKind::invalid_argument);
    CHECK_THAT(msg, Catch::Contains("ended at 0x10100000") && Catch::Contains("address space"));
}

TEST_CASE("overlapping, unaligned and missing targets are refused", "[snapshot]")
{
    const FakeTree tree = make_vm();
    CHECK_THAT(snapshot_error(tree, {kPid, {{kBase, kBase + 2 * kPage}, {kBase + kPage, kBase + 3 * kPage}}},
                              ErrorKind::invalid_argument),
               Catch::Contains("overlap"));
    CHECK_THAT(snapshot_error(tree, {kPid, {{kBase + 1, kBase + kPage}}}, ErrorKind::invalid_argument),
               Catch::Contains("not page aligned"));
    CHECK_THAT(snapshot_error(tree, {7, {{kBase, kBase + kPage}}}, ErrorKind::no_such_process),
               Catch::Contains("no process with pid 7"));
}

TEST_CASE("a kernel without KSM gives no KSM values, not an error", "[snapshot]")
{
    FakeTree tree;
    tree.add_process(kPid, "noksm", "", 0x20000000);
    tree.set_frame_count(16);
    std::filesystem::remove_all(tree.sys() / "kernel/mm/ksm");
    const Snapshot snap = take_snapshot(ProcFs{tree.proc()}, SysFs{tree.sys()},
                                        {kPid, {{kBase, kBase + kPage}}, RangeOrigin::given});
    CHECK(snap.pages.not_present == 1);
    CHECK_FALSE(snap.ksm.stat.has_value());
    CHECK_FALSE(snap.ksm.merging_pages.has_value());
    CHECK_FALSE(snap.ksm_system.has_value());
}
