// The aggregator over synthetic event streams: every transition, sharing
// within and across VMs, what sharing saves, order and exactness.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <vector>

#include "aggregator_events.hpp"
#include "self_e/aggregate_report.hpp"
#include "self_e/aggregator.hpp"

using namespace self_e;
using namespace self_e::test;

namespace {

constexpr std::uint64_t kMs = 1'000'000;

// VMs with one guest-RAM slot of `pages` pages at gfn 0 each.
void add_vms(Aggregator& agg, std::initializer_list<std::uint16_t> vms, std::uint64_t pages = 1024)
{
    for (std::uint16_t vm : vms) {
        agg.apply(vm_create(vm, 1, 1000u + vm));
        agg.apply(memslot(vm, 1, SELF_E_MEMSLOT_CREATE, 0, 0, pages));
    }
}

void apply(Aggregator& agg, std::initializer_list<Event> events)
{
    for (const Event& ev : events)
        agg.apply(ev);
}

// A copy: the report is often a temporary.
VmReport vm_report(const AggregateReport& r, std::uint16_t vm)
{
    for (const VmReport& v : r.vms)
        if (v.vm_id == vm)
            return v;
    FAIL("vm " << vm << " not in the report");
    throw;
}

PageState state(const Aggregator& agg, std::uint16_t vm, std::uint64_t gfn)
{
    return agg.vm(vm)->state(gfn);
}

}  // namespace

TEST_CASE("a VM's table covers its address-space-0 memslots only", "[aggregator]")
{
    Aggregator agg;
    apply(agg, {vm_create(1, 1, 4242), memslot(1, 2, SELF_E_MEMSLOT_CREATE, 0, 0, 0xc0),
                memslot(1, 3, SELF_E_MEMSLOT_CREATE, 1, 0x100000, 0x40),
                memslot(1, 4, SELF_E_MEMSLOT_CREATE, 0, 0, 0x10, /*address_space=*/1)});
    const VmReport r = vm_report(make_report(agg), 1);
    CHECK(r.pid == 4242);
    CHECK(r.pages.total == 0x100);
    CHECK(r.pages.untouched == 0x100);
    CHECK(r.pages.touched == 0);
    CHECK(r.exact);

    // Faults in SMM and outside the slots change no page.
    apply(agg, {fault(1, 5, 0x3, 0x77, SELF_E_F_SMM), fault(1, 6, 0xc0, 0x78),
                fault(1, 7, 0x100040, 0x79)});
    const VmReport after = vm_report(make_report(agg), 1);
    CHECK(after.pages.touched == 0);
    CHECK(after.counters.outside_slots == 2);
    CHECK(after.counters.faults == 0);
}

TEST_CASE("every page state transition", "[aggregator]")
{
    Aggregator agg;
    add_vms(agg, {1});
    const std::uint64_t g = 7;
    CHECK(state(agg, 1, g) == PageState::untouched);
    agg.apply(fault(1, 10, g, 0x500));
    CHECK(state(agg, 1, g) == PageState::private_page);
    agg.apply(merge(1, 20, g, 0x900, true));
    CHECK(state(agg, 1, g) == PageState::ksm);
    agg.apply(fault(1, 25, g, 0x900, 0));  // a read fault maps the KSM page again
    CHECK(state(agg, 1, g) == PageState::ksm);
    agg.apply(cow_break(1, 30, g, 0x900));
    CHECK(state(agg, 1, g) == PageState::cow_broken);
    agg.apply(zero_merge(1, 40, g, 0x10));
    CHECK(state(agg, 1, g) == PageState::zero);
    agg.apply(unmerge(1, 50, g, 0x10));
    CHECK(state(agg, 1, g) == PageState::private_page);
    agg.apply(merge(1, 60, g, 0x901));
    CHECK(state(agg, 1, g) == PageState::ksm);
    agg.apply(zero_merge(1, 70, g, 0x10));  // straight from a KSM page to the zero page
    CHECK(state(agg, 1, g) == PageState::zero);
    CHECK(agg.ksm_pages().size() == 0);
    agg.apply(unmap(1, 80, g));
    CHECK(state(agg, 1, g) == PageState::unmapped);
    agg.apply(fault(1, 90, g, 0x501));
    CHECK(state(agg, 1, g) == PageState::private_page);
    agg.apply(unmap(1, 100, g));
    agg.apply(access(1, 110, 0, std::uint64_t{1} << g));
    CHECK(state(agg, 1, g) == PageState::private_page);

    const VmReport r = vm_report(make_report(agg), 1);
    CHECK(r.counters.faults == 3);
    CHECK(r.counters.merges == 2);
    CHECK(r.counters.ksm_new == 1);
    CHECK(r.counters.zero_merges == 2);
    CHECK(r.counters.cow_breaks == 1);
    CHECK(r.counters.unmerges == 1);
    CHECK(r.counters.unmaps == 2);
    CHECK(r.counters.accessed == 1);
    CHECK(r.counters.stale == 0);
    CHECK(r.pages.total == 1024);
    CHECK(r.pages.touched == 1);
    CHECK(r.pages.private_pages == 1);
    CHECK(r.pages.untouched == 1023);
    CHECK(r.exact);
}

TEST_CASE("counts by state always add up to the pages", "[aggregator]")
{
    Aggregator agg;
    add_vms(agg, {1});
    apply(agg, {fault(1, 1, 0, 1), fault(1, 1, 1, 2), fault(1, 1, 2, 3), fault(1, 1, 3, 4),
                merge(1, 2, 0, 0x900, true), merge(1, 2, 1, 0x900), zero_merge(1, 2, 2, 0x10),
                cow_break(1, 3, 1, 0x900), unmap(1, 3, 3)});
    const VmPageReport p = vm_report(make_report(agg), 1).pages;
    CHECK(p == VmPageReport{.total = 1024,
                            .touched = 4,
                            .ksm_shared = 1,
                            .ksm_across = 0,
                            .ksm_within = 0,
                            .ksm_alone = 1,
                            .ksm_zero = 1,
                            .private_pages = 1,
                            .cow_broken = 1,
                            .unmapped = 1,
                            .untouched = 1020});
    CHECK(p.touched == p.ksm_shared + p.ksm_zero + p.private_pages + p.unmapped);
}

TEST_CASE("fault levels are counted; a 2M fault touches its own gfn only", "[aggregator]")
{
    Aggregator agg;
    add_vms(agg, {1});
    apply(agg, {fault(1, 1, 512, 0x4000, SELF_E_F_WRITE | (1 << SELF_E_F_LEVEL_SHIFT)),
                fault(1, 2, 3, 0x4001), fault(1, 3, 4, 0x4002, SELF_E_F_PREFETCH)});
    const VmReport r = vm_report(make_report(agg), 1);
    CHECK(r.counters.faults_by_level == std::array<std::uint64_t, 3>{2, 1, 0});
    CHECK(r.pages.touched == 3);
    CHECK(page_word::level(agg.vm(1)->word_of(512)) == 1);
}

