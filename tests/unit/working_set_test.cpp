// WorkingSet: recency and working-set figures from ACCESS/SAMPLE records,
// against patterns whose answers are known page by page.
#include <catch2/catch.hpp>

#include "aggregator_events.hpp"
#include "self_e/aggregate_report.hpp"
#include "self_e/aggregator.hpp"
#include "self_e/working_set.hpp"

using namespace self_e;
using namespace self_e::test;

namespace {

// One pass over [0, pages) that saw the pages of accessed (gfn -> bit) set.
void pass(WorkingSet& ws, std::uint64_t pages, std::initializer_list<std::uint64_t> accessed)
{
    for (std::uint64_t gfn : accessed)
        ws.on_access(access(1, 0, gfn, 1));
    ws.on_sample(sample(1, 0, 0, pages));
}

}  // namespace

TEST_CASE("working set: recency counts samplings since the last access")
{
    WorkingSet ws;
    CHECK_FALSE(ws.recency(5));
    pass(ws, 64, {5, 6});
    CHECK(ws.recency(5) == 0u);
    pass(ws, 64, {6});
    pass(ws, 64, {6});
    CHECK(ws.recency(5) == 2u);
    CHECK(ws.recency(6) == 0u);
    CHECK_FALSE(ws.recency(7));  // looked at, never seen accessed
    CHECK_FALSE(ws.recency(100));  // never looked at
    CHECK(ws.passes() == 3);
}

TEST_CASE("working set: ages saturate, and a page seen long ago stays seen")
{
    WorkingSet ws;
    pass(ws, 8, {1});
    for (int i = 0; i < 300; ++i)
        pass(ws, 8, {});
    CHECK(ws.recency(1) == 126u);
    const WorkingSetSummary s = ws.summary();
    CHECK(s.idle_pages == 8);
    CHECK(s.working_set_60 == 0);
    CHECK(s.cold_pages == 0);
}

TEST_CASE("working set: an access counts once the SAMPLE record of its range comes")
{
    WorkingSet ws;
    ws.on_access(access(1, 0, 0, 0b101));
    CHECK_FALSE(ws.recency(0));
    CHECK(ws.summary().sampled_pages == 0);
    ws.on_sample(sample(1, 0, 0, 32, 0));  // first range of a two-range pass
    CHECK(ws.summary().working_set_1 == 2);
    CHECK(ws.passes() == 0);
    ws.on_sample(sample(1, 0, 100, 32));
    CHECK(ws.recency(0) == 0u);
    CHECK(ws.recency(2) == 0u);
    const WorkingSetSummary s = ws.summary();
    CHECK(s.passes == 1);
    CHECK(s.sampled_pages == 64);
    CHECK(s.working_set_1 == 2);
    CHECK(ws.recency(1) == std::nullopt);
}

TEST_CASE("working set: a loop over a subset, the rest going idle")
{
    // 4096 pages; the first pass sees 64 pages written, every later pass
    // only 8 of them (stride 4), as minivmm --loop-pages 8 --loop-stride 4.
    WorkingSet ws;
    ws.on_access(access(1, 0, 0x100, ~0ull));
    ws.on_sample(sample(1, 0, 0, 4096));
    for (int i = 1; i < 70; ++i) {
        ws.on_access(access(1, 0, 0x100, 0x11111111));
        ws.on_sample(sample(1, 0, 0, 4096));
    }
    const WorkingSetSummary s = ws.summary();
    CHECK(s.passes == 70);
    CHECK(s.sampled_pages == 4096);
    CHECK(s.working_set_1 == 8);
    CHECK(s.working_set_10 == 8);
    CHECK(s.working_set_60 == 8);  // the fill was 70 passes ago
    CHECK(s.hot_pages == 8);
    CHECK(s.cold_pages == 0);
    CHECK(s.idle_pages == 4096 - 8);
    CHECK(s.partial_passes == 0);
}

TEST_CASE("working set: cold between 10 and 60 passes, idle only after 60")
{
    WorkingSet ws;
    pass(ws, 16, {0, 1, 2});
    for (int i = 0; i < 20; ++i)
        pass(ws, 16, {0});
    WorkingSetSummary s = ws.summary();
    CHECK(s.working_set_1 == 1);
    CHECK(s.working_set_60 == 3);
    CHECK(s.cold_pages == 2);  // pages 1 and 2, last seen 20 passes ago
    CHECK(s.idle_pages == 0);  // the others: not looked at 60 times yet
    for (int i = 0; i < 40; ++i)
        pass(ws, 16, {0});
    s = ws.summary();
    CHECK(s.passes == 61);
    CHECK(s.cold_pages == 0);
    CHECK(s.idle_pages == 15);  // all but page 0
    CHECK(s.hot_pages == 1);
}

