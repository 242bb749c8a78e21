// ReorderBuffer: lanes drained one after the other come out in ts order.
#include <catch2/catch.hpp>

#include <vector>

#include "self_e/reorder_buffer.hpp"

using namespace self_e;

namespace {

Event at(std::uint64_t ts, std::uint16_t lane)
{
    Event ev{};
    ev.type = SELF_E_EV_FAULT;
    ev.ts_ns = ts;
    ev.vcpu = lane;  // to tell equal timestamps apart
    return ev;
}

std::vector<std::pair<std::uint64_t, std::uint16_t>> release_all(ReorderBuffer& buffer)
{
    std::vector<std::pair<std::uint64_t, std::uint16_t>> out;
    buffer.release_all([&](std::span<const Event> events) {
        for (const Event& ev : events)
            out.emplace_back(ev.ts_ns, ev.vcpu);
    });
    return out;
}

}  // namespace

TEST_CASE("runs of several lanes are merged by timestamp, equal ones in arrival order",
          "[reorder]")
{
    ReorderBuffer buffer(1000, 1000);
    for (std::uint64_t ts : {10, 20, 30, 40})
        buffer.push(at(ts, 0));
    for (std::uint64_t ts : {15, 20, 35})
        buffer.push(at(ts, 1));
    for (std::uint64_t ts : {5, 20, 50})
        buffer.push(at(ts, 2));
    CHECK(buffer.pending() == 10);
    using P = std::pair<std::uint64_t, std::uint16_t>;
    CHECK(release_all(buffer) == std::vector<P>{{5, 2}, {10, 0}, {15, 1}, {20, 0}, {20, 1},
                                                {20, 2}, {30, 0}, {35, 1}, {40, 0}, {50, 2}});
    CHECK(buffer.pending() == 0);
    CHECK(buffer.late() == 0);
}

TEST_CASE("only events older than newest - window are released; late ones are counted",
          "[reorder]")
{
    ReorderBuffer buffer(100, 1000);
    for (std::uint64_t ts : {100, 150, 260})
        buffer.push(at(ts, 0));
    buffer.push(at(120, 1));
    std::vector<std::uint64_t> out;
    buffer.release_ready([&](std::span<const Event> events) {
        for (const Event& ev : events)
            out.push_back(ev.ts_ns);
    });
    CHECK(out == std::vector<std::uint64_t>{100, 120, 150});
    CHECK(buffer.pending() == 1);
    CHECK(buffer.released_until() == 150);
    buffer.push(at(140, 2));
    CHECK(buffer.late() == 1);
    out.clear();
    buffer.release_ready([&](std::span<const Event> events) {
        for (const Event& ev : events)
            out.push_back(ev.ts_ns);
    });
    CHECK(out == std::vector<std::uint64_t>{140});
}

TEST_CASE("past max_pending the oldest go out early", "[reorder]")
{
    ReorderBuffer buffer(1'000'000, 2);
    for (std::uint64_t ts : {1, 2, 3, 4, 5})
        buffer.push(at(ts, 0));
    std::vector<std::uint64_t> out;
    buffer.release_ready([&](std::span<const Event> events) {
        for (const Event& ev : events)
            out.push_back(ev.ts_ns);
    });
    CHECK(out == std::vector<std::uint64_t>{1, 2, 3});
    CHECK(buffer.pending() == 2);
}
