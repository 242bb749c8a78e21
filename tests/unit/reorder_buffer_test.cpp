// ReorderBuffer: lanes drained one after the other come out in ts order.
#include <catch2/catch.hpp>

#include <algorithm>
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

TEST_CASE("four and five runs merge in one pass, ties in arrival order", "[reorder]")
{
    using P = std::pair<std::uint64_t, std::uint16_t>;
    ReorderBuffer buffer(1000, 1000);
    for (std::uint64_t ts : {1, 2})  // held before: a run of its own, older
        buffer.push(at(ts, 9));
    for (std::uint16_t lane = 0; lane < 4; ++lane)
        for (std::uint64_t ts : {7, 7 + lane, 20 - lane})
            buffer.push(at(ts, lane));
    CHECK(release_all(buffer) == std::vector<P>{{1, 9}, {2, 9}, {7, 0}, {7, 0}, {7, 1}, {7, 2},
                                                {7, 3}, {8, 1}, {9, 2}, {10, 3}, {17, 3}, {18, 2},
                                                {19, 1}, {20, 0}});
}

TEST_CASE("runs that reach the end of the clock still merge in order", "[reorder]")
{
    // UINT64_MAX is also what stands in for a missing run in a merge of
    // fewer than four: events there still come out, in arrival order.
    using P = std::pair<std::uint64_t, std::uint16_t>;
    constexpr std::uint64_t kMax = UINT64_MAX;
    ReorderBuffer buffer(1000, 1000);
    for (std::uint64_t ts : {std::uint64_t{5}, kMax})
        buffer.push(at(ts, 0));
    for (std::uint64_t ts : {std::uint64_t{3}, kMax})
        buffer.push(at(ts, 1));
    buffer.push(at(4, 2));
    for (std::uint64_t ts : {std::uint64_t{1}, kMax})
        buffer.push(at(ts, 3));
    CHECK(release_all(buffer) ==
          std::vector<P>{{1, 3}, {3, 1}, {4, 2}, {5, 0}, {kMax, 0}, {kMax, 1}, {kMax, 3}});
    // Only the third run gets there, after the first two ran out.
    buffer.push(at(5, 0));
    buffer.push(at(3, 1));
    for (std::uint64_t ts : {std::uint64_t{2}, kMax})
        buffer.push(at(ts, 2));
    buffer.push(at(1, 3));
    CHECK(release_all(buffer) == std::vector<P>{{1, 3}, {2, 2}, {3, 1}, {5, 0}, {kMax, 2}});
}