TEST_CASE("a 4K fault mapping another frame than the shared one leaves sharing", "[aggregator]")
{
    Aggregator agg;
    const GuestMemslot slot{0, 0, 8, 0x7f0000000000};
    agg.seed_vm(1, 42, std::span(&slot, 1));
    // Found on the zero page at seed: a read of untouched memory, as it turns out.
    agg.seed_pages(1, 0x7f0000000000, std::vector<PageInfo>{{PageClass::zero, false, false, false, 0x10}});
    apply(agg, {merge(1, 1, 1, 0x900, true), merge(1, 1, 2, 0x900), merge(1, 1, 3, 0x900),
                fault(1, 2, 0, 0x500),                                          // written: private copy
                fault(1, 3, 1, 0x900, 0),                                       // read: the KSM page again
                fault(1, 4, 2, 0x600, SELF_E_F_WRITE | (1 << SELF_E_F_LEVEL_SHIFT)),  // 2M: not this frame
                fault(1, 5, 3, 0x501)});
    CHECK(state(agg, 1, 0) == PageState::private_page);
    CHECK(state(agg, 1, 1) == PageState::ksm);
    CHECK(state(agg, 1, 2) == PageState::ksm);
    CHECK(state(agg, 1, 3) == PageState::private_page);
    CHECK(agg.vm(1)->counters.fault_leaves == 2);
    CHECK(agg.ksm_pages().find(0x900)->mappers() == 2);
    CHECK(vm_report(make_report(agg), 1).cow_breaks == 0);
}

TEST_CASE("access samples touch the pages of their bitmap", "[aggregator]")
{
    Aggregator agg;
    add_vms(agg, {1}, 100);
    // Pages 64, 65, 67 and 99 in the slot; 127 (bit 63) past its end.
    agg.apply(access(1, 1, 64, 0b1011 | (std::uint64_t{1} << 35) | (std::uint64_t{1} << 63)));
    const VmReport r = vm_report(make_report(agg), 1);
    CHECK(r.pages.touched == 4);
    CHECK(r.counters.accessed == 4);
    CHECK(r.counters.outside_slots == 1);
    CHECK(state(agg, 1, 66) == PageState::untouched);
    CHECK(state(agg, 1, 99) == PageState::private_page);
}

TEST_CASE("faults and access records map never-mapped pages only, keeping the counts and the rest of the word",
          "[aggregator]")
{
    // One page in each state, then touched again: a fault on pages 0-5, an
    // access record over pages 8-13 set up the same way. The counts are
    // kept apart from the words, so both are checked.
    Aggregator agg;
    add_vms(agg, {1});
    for (std::uint64_t base : {0, 8}) {
        apply(agg, {fault(1, 1, base + 1, 0x500 + base, SELF_E_F_WRITE | (1 << SELF_E_F_LEVEL_SHIFT)),  // private, 2M
                    fault(1, 1, base + 2, 0x600 + base), unmap(1, 2, base + 2),                     // unmapped
                    fault(1, 1, base + 3, 0x700 + base), merge(1, 2, base + 3, 0x900),              // ksm
                    fault(1, 1, base + 4, 0x800 + base), merge(1, 2, base + 4, 0x901),
                    cow_break(1, 3, base + 4, 0x901),                                               // cow_broken
                    fault(1, 1, base + 5, 0x850 + base), zero_merge(1, 2, base + 5, 0x10)});        // zero
    }
    const VmPages& vm = *agg.vm(1);
    std::vector<PageWord> before;
    for (std::uint64_t gfn = 0; gfn < 16; ++gfn)
        before.push_back(vm.word_of(gfn));
    const std::uint64_t private_before = vm.count(PageState::private_page);

    // 4K faults; a shared page's maps the frame it shares (a read).
    apply(agg, {fault(1, 10, 0, 0x20), fault(1, 10, 1, 0x21), fault(1, 10, 2, 0x22), fault(1, 10, 3, 0x900, 0),
                fault(1, 10, 4, 0x23), fault(1, 10, 5, 0x10, 0)});
    agg.apply(access(1, 10, 8, 0b111111));
    for (std::uint64_t base : {0, 8}) {
        CHECK(state(agg, 1, base + 0) == PageState::private_page);  // was untouched
        CHECK(state(agg, 1, base + 1) == PageState::private_page);
        CHECK(state(agg, 1, base + 2) == PageState::private_page);  // was unmapped
        CHECK(state(agg, 1, base + 3) == PageState::ksm);
        CHECK(state(agg, 1, base + 4) == PageState::cow_broken);
        CHECK(state(agg, 1, base + 5) == PageState::zero);
        // Nothing but the state changes (and a fault's level): bucket and
        // volatile mark stay.
        for (std::uint64_t gfn = base + 1; gfn < base + 6; ++gfn) {
            if (gfn == 1)
                continue;  // a fault sets its level: 4K now
            CHECK(page_word::with_state(vm.word_of(gfn), PageState::untouched) ==
                  page_word::with_state(before[gfn], PageState::untouched));
        }
    }
    CHECK(page_word::level(vm.word_of(1)) == 0);
    CHECK(page_word::level(vm.word_of(9)) == 1);
    CHECK(vm.count(PageState::private_page) == private_before + 4);
    CHECK(vm.count(PageState::unmapped) == 0);
    CHECK(vm.count(PageState::untouched) == 1024 - 12);
    CHECK(vm.count(PageState::ksm) == 2);
    CHECK(vm.count(PageState::zero) == 2);
    CHECK(vm.count(PageState::cow_broken) == 2);
    CHECK(vm.counters.accessed == 6);
}

TEST_CASE("an access record maps exactly its never-mapped pages, all 64 of them and at a slot's end",
          "[aggregator]")
{
    // Pages 100-163 in states by gfn % 6 (COW-broken words carry a
    // duration bucket in their high byte, some unmapped ones the volatile
    // mark: bits beside the state), then a record naming all 64 and
    // one naming the slot's last 24 pages (its 64-page window leaves the slot).
    Aggregator agg;
    add_vms(agg, {1});  // 1024 pages
    std::vector<Event> setup;
    const auto set_up = [&](std::uint64_t gfn) {
        switch (gfn % 6) {
        case 0: break;  // untouched
        case 1: setup.push_back(fault(1, 1, gfn, 0x5000 + gfn)); break;
        case 2:  // unmapped, half of them keeping the volatile mark
            if (gfn / 6 % 2) {
                setup.push_back(merge(1, 2, gfn, 0x902));
                setup.push_back(cow_break(1, 5'000'000, gfn, 0x902));
            } else {
                setup.push_back(fault(1, 1, gfn, 0x5000 + gfn));
            }
            setup.push_back(unmap(1, 6'000'000, gfn));
            break;
        case 3: setup.push_back(merge(1, 2, gfn, 0x900)); break;
        case 4:
            setup.push_back(merge(1, 2, gfn, 0x901));
            setup.push_back(cow_break(1, 5'000'000, gfn, 0x901));
            break;
        case 5: setup.push_back(zero_merge(1, 2, gfn, 0x10)); break;
        }
    };
    for (std::uint64_t gfn = 100; gfn < 164; ++gfn)
        set_up(gfn);
    for (std::uint64_t gfn = 1000; gfn < 1024; ++gfn)
        set_up(gfn);
    agg.apply(std::span<const Event>(setup));
    const VmPages& vm = *agg.vm(1);
    REQUIRE(page_word::bucket(vm.word_of(100)) != 0);
    REQUIRE(page_word::state(vm.word_of(104)) == PageState::unmapped);
    REQUIRE(page_word::is_volatile(vm.word_of(104)));
    std::vector<PageWord> before(1024);
    for (std::uint64_t gfn = 0; gfn < 1024; ++gfn)
        before[gfn] = vm.word_of(gfn);
    const auto counts = [&] {
        std::array<std::uint64_t, kPageStates> c{};
        for (std::size_t i = 0; i < kPageStates; ++i)
            c[i] = vm.count(PageState(i));
        return c;
    };
    const auto counts_before = counts();

    agg.apply(access(1, 10, 100, ~std::uint64_t{0}));
    agg.apply(access(1, 10, 1000, (std::uint64_t{1} << 24) - 1));
    std::uint64_t became_private = 0;
    for (std::uint64_t gfn = 0; gfn < 1024; ++gfn) {
        const bool named = (gfn >= 100 && gfn < 164) || gfn >= 1000;
        const PageState was = page_word::state(before[gfn]);
        const bool maps = named && (was == PageState::untouched || was == PageState::unmapped);
        became_private += maps;
        INFO("gfn " << gfn);
        CHECK(vm.word_of(gfn) == (maps ? page_word::with_state(before[gfn], PageState::private_page) : before[gfn]));
    }
    CHECK(became_private == 11 + 10 + 4 + 4);
    auto expected = counts_before;
    expected[std::size_t(PageState::untouched)] -= 11 + 4;
    expected[std::size_t(PageState::unmapped)] -= 10 + 4;
    expected[std::size_t(PageState::private_page)] += became_private;
    CHECK(counts() == expected);
    CHECK(vm.counters.accessed == 64 + 24);
}

