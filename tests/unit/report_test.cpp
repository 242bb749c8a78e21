// self-e report's pieces that need no module: how a snapshot page seeds the
// aggregator, which memslots are guest RAM, and the report's JSON keys.
#include <catch2/catch.hpp>

#include "aggregator_events.hpp"
#include "report_output.hpp"
#include "self_e/aggregate_report.hpp"
#include "self_e/snapshot.hpp"
#include "self_e/watcher.hpp"

using namespace self_e;
using namespace self_e::test;

TEST_CASE("a snapshot's shared anonymous pages seed as KSM only where KPF_KSM lies", "[report]")
{
    PageInfo shared;
    shared.page_class = PageClass::shared;
    shared.pfn = 0x42;
    CHECK(seed_view(shared, true).page_class == PageClass::shared);
    const PageInfo seen = seed_view(shared, false);
    CHECK(seen.page_class == PageClass::ksm);
    CHECK(seen.pfn == 0x42);

    PageInfo file = shared;
    file.file = true;
    CHECK(seed_view(file, false).page_class == PageClass::shared);
    for (PageClass c : {PageClass::private_page, PageClass::zero, PageClass::ksm, PageClass::not_present}) {
        PageInfo p;
        p.page_class = c;
        CHECK(seed_view(p, false).page_class == c);
    }
}

TEST_CASE("guest RAM is address space 0: SMM's alias is left out", "[report]")
{
    const std::vector<Memslot> slots = {
        {0, 256, 0x7f0000000000, 0, 0},
        {0, 256, 0x7f0000000000, 1u << 15, 0},  // SMM view of slot 0
        {0x100000, 16, 0x7f1000000000, 3, 0},
    };
    const std::vector<GuestMemslot> ram = guest_ram_slots(std::span<const Memslot>(slots));
    REQUIRE(ram.size() == 2);
    CHECK(ram[0] == GuestMemslot{0, 0, 256, 0x7f0000000000});
    CHECK(ram[1] == GuestMemslot{3, 0x100000, 16, 0x7f1000000000});
}

TEST_CASE("the report's JSON has the keys outside checks rely on", "[report]")
{
    Aggregator agg;
    for (std::uint16_t vm : {1, 2}) {
        agg.apply(vm_create(vm, 1, 100u + vm));
        agg.apply(memslot(vm, 1, SELF_E_MEMSLOT_CREATE, 0, 0, 8));
    }
    agg.apply(merge(1, 2, 0, 0x500, true));
    agg.apply(merge(2, 3, 0, 0x500));
    const nlohmann::ordered_json j = tool::report_to_json(make_report(agg), {1.5, 3});
    CHECK(j.at("duration_s") == 1.5);
    CHECK(j.at("dropped_events") == 3);
    REQUIRE(j.at("vms").size() == 2);
    const auto& vm1 = j.at("vms").at(0);
    CHECK(vm1.at("id") == 1);
    CHECK(vm1.at("pid") == 101);
    CHECK(vm1.at("pages").at("total") == 8);
    CHECK(vm1.at("pages").at("ksm_shared") == 1);
    CHECK(vm1.at("pages").at("ksm_zero") == 0);
    CHECK(vm1.at("pages").at("touched") == 1);
    CHECK(vm1.at("pages").at("private") == 0);
    CHECK(vm1.at("cow_breaks") == 0);
    CHECK(vm1.at("saved_bytes") == 2048);
    CHECK(vm1.at("shared_with") == nlohmann::ordered_json::parse(R"([{"id": 2, "pages": 1}])"));
    CHECK(j.at("total").at("saved_bytes") == 4096);
}

TEST_CASE("a VM's snapshot ranges are its guest-RAM memslots, aliases merged", "[snapshot]")
{
    const std::vector<Memslot> slots = {
        {0x100, 16, 0x7f0000010000, 3, 0},       // 0x7f0000010000-0x7f0000020000
        {0, 16, 0x7f0000000000, 0, 0},           // 0x7f0000000000-0x7f0000010000: adjacent
        {0xc0, 4, 0x7f0000004000, 1, 0},         // an alias inside slot 0's memory
        {0, 16, 0x7f0000000000, 1u << 15, 0},    // SMM: left out
        {0x200, 8, 0x7f1000000000, 4, 0},
        {0x300, 8, 0, 5, 0},                     // no host memory
    };
    const SnapshotTarget t = memslots_target(42, slots);
    CHECK(t.pid == 42);
    CHECK(t.origin == RangeOrigin::memslots);
    REQUIRE(t.ranges.size() == 2);
    CHECK(t.ranges[0].start == 0x7f0000000000);
    CHECK(t.ranges[0].end == 0x7f0000020000);
    CHECK(t.ranges[1].start == 0x7f1000000000);
    CHECK(t.ranges[1].end == 0x7f1000008000);
    CHECK(memslots_target(42, {}).ranges.empty());
}