TEST_CASE("only events older than newest - window are released; late ones are counted",
          "[reorder]")
{
    ReorderBuffer buffer(100, 1000);
    for (std::uint64_t ts : {100, 150, 260})
        CHECK(buffer.push(at(ts, 0)) == 0);
    CHECK(buffer.push(at(120, 1)) == 0);  // older than 260, but nothing went out yet
    std::vector<std::uint64_t> out;
    buffer.release_ready([&](std::span<const Event> events) {
        for (const Event& ev : events)
            out.push_back(ev.ts_ns);
    });
    CHECK(out == std::vector<std::uint64_t>{100, 120, 150});
    CHECK(buffer.pending() == 1);
    CHECK(buffer.released_until() == 150);
    CHECK(buffer.push(at(140, 2)) == ReorderBuffer::kLate);  // older than 150, handed out already
    CHECK(buffer.push(at(150, 2)) == 0);                     // as old as it: not late
    CHECK(buffer.late() == 1);
    out.clear();
    buffer.release_ready([&](std::span<const Event> events) {
        for (const Event& ev : events)
            out.push_back(ev.ts_ns);
    });
    CHECK(out == std::vector<std::uint64_t>{140, 150});
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

TEST_CASE("many runs of random lengths come out as a stable sort of them", "[reorder]")
{
    // Lanes drained in rounds, each lane a sorted run; the vcpu field
    // numbers the events in arrival order, so ties show their order.
    std::uint64_t seed = 5;
    auto next = [&seed] {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        return seed >> 33;
    };
    ReorderBuffer buffer(1000, 1u << 20);
    std::vector<Event> pushed;
    std::vector<std::pair<std::uint64_t, std::uint16_t>> out;
    const auto collect = [&](std::span<const Event> events) {
        for (const Event& ev : events)
            out.emplace_back(ev.ts_ns, ev.vcpu);
    };
    std::uint64_t round_start = 0;
    for (int round = 0; round < 50; ++round) {
        for (int lane = 0; lane < 1 + int(next() % 6); ++lane) {
            std::uint64_t ts = round_start + next() % 300;
            for (std::uint64_t i = next() % 40; i > 0; --i) {
                ts += next() % 4;  // ties within and across lanes
                Event ev = at(ts, static_cast<std::uint16_t>(pushed.size()));
                buffer.push(ev);
                pushed.push_back(ev);
            }
        }
        round_start += 200;
        buffer.release_ready(collect);
    }
    buffer.release_all(collect);
    // Late events go out when they come: compare against the events sorted
    // only when none was late.
    REQUIRE(buffer.late() == 0);
    std::stable_sort(pushed.begin(), pushed.end(),
                     [](const Event& a, const Event& b) { return a.ts_ns < b.ts_ns; });
    std::vector<std::pair<std::uint64_t, std::uint16_t>> expected;
    for (const Event& ev : pushed)
        expected.emplace_back(ev.ts_ns, ev.vcpu);
    CHECK(out == expected);
}

TEST_CASE("events held back merge with older ones that come later, ties to the held", "[reorder]")
{
    using P = std::pair<std::uint64_t, std::uint16_t>;
    ReorderBuffer buffer(100, 1000);
    for (std::uint64_t ts : {10, 200, 250, 300})
        buffer.push(at(ts, 0));
    std::vector<P> out;
    const auto collect = [&](std::span<const Event> events) {
        for (const Event& ev : events)
            out.emplace_back(ev.ts_ns, ev.vcpu);
    };
    buffer.release_ready(collect);  // up to 300 - 100
    CHECK(out == std::vector<P>{{10, 0}, {200, 0}});
    // Newer than what went out, older than what is held: merged in place.
    for (std::uint64_t ts : {220, 250, 260})
        buffer.push(at(ts, 1));
    buffer.push(at(250, 2));
    CHECK(buffer.pending() == 6);
    CHECK(buffer.late() == 0);
    out.clear();
    buffer.release_all(collect);
    CHECK(out == std::vector<P>{{220, 1}, {250, 0}, {250, 1}, {250, 2}, {260, 1}, {300, 0}});
}

TEST_CASE("four long runs, merged from both ends at once, come out as a stable sort", "[reorder]")
{
    // Runs long enough for the two-ended merge to take several turns, with
    // few distinct timestamps (ties within and across runs everywhere),
    // then ever fewer runs as the shortest ones end.
    std::uint64_t seed = 11;
    auto next = [&seed] {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        return seed >> 33;
    };
    for (int trial = 0; trial < 200; ++trial) {
        ReorderBuffer buffer(1000, 1u << 20);
        std::vector<Event> pushed;
        const std::uint64_t range = 4 + static_cast<std::uint64_t>(trial) % 64;
        for (int run = 0; run < 4; ++run) {
            // A run's timestamps from [0, range), sorted, ending at range:
            // the next run starts below it, so each is a run of its own.
            std::vector<std::uint64_t> ts(16 + next() % 300);
            for (std::uint64_t& t : ts)
                t = next() % range;
            std::sort(ts.begin(), ts.end());
            ts.back() = range;
            for (std::uint64_t t : ts) {
                Event ev = at(t, static_cast<std::uint16_t>(pushed.size()));
                buffer.push(ev);
                pushed.push_back(ev);
            }
        }
        std::stable_sort(pushed.begin(), pushed.end(),
                         [](const Event& a, const Event& b) { return a.ts_ns < b.ts_ns; });
        std::vector<std::pair<std::uint64_t, std::uint16_t>> expected;
        for (const Event& ev : pushed)
            expected.emplace_back(ev.ts_ns, ev.vcpu);
        REQUIRE(release_all(buffer) == expected);
    }
}

TEST_CASE("a full batch is sorted in as it comes, and push says so", "[reorder]")
{
    // Two lanes, the batch's end in the middle of the second: the rest of
    // that lane's run, pushed after the sort, still merges with what is held.
    ReorderBuffer buffer(1'000'000, 1u << 20);
    std::vector<Event> pushed;
    const std::size_t first_lane = ReorderBuffer::kBatch / 2;
    const std::size_t total = ReorderBuffer::kBatch + 100;
    std::size_t full_at = 0;
    for (std::size_t i = 0; i < total; ++i) {
        const bool lane0 = i < first_lane;
        const std::uint64_t ts = lane0 ? 2 * i : 2 * (i - first_lane) + 1;
        Event ev = at(ts, static_cast<std::uint16_t>(i));
        const unsigned said = buffer.push(ev);
        CHECK((said & ReorderBuffer::kLate) == 0);
        if (said & ReorderBuffer::kBatchFull) {
            CHECK(full_at == 0);
            full_at = i + 1;
        }
        pushed.push_back(ev);
    }
    CHECK(full_at == ReorderBuffer::kBatch);
    CHECK(buffer.pending() == total);
    std::vector<std::pair<std::uint64_t, std::uint16_t>> expected;
    std::stable_sort(pushed.begin(), pushed.end(),
                     [](const Event& a, const Event& b) { return a.ts_ns < b.ts_ns; });
    for (const Event& ev : pushed)
        expected.emplace_back(ev.ts_ns, ev.vcpu);
    CHECK(release_all(buffer) == expected);
}

TEST_CASE("push_runs hands out what push() of the same events would, late ones included",
          "[reorder]")
{
    // Rounds of drains: random lanes (some empty, some split in two as a
    // wrapping lane is, some out of order within), now and then older than
    // what went out already. Two buffers take the same rounds, one event by
    // event, one run by run; what comes out, and when, must be the same.
    std::uint64_t seed = 11;
    auto next = [&seed] {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        return seed >> 33;
    };
    ReorderBuffer by_event(1000, 1u << 20), by_run(1000, 1u << 20);
    std::vector<std::pair<std::uint64_t, std::uint16_t>> out_event, out_run;
    std::vector<std::uint16_t> late_seen;
    std::uint16_t id = 0;
    std::uint64_t round_start = 0;
    std::size_t many_runs = 0;
    for (int round = 0; round < 200; ++round) {
        std::vector<std::vector<Event>> lanes(next() % 24);  // up to 23: several merge passes
        for (auto& lane : lanes) {
            std::uint64_t ts = round_start + next() % 300;
            if (next() % 8 == 0)
                ts -= std::min<std::uint64_t>(ts, 1500);  // late
            for (std::uint64_t i = next() % 40; i > 0; --i) {
                ts += next() % 4;  // ties within and across lanes
                if (next() % 64 == 0)
                    ts -= std::min<std::uint64_t>(ts, 50);  // a lane out of order
                lane.push_back(at(ts, id++));
            }
        }
        std::vector<std::span<const Event>> runs;
        for (const auto& lane : lanes) {
            const std::size_t cut = lane.empty() ? 0 : next() % lane.size();  // where it wraps
            runs.emplace_back(std::span(lane).first(cut));
            runs.emplace_back(std::span(lane).subspan(cut));
            for (const Event& ev : lane)
                by_event.push(ev);
        }
        many_runs += runs.size() > 8;
        by_run.push_runs(runs, [&](const Event& ev) { late_seen.push_back(ev.vcpu); });
        round_start += 200;
        by_event.release_ready([&](std::span<const Event> events) {
            for (const Event& ev : events)
                out_event.emplace_back(ev.ts_ns, ev.vcpu);
        });
        by_run.release_ready([&](std::span<const Event> events) {
            for (const Event& ev : events)
                out_run.emplace_back(ev.ts_ns, ev.vcpu);
        });
        REQUIRE(out_run == out_event);
        REQUIRE(by_run.pending() == by_event.pending());
    }
    CHECK(release_all(by_run) == release_all(by_event));
    CHECK(many_runs > 100);
    REQUIRE(by_event.late() > 0);
    CHECK(by_run.late() == by_event.late());
    CHECK(late_seen.size() == by_run.late());
}

TEST_CASE("push_runs comes after what push() took, and ties go to the earlier run", "[reorder]")
{
    using P = std::pair<std::uint64_t, std::uint16_t>;
    ReorderBuffer buffer(1000, 1000);
    buffer.push(at(20, 0));
    buffer.push(at(30, 1));
    const std::vector<Event> a{at(10, 2), at(20, 3), at(30, 4)}, b{at(20, 5), at(25, 6)};
    const std::vector<std::span<const Event>> runs{std::span(a), {}, std::span(b)};
    buffer.push_runs(runs, [](const Event&) { FAIL("nothing went out: nothing is late"); });
    CHECK(buffer.pending() == 7);
    CHECK(release_all(buffer) == std::vector<P>{{10, 2}, {20, 0}, {20, 3}, {20, 5}, {25, 6}, {30, 1}, {30, 4}});
}
