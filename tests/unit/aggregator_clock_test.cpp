// Aggregator::release_by_clock: a live consumer (top, export) gets a quiet
// VM's last events applied once the clock has passed them by the window,
// without a newer event; nothing newer than that is applied early.
#include <catch2/catch.hpp>

#include "aggregator_events.hpp"
#include "self_e/aggregate_report.hpp"
#include "self_e/aggregator.hpp"

using namespace self_e;
using namespace self_e::test;

TEST_CASE("release_by_clock applies what the window holds once the clock passed it", "[aggregator]")
{
    AggregatorOptions options;
    options.reorder_window_ns = 1000;
    Aggregator agg(options);
    for (const Event& ev : {vm_create(1, 10, 77), memslot(1, 20, SELF_E_MEMSLOT_CREATE, 0, 0, 0x10)})
        agg.push(ev);
    agg.push(fault(1, 5000, 0x1, 0x99));
    agg.push(fault(1, 5500, 0x2, 0x9a));
    agg.release();  // newest 5500: releases up to 4500
    REQUIRE(agg.vm(1) != nullptr);
    CHECK(agg.pending() == 2);

    agg.release_by_clock(5800);  // up to 4800: nothing more
    CHECK(agg.pending() == 2);
    agg.release_by_clock(6200);  // up to 5200: the first fault
    CHECK(agg.pending() == 1);
    agg.release_by_clock(900);  // a clock before the window: nothing
    CHECK(agg.pending() == 1);
    agg.release_by_clock(1'000'000);
    CHECK(agg.pending() == 0);
    const AggregateReport report = make_report(agg);
    REQUIRE(report.vms.size() == 1);
    CHECK(report.vms[0].pages.touched == 2);
    CHECK(report.vms[0].exact);
    CHECK(agg.late_events() == 0);
}