TEST_CASE("sharing within one VM", "[aggregator][ksm]")
{
    Aggregator agg;
    add_vms(agg, {1});
    apply(agg, {merge(1, 1, 1, 0x1000, true), merge(1, 2, 2, 0x1000), merge(1, 3, 3, 0x1000),
                merge(1, 4, 4, 0x2000, true)});
    const AggregateReport report = make_report(agg);
    const VmReport r = vm_report(report, 1);
    CHECK(r.pages.ksm_shared == 4);
    CHECK(r.pages.ksm_within == 3);
    CHECK(r.pages.ksm_alone == 1);
    CHECK(r.pages.ksm_across == 0);
    CHECK(r.ksm_frames == 2);
    CHECK(r.sharing_ratio == 2.0);
    // 0x1000: 3 mappers save 2 pages; 0x2000: 1 mapper saves none.
    CHECK(r.saved_bytes == 2 * 4096);
    CHECK(r.shared_with.empty());
    CHECK(report.ksm_pages == 2);
    CHECK(report.ksm_mappers == 4);
    CHECK(report.saved_bytes == 2 * 4096);
    CHECK(report.sharing_ratio == 2.0);
}

TEST_CASE("the cross-VM sharing matrix of three VMs, and a VM leaving it", "[aggregator][ksm]")
{
    Aggregator agg;
    add_vms(agg, {1, 2, 3});
    // KSM page A: VM 1 x2, VM 2 x1, VM 3 x1. B: VM 1, VM 2. C: VM 3 x2.
    const std::uint64_t A = 0xa000, B = 0xb000, C = 0xc000;
    apply(agg, {merge(1, 1, 10, A, true), merge(1, 2, 11, A), merge(2, 3, 10, A), merge(3, 4, 10, A),
                merge(1, 5, 20, B, true), merge(2, 6, 20, B), merge(3, 7, 30, C, true),
                merge(3, 8, 31, C)});
    AggregateReport report = make_report(agg);
    const VmReport v1 = vm_report(report, 1);
    const VmReport v2 = vm_report(report, 2);
    const VmReport v3 = vm_report(report, 3);
    CHECK(v1.shared_with == std::vector<SharedWith>{{2, 3}, {3, 2}});
    CHECK(v2.shared_with == std::vector<SharedWith>{{1, 2}, {3, 1}});
    CHECK(v3.shared_with == std::vector<SharedWith>{{1, 1}, {2, 1}});
    CHECK(v1.pages.ksm_across == 3);
    CHECK(v2.pages.ksm_across == 2);
    CHECK(v3.pages.ksm_across == 1);
    CHECK(v3.pages.ksm_within == 2);
    // A (n = 4) saves 3 pages, B (n = 2) 1, C (n = 2) 1: 5 pages in all,
    // each VM getting the share of its mappers.
    CHECK(v1.saved_bytes == 4096 * 2 * 3 / 4 + 4096 * 1 / 2);  // 8192
    CHECK(v2.saved_bytes == 4096 * 3 / 4 + 4096 * 1 / 2);      // 5120
    CHECK(v3.saved_bytes == 4096 * 3 / 4 + 4096 * 2 / 2);      // 7168
    CHECK(report.saved_bytes == 5 * 4096);
    CHECK(v1.saved_bytes + v2.saved_bytes + v3.saved_bytes == report.saved_bytes);
    CHECK(report.ksm_pages == 3);
    CHECK(report.ksm_mappers == 8);

    agg.apply(vm_destroy(2, 9));
    report = make_report(agg);
    REQUIRE(report.vms.size() == 2);
    CHECK(agg.vm(2) == nullptr);
    CHECK(vm_report(report, 1).shared_with == std::vector<SharedWith>{{3, 2}});
    CHECK(vm_report(report, 3).shared_with == std::vector<SharedWith>{{1, 1}});
    CHECK(vm_report(report, 1).pages.ksm_alone == 1);  // B: VM 1's page only
    // A now has 3 mappers: VM 1 gets floor(4096 * 2 * 2 / 3).
    CHECK(vm_report(report, 1).saved_bytes == 5461);
    CHECK(report.ksm_mappers == 6);
    CHECK(agg.ksm_pages().find(A)->list() == std::vector<KsmSharer>{{1, 2}, {3, 1}});

    // Events of the destroyed VM after its end change nothing; its id can be reused.
    agg.apply(merge(2, 10, 12, A));
    CHECK(agg.vm(2) == nullptr);
    CHECK(agg.ksm_pages().find(A)->mappers() == 3);
    agg.apply(vm_create(2, 11, 77));
    REQUIRE(agg.vm(2) != nullptr);
    CHECK(agg.vm(2)->pid() == 77);
    CHECK(agg.vm(2)->pages() == 0);
}