TEST_CASE("working set: in partial passes, ages count the page's own samplings")
{
    WorkingSet ws;
    ws.on_access(access(1, 0, 0, 1));
    ws.on_sample(sample(1, 0, 0, 64, SELF_E_F_SAMPLE_END | SELF_E_F_SAMPLE_PARTIAL));
    ws.on_sample(sample(1, 0, 64, 64, SELF_E_F_SAMPLE_END | SELF_E_F_SAMPLE_PARTIAL));
    WorkingSetSummary s = ws.summary();
    CHECK(s.passes == 2);
    CHECK(s.partial_passes == 2);
    CHECK(s.sampled_pages == 128);
    CHECK(s.working_set_1 == 1);  // page 0: accessed in its only sampling
    ws.on_sample(sample(1, 0, 0, 64, SELF_E_F_SAMPLE_END | SELF_E_F_SAMPLE_PARTIAL));
    CHECK(ws.recency(0) == 1u);
    s = ws.summary();
    CHECK(s.working_set_1 == 0);
    CHECK(s.working_set_10 == 1);
}

TEST_CASE("working set: blocks of 64 Ki pages are made where sampled only")
{
    WorkingSet ws;
    ws.on_access(access(1, 0, (1ull << 20) - 1, 1));
    ws.on_sample(sample(1, 0, (1ull << 20) - 1, 2));  // straddles two blocks
    CHECK(ws.recency((1ull << 20) - 1) == 0u);
    CHECK(ws.summary().sampled_pages == 2);
    // Two blocks, 2 bytes and a bit a page.
    CHECK(ws.bytes() == 2 * (2 * 64 * 1024 + 64 * 1024 / 8));
}

TEST_CASE("working set: an ACCESS record across two blocks marks pages in both")
{
    WorkingSet ws;
    constexpr std::uint64_t kEdge = 1ull << 16;  // the second block's first page
    ws.on_access(access(1, 0, kEdge - 2, 0b1011));  // kEdge - 2, kEdge - 1, kEdge + 1
    ws.on_sample(sample(1, 0, kEdge - 2, 4));
    CHECK(ws.recency(kEdge - 2) == 0u);
    CHECK(ws.recency(kEdge - 1) == 0u);
    CHECK(ws.recency(kEdge) == std::nullopt);
    CHECK(ws.recency(kEdge + 1) == 0u);
    CHECK(ws.summary().working_set_1 == 3);
    CHECK(ws.bytes() == 2 * (2 * 64 * 1024 + 64 * 1024 / 8));
}

TEST_CASE("working set: an ACCESS record off a multiple of 64 pages marks exactly its pages")
{
    // A slot's base need not be 64-page aligned: the record's bits straddle
    // two words of the pending bitmap.
    for (const std::uint64_t first : {100ull, 64ull, 127ull, (1ull << 16) - 64 - 5}) {
        CAPTURE(first);
        WorkingSet ws;
        const std::uint64_t bits = 1ull | 1ull << 27 | 1ull << 28 | 1ull << 63;
        ws.on_access(access(1, 0, first, bits));
        ws.on_sample(sample(1, 0, first - 64, 256));
        for (std::uint64_t gfn = first - 64; gfn < first + 192; ++gfn) {
            CAPTURE(gfn);
            const bool accessed = gfn >= first && gfn < first + 64 && (bits >> (gfn - first) & 1);
            CHECK(ws.recency(gfn) == (accessed ? std::optional<std::uint64_t>(0) : std::nullopt));
        }
        // The pass took the marks in: the next one sees nothing new.
        ws.on_sample(sample(1, 0, first - 64, 256));
        CHECK(ws.recency(first) == 1u);
        CHECK(ws.recency(first + 63) == 1u);
        CHECK(ws.summary().working_set_1 == 0);
    }
}

TEST_CASE("working set: the aggregator and the report carry it per VM")
{
    Aggregator agg;
    agg.apply(vm_create(3, 1, 100));
    agg.apply(memslot(3, 2, SELF_E_MEMSLOT_CREATE, 0, 0, 256));
    agg.apply(access(3, 3, 0x10, 0b11));
    agg.apply(sample(3, 4, 0, 256));
    const AggregateReport r = make_report(agg);
    REQUIRE(r.vms.size() == 1);
    CHECK(r.vms[0].working_set.passes == 1);
    CHECK(r.vms[0].working_set.working_set_1 == 2);
    CHECK(r.vms[0].working_set.sampled_pages == 256);
}

TEST_CASE("working set: records alternating between blocks each mark their own pages")
{
    // Every record in another block than the one before: each takes the
    // path that switches blocks, then the cached block's.
    WorkingSet ws;
    constexpr std::uint64_t kBlock = 1ull << 16;
    const std::uint64_t firsts[] = {5 * kBlock + 64, 2 * kBlock + 130, 5 * kBlock + 640, 2 * kBlock, 9 * kBlock + 7};
    for (std::uint64_t first : firsts)
        ws.on_access(access(1, 0, first, 0b101));
    ws.on_access(access(1, 0, 7 * kBlock, 0));  // marks nothing
    for (std::uint64_t b : {2ull, 5ull, 7ull, 9ull})
        ws.on_sample(sample(1, 0, b * kBlock, kBlock));
    std::uint64_t seen = 0;
    for (std::uint64_t first : firsts) {
        CAPTURE(first);
        CHECK(ws.recency(first) == 0u);
        CHECK(ws.recency(first + 1) == std::nullopt);
        CHECK(ws.recency(first + 2) == 0u);
        seen += 2;
    }
    CHECK(ws.summary().working_set_1 == seen);
    CHECK(ws.summary().sampled_pages == 4 * kBlock);
}