TEST_CASE("zero-page merges are counted apart from KSM pages and save nothing here", "[aggregator][ksm]")
{
    Aggregator agg;
    add_vms(agg, {1, 2});
    const std::uint64_t zero = 0x1234;
    apply(agg, {zero_merge(1, 1 * kMs, 5, zero), zero_merge(1, 2 * kMs, 6, zero),
                zero_merge(2, 3 * kMs, 5, zero), zero_merge(1, 4 * kMs, 5, zero)});
    AggregateReport report = make_report(agg);
    CHECK(vm_report(report, 1).pages.ksm_zero == 2);
    CHECK(vm_report(report, 2).pages.ksm_zero == 1);
    CHECK(vm_report(report, 1).pages.ksm_shared == 0);
    CHECK(vm_report(report, 1).shared_with.empty());
    CHECK(vm_report(report, 1).saved_bytes == 0);
    CHECK(vm_report(report, 1).counters.zero_merges == 2);
    CHECK(vm_report(report, 1).counters.stale == 1);  // the second merge of gfn 5
    CHECK(report.ksm_pages == 0);

    agg.apply(cow_break(1, 7 * kMs, 5, zero));
    const VmReport r = vm_report(make_report(agg), 1);
    CHECK(state(agg, 1, 5) == PageState::cow_broken);
    CHECK(r.pages.ksm_zero == 1);
    CHECK(r.cow_breaks == 1);
    CHECK(r.counters.shared_ns_total == 6 * kMs);  // merged at 1 ms, broken at 7 ms
}

TEST_CASE("a COW break keeps how long the page stayed shared; quick ones are volatile",
          "[aggregator][ksm]")
{
    AggregatorOptions options;
    options.volatile_window_ns = 10 * kMs;
    Aggregator agg(options);
    add_vms(agg, {1});
    apply(agg, {merge(1, 1 * kMs, 1, 0x900, true), merge(1, 1 * kMs, 2, 0x900),
                merge(1, 1 * kMs, 3, 0x900), cow_break(1, 4 * kMs, 1, 0x900),
                cow_break(1, 2001 * kMs, 2, 0x900)});
    // 3 ms = 3000 us: bit_width 12, bucket 13. 2 s = 2e6 us: bit_width 21, bucket 22.
    const auto word = [&](std::uint64_t gfn) { return agg.vm(1)->word_of(gfn); };
    CHECK(page_word::bucket(word(1)) == 13);
    CHECK(page_word::bucket(word(2)) == 22);
    CHECK(page_word::is_volatile(word(1)));
    CHECK_FALSE(page_word::is_volatile(word(2)));
    const VmReport r = vm_report(make_report(agg), 1);
    CHECK(r.cow_breaks == 2);
    CHECK(r.counters.timed_cow_breaks == 2);
    CHECK(r.counters.shared_ns_total == 3 * kMs + 2000 * kMs);
    CHECK(r.counters.shared_duration_buckets[13] == 1);
    CHECK(r.counters.shared_duration_buckets[22] == 1);
    CHECK(r.counters.volatile_breaks == 1);
    CHECK(r.volatile_pages == 1);
    CHECK(r.pages.cow_broken == 2);
    CHECK(r.pages.ksm_shared == 1);

    // Merged and broken quickly again: still one volatile page, two volatile breaks.
    apply(agg, {merge(1, 3000 * kMs, 1, 0x900), cow_break(1, 3001 * kMs, 1, 0x900)});
    const VmReport again = vm_report(make_report(agg), 1);
    CHECK(again.volatile_pages == 1);
    CHECK(again.counters.volatile_breaks == 2);
    CHECK(page_word::bucket(word(1)) == 1 + 10);  // 1 ms = 1000 us: bit_width 10
}

TEST_CASE("an unmerge leaves sharing as a COW break does, but is no COW break", "[aggregator][ksm]")
{
    Aggregator agg;
    add_vms(agg, {1});
    apply(agg, {merge(1, 1, 1, 0x900, true), merge(1, 1, 2, 0x900), merge(1, 1, 3, 0x900),
                cow_break(1, 2, 1, 0x900), unmerge(1, 2, 2, 0x900)});
    const VmReport r = vm_report(make_report(agg), 1);
    CHECK(state(agg, 1, 1) == PageState::cow_broken);
    CHECK(state(agg, 1, 2) == PageState::private_page);
    CHECK(r.cow_breaks == 1);
    CHECK(r.counters.unmerges == 1);
    CHECK(r.counters.timed_cow_breaks == 1);
    CHECK(r.pages.private_pages == 2);
    CHECK(r.pages.cow_broken == 1);
    CHECK(agg.ksm_pages().find(0x900)->mappers() == 1);
}

TEST_CASE("duplicate and stale leaves change nothing", "[aggregator][ksm]")
{
    Aggregator agg;
    add_vms(agg, {1});
    apply(agg, {fault(1, 1, 1, 0x500), merge(1, 10, 1, 0x900, true), merge(1, 11, 2, 0x900),
                cow_break(1, 20, 1, 0x900)});
    const VmReport before = vm_report(make_report(agg), 1);
    apply(agg, {cow_break(1, 21, 1, 0x900), cow_break(1, 22, 1, 0x900), unmerge(1, 23, 1, 0x900),
                migrate(1, 24, 1, 0x999)});
    const VmReport after = vm_report(make_report(agg), 1);
    CHECK(state(agg, 1, 1) == PageState::cow_broken);
    CHECK(after.pages == before.pages);
    CHECK(after.cow_breaks == 1);
    CHECK(after.counters.unmerges == 0);
    CHECK(after.counters.stale == 4);
    CHECK(agg.ksm_pages().find(0x900)->mappers() == 1);

    // A leave of a page the gfn left before does not undo its newer merge,
    // and a merge seen twice counts once.
    apply(agg, {merge(1, 30, 1, 0x901, true), merge(1, 31, 1, 0x901), cow_break(1, 32, 1, 0x900)});
    CHECK(state(agg, 1, 1) == PageState::ksm);
    CHECK(agg.ksm_pages().find(0x901)->mappers() == 1);
    CHECK(vm_report(make_report(agg), 1).counters.stale == 6);
    CHECK(vm_report(make_report(agg), 1).exact);
}

TEST_CASE("leaves for pages never seen: a COW break says a merge was missed", "[aggregator][ksm]")
{
    Aggregator agg;
    add_vms(agg, {1});
    apply(agg, {cow_break(1, 1, 5, 0x900), unmerge(1, 2, 6, 0x900), fault(1, 3, 7, 0x123), unmap(1, 4, 7)});
    const VmReport r = vm_report(make_report(agg), 1);
    CHECK(state(agg, 1, 5) == PageState::cow_broken);
    CHECK(state(agg, 1, 6) == PageState::private_page);
    CHECK(state(agg, 1, 7) == PageState::unmapped);
    CHECK(r.cow_breaks == 1);
    CHECK(r.counters.timed_cow_breaks == 0);  // no merge time to measure from
    CHECK(r.counters.unmerges == 1);
    CHECK(r.pages.touched == 3);
    CHECK(agg.ksm_pages().size() == 0);
}

TEST_CASE("a migration moves the gfn to the new KSM page, merge time kept", "[aggregator][ksm]")
{
    Aggregator agg;
    add_vms(agg, {1, 2});
    const std::uint64_t A = 0xa000, B = 0xb000;
    apply(agg, {merge(1, 1 * kMs, 1, A, true), merge(1, 1 * kMs, 2, A), merge(2, 1 * kMs, 3, A),
                migrate(1, 2 * kMs, 1, B)});
    CHECK(agg.ksm_pages().find(A)->list() == std::vector<KsmSharer>{{1, 1}, {2, 1}});
    CHECK(agg.ksm_pages().find(B)->list() == std::vector<KsmSharer>{{1, 1}});
    apply(agg, {migrate(1, 2 * kMs, 2, B), migrate(2, 2 * kMs, 3, B), migrate(2, 2 * kMs, 3, B)});
    CHECK(agg.ksm_pages().find(A) == nullptr);
    CHECK(agg.ksm_pages().find(B)->list() == std::vector<KsmSharer>{{1, 2}, {2, 1}});
    CHECK(vm_report(make_report(agg), 1).shared_with == std::vector<SharedWith>{{2, 2}});

    agg.apply(cow_break(1, 5 * kMs, 1, A));  // the page it left: stale
    CHECK(state(agg, 1, 1) == PageState::ksm);
    agg.apply(cow_break(1, 5 * kMs, 1, B));
    CHECK(state(agg, 1, 1) == PageState::cow_broken);
    const VmReport r = vm_report(make_report(agg), 1);
    CHECK(r.counters.shared_ns_total == 4 * kMs);
    CHECK(r.counters.migrates == 2);
    CHECK(vm_report(make_report(agg), 2).counters.stale == 1);
}

TEST_CASE("the KSM pages follow every kind of change to sharing", "[aggregator][ksm]")
{
    // ksm_pages() is built from the VMs' shared pages: each change must show.
    Aggregator agg;
    add_vms(agg, {1, 2, 3});
    const std::uint64_t A = 0xa000, B = 0xb000;
    const auto sharers = [&](std::uint64_t pfn) {
        const KsmPages pages = agg.ksm_pages();  // a value: keep it while s points in
        const KsmSharers* s = pages.find(pfn);
        return s ? s->list() : std::vector<KsmSharer>{};
    };
    apply(agg, {merge(1, 1, 1, A, true), merge(2, 1, 1, A), merge(2, 1, 2, A)});
    CHECK(sharers(A) == std::vector<KsmSharer>{{1, 1}, {2, 2}});
    agg.apply(cow_break(2, 2, 2, A));
    CHECK(sharers(A) == std::vector<KsmSharer>{{1, 1}, {2, 1}});
    agg.apply(unmerge(2, 3, 1, A));
    CHECK(sharers(A) == std::vector<KsmSharer>{{1, 1}});
    agg.apply(migrate(1, 4, 1, B));
    CHECK(sharers(A).empty());
    CHECK(sharers(B) == std::vector<KsmSharer>{{1, 1}});
    agg.apply(fault(1, 5, 1, 0x777));  // a 4K mapping of another frame: it left B
    CHECK(agg.ksm_pages().size() == 0);
    apply(agg, {merge(1, 6, 3, A), merge(3, 6, 3, A), merge(3, 6, 4, A)});
    CHECK(sharers(A) == std::vector<KsmSharer>{{1, 1}, {3, 2}});
    agg.apply(unmap(3, 7, 4));
    CHECK(sharers(A) == std::vector<KsmSharer>{{1, 1}, {3, 1}});
    agg.apply(ksm_free(3, 8, 3, A));  // a missed leave
    CHECK(sharers(A) == std::vector<KsmSharer>{{1, 1}});
    agg.apply(merge(3, 9, 5, A));
    CHECK(sharers(A) == std::vector<KsmSharer>{{1, 1}, {3, 1}});
    agg.apply(memslot(3, 10, SELF_E_MEMSLOT_DELETE, 0, 0, 1024));
    CHECK(sharers(A) == std::vector<KsmSharer>{{1, 1}});
    agg.apply(merge(2, 11, 6, A));
    CHECK(sharers(A) == std::vector<KsmSharer>{{1, 1}, {2, 1}});
    agg.apply(vm_destroy(1, 12));
    CHECK(sharers(A) == std::vector<KsmSharer>{{2, 1}});
    agg.seed_vm(2, 1002, std::vector<GuestMemslot>{{1, 0, 1024, 0x7f0000000000}});
    CHECK(agg.ksm_pages().size() == 0);
}

TEST_CASE("an unmap takes a shared page off its KSM page", "[aggregator][ksm]")
{
    Aggregator agg;
    add_vms(agg, {1, 2});
    apply(agg, {merge(1, 1, 1, 0xa000, true), merge(2, 2, 1, 0xa000), unmap(1, 3, 1)});
    CHECK(state(agg, 1, 1) == PageState::unmapped);
    const AggregateReport report = make_report(agg);
    CHECK(vm_report(report, 1).pages.touched == 1);
    CHECK(vm_report(report, 1).pages.ksm_shared == 0);
    CHECK(vm_report(report, 2).shared_with.empty());
    CHECK(vm_report(report, 2).pages.ksm_alone == 1);
    agg.apply(fault(1, 4, 1, 0x777));
    CHECK(state(agg, 1, 1) == PageState::private_page);
}

TEST_CASE("an unmap of a range: pages with a host page go, untouched ones stay", "[aggregator]")
{
    Aggregator agg;
    add_vms(agg, {1});
    apply(agg, {fault(1, 1, 10, 0x100), merge(1, 2, 11, 0xa000, true), fault(1, 3, 13, 0x103),
                unmap(1, 4, 9, 6)});
    CHECK(state(agg, 1, 9) == PageState::untouched);
    CHECK(state(agg, 1, 10) == PageState::unmapped);
    CHECK(state(agg, 1, 11) == PageState::unmapped);
    CHECK(state(agg, 1, 12) == PageState::untouched);
    CHECK(state(agg, 1, 13) == PageState::unmapped);
    CHECK(state(agg, 1, 14) == PageState::untouched);
    CHECK(agg.ksm_pages().size() == 0);
    const VmReport r = vm_report(make_report(agg), 1);
    CHECK(r.counters.unmaps == 3);
    CHECK(r.pages.unmapped == 3);
    CHECK(r.pages.touched == 3);
}

TEST_CASE("a KSM page freed after its mappers left: KSM's stale notices change nothing",
          "[aggregator][ksm]")
{
    Aggregator agg;
    add_vms(agg, {1, 2});
    apply(agg, {merge(1, 1, 1, 0xa000, true), merge(2, 1, 9, 0xa000), cow_break(1, 2, 1, 0xa000),
                unmap(2, 2, 9), ksm_free(1, 3, 1, 0xa000), ksm_free(2, 3, 9, 0xa000)});
    CHECK(state(agg, 1, 1) == PageState::cow_broken);
    CHECK(state(agg, 2, 9) == PageState::unmapped);
    CHECK(agg.ksm_pages().size() == 0);
    CHECK(agg.vm(1)->exact);
    CHECK(agg.vm(2)->exact);
    CHECK(agg.ksm_frees() == 2);
    for (std::uint16_t vm : {1, 2}) {
        CHECK(agg.vm(vm)->counters.ksm_frees == 1);
        CHECK(agg.vm(vm)->counters.free_leaves == 0);
        CHECK(agg.vm(vm)->counters.stale == 0);
    }
}

TEST_CASE("a ksm_free for a gfn still on the page: a missed leave, the gfn private, its VM inexact",
          "[aggregator][ksm]")
{
    Aggregator agg;
    add_vms(agg, {1, 2});
    apply(agg, {merge(1, 1, 1, 0xa000, true), merge(1, 1, 2, 0xa000), merge(2, 1, 9, 0xa000),
                cow_break(2, 2, 9, 0xa000), ksm_free(1, 3, 1, 0xa000)});
    CHECK(state(agg, 1, 1) == PageState::private_page);
    CHECK(state(agg, 1, 2) == PageState::ksm);  // its own notice has not come yet
    REQUIRE(agg.ksm_pages().find(0xa000));
    CHECK(agg.ksm_pages().find(0xa000)->mappers() == 1);
    CHECK_FALSE(agg.vm(1)->exact);
    apply(agg, {ksm_free(1, 3, 2, 0xa000), ksm_free(2, 3, 9, 0xa000)});
    CHECK(state(agg, 1, 2) == PageState::private_page);
    CHECK(state(agg, 2, 9) == PageState::cow_broken);
    CHECK(agg.ksm_pages().size() == 0);  // the record went with its last mapper
    CHECK(agg.vm(1)->shared_pages() == 0);
    CHECK(agg.vm(1)->counters.free_leaves == 2);
    CHECK(agg.vm(2)->counters.free_leaves == 0);
    CHECK(agg.vm(2)->exact);
    const VmReport r = vm_report(make_report(agg), 1);
    CHECK(r.pages.ksm_shared == 0);
    CHECK(r.pages.private_pages == 2);
}

TEST_CASE("a ksm_free of a frame that is a new KSM page already leaves that page's mappers alone",
          "[aggregator][ksm]")
{
    // KSM page 0xa000 is freed after both its mappers broke away; the frame
    // becomes a new KSM page of gfns 5 and 6 before KSM drops the old one.
    Aggregator agg;
    add_vms(agg, {1, 2});
    apply(agg, {merge(1, 1, 1, 0xa000, true), merge(2, 1, 9, 0xa000), cow_break(1, 2, 1, 0xa000),
                cow_break(2, 2, 9, 0xa000), merge(1, 3, 5, 0xa000, true), merge(2, 3, 6, 0xa000),
                ksm_free(1, 4, 1, 0xa000), ksm_free(2, 4, 9, 0xa000)});
    CHECK(state(agg, 1, 5) == PageState::ksm);
    CHECK(state(agg, 2, 6) == PageState::ksm);
    REQUIRE(agg.ksm_pages().find(0xa000));
    CHECK(agg.ksm_pages().find(0xa000)->mappers() == 2);
    CHECK(agg.vm(1)->exact);
    CHECK(agg.vm(2)->exact);
    // A gfn that left for another KSM page is not touched either.
    apply(agg, {cow_break(1, 5, 5, 0xa000), merge(1, 6, 5, 0xb000, true), ksm_free(1, 7, 5, 0xa000)});
    CHECK(state(agg, 1, 5) == PageState::ksm);
    CHECK(agg.vm(1)->shared_page(5)->pfn == 0xb000);
    CHECK(agg.vm(1)->exact);
}

TEST_CASE("ksm_free: SMM gfns are skipped, gfns outside the slots counted", "[aggregator][ksm]")
{
    Aggregator agg;
    add_vms(agg, {1}, 16);
    apply(agg, {merge(1, 1, 3, 0xa000, true), ksm_free(1, 2, 3, 0xa000, SELF_E_F_SMM),
                ksm_free(1, 2, 99, 0xa000)});
    CHECK(state(agg, 1, 3) == PageState::ksm);
    CHECK(agg.vm(1)->exact);
    CHECK(agg.vm(1)->counters.outside_slots == 1);
    CHECK(agg.vm(1)->counters.ksm_frees == 2);
}

TEST_CASE("events of several lanes are applied in timestamp order", "[aggregator][order]")
{
    // The vCPU's lane has the COW break, ksmd's lane the merge before it; the
    // consumer drains the vCPU's lane first.
    const std::initializer_list<Event> drained = {
        fault(1, 100, 1, 0x500), cow_break(1, 300, 1, 0x900),  // lane 0
        merge(1, 200, 1, 0x900, true), merge(1, 250, 2, 0x900)  // lane 1
    };
    Aggregator in_arrival_order;
    add_vms(in_arrival_order, {1});
    apply(in_arrival_order, drained);
    // Applied as drained the break comes first and is lost: the page looks shared.
    CHECK(state(in_arrival_order, 1, 1) == PageState::ksm);

    Aggregator agg;
    add_vms(agg, {1});
    for (const Event& ev : drained)
        agg.push(ev);
    CHECK(agg.pending() == 4);
    agg.flush();
    CHECK(agg.pending() == 0);
    CHECK(state(agg, 1, 1) == PageState::cow_broken);
    const VmReport r = vm_report(make_report(agg), 1);
    CHECK(r.counters.shared_ns_total == 100);
    CHECK(r.pages.ksm_alone == 1);
    CHECK(r.exact);
}

TEST_CASE("release() applies what is older than the reorder window; later ones wait",
          "[aggregator][order]")
{
    AggregatorOptions options;
    options.reorder_window_ns = 10 * kMs;
    Aggregator agg(options);
    add_vms(agg, {1});
    agg.push(fault(1, 1 * kMs, 1, 0x500));
    agg.push(fault(1, 8 * kMs, 6, 0x505));
    agg.push(fault(1, 20 * kMs, 2, 0x501));
    agg.push(fault(1, 12 * kMs, 3, 0x502));  // another lane
    agg.release();                            // newest 20 ms: up to 10 ms goes
    CHECK(agg.pending() == 2);
    CHECK(state(agg, 1, 1) == PageState::private_page);
    CHECK(state(agg, 1, 6) == PageState::private_page);
    CHECK(state(agg, 1, 2) == PageState::untouched);
    CHECK(agg.vm(1)->exact);

    agg.push(fault(1, 25 * kMs, 4, 0x503));
    agg.push(fault(1, 5 * kMs, 5, 0x504));  // older than 8 ms, applied already: late
    CHECK(agg.late_events() == 1);
    CHECK_FALSE(agg.vm(1)->exact);
    CHECK(agg.vm(1)->counters.late_events == 1);
    agg.release();  // newest 25 ms: up to 15 ms (5 ms and 12 ms) goes
    CHECK(agg.pending() == 2);
    CHECK(state(agg, 1, 5) == PageState::private_page);
    CHECK(state(agg, 1, 3) == PageState::private_page);
    CHECK(state(agg, 1, 2) == PageState::untouched);
}

TEST_CASE("push_runs() takes a drain's lanes as they lie; a late event makes its VM inexact",
          "[aggregator][order]")
{
    AggregatorOptions options;
    options.reorder_window_ns = 10 * kMs;
    Aggregator agg(options);
    add_vms(agg, {1, 2});
    // The vCPU's lane has the COW break, ksmd's lane the merge before it.
    const std::vector<Event> vcpu_lane{fault(1, 1 * kMs, 1, 0x500), cow_break(1, 3 * kMs, 1, 0x900)};
    const std::vector<Event> ksmd_lane{merge(1, 2 * kMs, 1, 0x900, true), merge(1, 2 * kMs + 500, 2, 0x900)};
    const std::vector<Event> later{fault(2, 30 * kMs, 7, 0x600)};
    agg.push_runs(std::vector<std::span<const Event>>{vcpu_lane, ksmd_lane, later});
    CHECK(agg.pending() == 5);
    agg.release();  // newest 30 ms: up to 20 ms goes
    CHECK(agg.pending() == 1);
    CHECK(state(agg, 1, 1) == PageState::cow_broken);
    CHECK(state(agg, 1, 2) == PageState::ksm);
    CHECK(state(agg, 2, 7) == PageState::untouched);
    CHECK(agg.vm(1)->exact);

    const std::vector<Event> late{fault(2, 2 * kMs, 8, 0x601)};  // older than 3 ms, applied already
    agg.push_runs(std::vector<std::span<const Event>>{late});
    CHECK(agg.late_events() == 1);
    CHECK(agg.vm(1)->exact);
    CHECK_FALSE(agg.vm(2)->exact);
    CHECK(agg.vm(2)->counters.late_events == 1);
    agg.flush();
    CHECK(state(agg, 2, 7) == PageState::private_page);
    CHECK(state(agg, 2, 8) == PageState::private_page);
}

TEST_CASE("push() applies what is old enough after a batch, without release()",
          "[aggregator][order]")
{
    // A consumer that never calls release() still has its events applied,
    // and held ones bounded, one batch at a time.
    AggregatorOptions options;
    options.reorder_window_ns = 10 * kMs;
    Aggregator agg(options);
    const std::size_t n = ReorderBuffer::kBatch;
    add_vms(agg, {1}, n);
    for (std::size_t i = 0; i < n; ++i)
        agg.push(fault(1, (i + 1) * kMs / 100, i, 0x1000 + i));  // 10 µs apart
    // Newest at n * 10 µs: the events up to 10 ms before it, all but the
    // last 1000, are applied.
    CHECK(agg.pending() == 1000);
    CHECK(state(agg, 1, 0) == PageState::private_page);
    CHECK(state(agg, 1, n - 1001) == PageState::private_page);
    CHECK(state(agg, 1, n - 1000) == PageState::untouched);
    CHECK(state(agg, 1, n - 1) == PageState::untouched);
}

TEST_CASE("LOST makes the VM inexact until it is seeded again", "[aggregator][exact]")
{
    Aggregator agg;
    add_vms(agg, {1, 2, 3});
    agg.apply(lost(1, 5, 17));
    AggregateReport report = make_report(agg);
    CHECK_FALSE(vm_report(report, 1).exact);
    CHECK(vm_report(report, 1).counters.lost_events == 17);
    CHECK(vm_report(report, 2).exact);

    agg.apply(lost(0, 6, 3));  // a ring of every VM: each may have lost events
    report = make_report(agg);
    CHECK_FALSE(vm_report(report, 2).exact);
    CHECK_FALSE(vm_report(report, 3).exact);
    CHECK(vm_report(report, 1).counters.lost_events == 20);

    const GuestMemslot slot{0, 0, 1024, 0x7f0000000000};
    agg.seed_vm(1, 1001, std::span(&slot, 1));
    report = make_report(agg);
    CHECK(vm_report(report, 1).exact);
    CHECK(vm_report(report, 1).counters.lost_events == 20);  // counters are kept
    CHECK_FALSE(vm_report(report, 2).exact);
}

TEST_CASE("memslot changes: delete drops pages and their sharing, move keeps states",
          "[aggregator][memslot]")
{
    Aggregator agg;
    apply(agg, {vm_create(1, 1, 10), memslot(1, 1, SELF_E_MEMSLOT_CREATE, 0, 0, 16),
                memslot(1, 1, SELF_E_MEMSLOT_CREATE, 1, 0x100, 16), vm_create(2, 1, 20),
                memslot(2, 1, SELF_E_MEMSLOT_CREATE, 0, 0, 16)});
    apply(agg, {merge(1, 2, 0x101, 0xa000, true), merge(2, 2, 1, 0xa000), fault(1, 2, 0x102, 0x5),
                merge(1, 2, 3, 0xb000, true)});
    agg.apply(memslot(1, 3, SELF_E_MEMSLOT_MOVE, 1, 0x200, 16));
    CHECK(state(agg, 1, 0x201) == PageState::ksm);
    CHECK(state(agg, 1, 0x202) == PageState::private_page);
    agg.apply(cow_break(1, 4, 0x201, 0xa000));  // found under its new gfn
    CHECK(state(agg, 1, 0x201) == PageState::cow_broken);
    agg.apply(merge(1, 5, 0x201, 0xa000));

    agg.apply(memslot(1, 6, SELF_E_MEMSLOT_DELETE, 1, 0x200, 16));
    const AggregateReport report = make_report(agg);
    CHECK(vm_report(report, 1).pages.total == 16);
    CHECK(vm_report(report, 1).pages.touched == 1);
    CHECK(agg.ksm_pages().find(0xa000)->list() == std::vector<KsmSharer>{{2, 1}});
    CHECK(vm_report(report, 1).exact);

    // A change that does not fit (no such slot, overlap) is refused and counted.
    apply(agg, {memslot(1, 7, SELF_E_MEMSLOT_DELETE, 5, 0, 1),
                memslot(1, 7, SELF_E_MEMSLOT_CREATE, 2, 8, 16)});
    CHECK(agg.vm(1)->counters.rejected == 2);
    CHECK_FALSE(agg.vm(1)->exact);
}

TEST_CASE("seeding from a snapshot, then events", "[aggregator][seed]")
{
    Aggregator agg;
    const std::uint64_t hva0 = 0x7f0000000000, hva1 = 0x7f0000100000;
    const std::vector<GuestMemslot> slots{{0, 0, 4, hva0}, {1, 0x100, 2, hva1}};
    agg.seed_vm(1, 4242, slots);
    agg.seed_vm(2, 4343, std::vector<GuestMemslot>{{0, 0, 4, 0x7e0000000000}});

    auto page = [](PageClass c, std::uint64_t pfn = 0) { return PageInfo{c, false, false, false, pfn}; };
    // The first slot and one page past it, which no slot holds.
    const std::vector<PageInfo> first{page(PageClass::not_present), page(PageClass::private_page, 0x50),
                                      page(PageClass::ksm, 0x900), page(PageClass::zero, 0x10),
                                      page(PageClass::private_page, 0x51)};
    agg.seed_pages(1, hva0, first);
    // The second slot from one page before it.
    const std::vector<PageInfo> second{page(PageClass::private_page, 0x52), page(PageClass::swapped),
                                       page(PageClass::shared, 0x60)};
    agg.seed_pages(1, hva1 - 4096, second);
    agg.seed_pages(2, 0x7e0000000000 + 4096, std::vector<PageInfo>{page(PageClass::ksm, 0x900)});

    AggregateReport report = make_report(agg);
    const VmReport r = vm_report(report, 1);
    CHECK(r.pid == 4242);
    CHECK(r.pages == VmPageReport{.total = 6,
                                  .touched = 5,
                                  .ksm_shared = 1,
                                  .ksm_across = 1,
                                  .ksm_within = 0,
                                  .ksm_alone = 0,
                                  .ksm_zero = 1,
                                  .private_pages = 2,
                                  .cow_broken = 0,
                                  .unmapped = 1,
                                  .untouched = 1});
    CHECK(state(agg, 1, 0x100) == PageState::unmapped);
    CHECK(state(agg, 1, 0x101) == PageState::private_page);
    CHECK(r.shared_with == std::vector<SharedWith>{{2, 1}});
    CHECK(state(agg, 2, 1) == PageState::ksm);

    apply(agg, {cow_break(1, 10, 2, 0x900), fault(1, 11, 0, 0x53), merge(1, 12, 1, 0x900)});
    report = make_report(agg);
    const VmReport after = vm_report(report, 1);
    CHECK(state(agg, 1, 2) == PageState::cow_broken);
    CHECK(after.cow_breaks == 1);
    CHECK(after.counters.timed_cow_breaks == 0);  // shared since before the seed
    CHECK(after.pages.touched == 6);
    CHECK(after.shared_with == std::vector<SharedWith>{{2, 1}});
    CHECK(agg.ksm_pages().find(0x900)->list() == std::vector<KsmSharer>{{1, 1}, {2, 1}});

    // Reseeding starts the table again and leaves the old KSM pages.
    agg.seed_vm(1, 4242, slots);
    CHECK(agg.ksm_pages().find(0x900)->list() == std::vector<KsmSharer>{{2, 1}});
    CHECK(vm_report(make_report(agg), 1).pages.touched == 0);
    CHECK(vm_report(make_report(agg), 1).cow_breaks == 1);
}

TEST_CASE("seeding refuses what cannot be a VM's memory", "[aggregator][seed]")
{
    Aggregator agg;
    const std::vector<GuestMemslot> overlapping{{0, 0, 16, 0x1000}, {1, 8, 16, 0x100000}};
    CHECK_THROWS_WITH(agg.seed_vm(3, 1, overlapping),
                      "vm 3: memslot 1 (gfn 0x8, 16 pages) overlaps memslot 0 (gfn 0x0, 16 pages)");
    CHECK(agg.vm(3) == nullptr);
    CHECK_THROWS_WITH(agg.seed_pages(3, 0x1000, std::vector<PageInfo>(1)),
                      "seed: vm 3 has no table: seed_vm() comes first");
}

TEST_CASE("guest_ram_slots keeps address space 0", "[aggregator][seed]")
{
    const std::vector<Memslot> slots{{0, 0xc0000, 0x7f0000000000, 0, 0},
                                            {0x100000, 0x40000, 0x7f00c0000000, 1, 0},
                                            {0, 0x10, 0x7f1000000000, 0 | (1u << 15), 0}};
    CHECK(guest_ram_slots(slots) == std::vector<GuestMemslot>{{0, 0, 0xc0000, 0x7f0000000000},
                                                              {1, 0x100000, 0x40000, 0x7f00c0000000}});
}

TEST_CASE("the table takes 2 bytes per guest page when nothing is shared", "[aggregator][memory]")
{
    Aggregator agg;
    add_vms(agg, {1}, 1 << 18);  // 1 GiB
    for (std::uint64_t g = 0; g < (1 << 18); g += 3)
        agg.apply(fault(1, g, g, g));
    const VmPages& vm = *agg.vm(1);
    CHECK(vm.bytes() >= 2 * vm.pages());
    CHECK(vm.bytes() <= 2 * vm.pages() + 4096);
}

TEST_CASE("a batch applied at once (looking ahead) ends as the same events one by one",
          "[aggregator]")
{
    // Two VMs of two slots each (a hole between them, so that ACCESS
    // records and faults also land outside); every page event on a few
    // pages, so that states and KSM pages change under the look-ahead.
    std::vector<Event> events;
    for (std::uint16_t vm : {1, 2}) {
        events.push_back(vm_create(vm, 1, 1000u + vm));
        events.push_back(memslot(vm, 1, SELF_E_MEMSLOT_CREATE, 0, 0, 200));
        events.push_back(memslot(vm, 1, SELF_E_MEMSLOT_CREATE, 1, 256, 300));
    }
    std::uint64_t seed = 11;
    auto next = [&seed] {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        return seed >> 33;
    };
    for (std::uint64_t ts = 2; ts < 20000; ++ts) {
        const auto vm = static_cast<std::uint16_t>(1 + next() % 2);
        const std::uint64_t gfn = next() % 600;
        const std::uint64_t kpfn = 0x900 + next() % 8;
        switch (next() % 9) {
        case 0: events.push_back(fault(vm, ts, gfn, 0x10000 + gfn)); break;
        case 1: events.push_back(fault(vm, ts, gfn, kpfn)); break;  // a read of a shared frame
        case 2: events.push_back(merge(vm, ts, gfn, kpfn)); break;
        case 3: events.push_back(zero_merge(vm, ts, gfn, 0x800)); break;
        case 4: events.push_back(cow_break(vm, ts, gfn, kpfn)); break;
        case 5: events.push_back(unmerge(vm, ts, gfn, kpfn)); break;
        case 6: events.push_back(migrate(vm, ts, gfn, kpfn)); break;
        case 7: events.push_back(unmap(vm, ts, gfn, 1 + next() % 3)); break;
        case 8: events.push_back(access(vm, ts, gfn, next() * next())); break;
        }
    }
    Aggregator one_by_one, batch;
    for (const Event& ev : events)
        one_by_one.apply(ev);
    batch.apply(events);

    const AggregateReport a = make_report(one_by_one), b = make_report(batch);
    CHECK(a.ksm_pages == b.ksm_pages);
    CHECK(a.ksm_mappers == b.ksm_mappers);
    CHECK(a.saved_bytes == b.saved_bytes);
    for (std::uint16_t vm : {1, 2}) {
        const VmReport ra = vm_report(a, vm), rb = vm_report(b, vm);
        CHECK(ra.pages.touched == rb.pages.touched);
        CHECK(ra.pages.ksm_shared == rb.pages.ksm_shared);
        CHECK(ra.pages.ksm_zero == rb.pages.ksm_zero);
        CHECK(ra.pages.cow_broken == rb.pages.cow_broken);
        CHECK(ra.pages.unmapped == rb.pages.unmapped);
        CHECK(ra.counters.accessed == rb.counters.accessed);
        CHECK(ra.counters.outside_slots == rb.counters.outside_slots);
        CHECK(ra.counters.stale == rb.counters.stale);
        CHECK(ra.counters.fault_leaves == rb.counters.fault_leaves);
        CHECK(ra.counters.shared_ns_total == rb.counters.shared_ns_total);
        CHECK(ra.working_set == rb.working_set);
        for (std::uint64_t gfn = 0; gfn < 600; ++gfn) {
            INFO("vm " << vm << " gfn " << gfn);
            REQUIRE(one_by_one.vm(vm)->word_of(gfn) == batch.vm(vm)->word_of(gfn));
        }
    }
    // Not vacuous: the stream did reach every kind of state.
    CHECK(vm_report(a, 1).pages.ksm_shared > 0);
    CHECK(vm_report(a, 1).pages.ksm_zero > 0);
    CHECK(vm_report(a, 1).pages.cow_broken > 0);
    CHECK(vm_report(a, 1).pages.unmapped > 0);
    CHECK(vm_report(a, 1).counters.outside_slots > 0);
}
