// Single-threaded semantics of the ring (kmod/self_e_ring.h): publication,
// order, wrap-around, overflow accounting, LOST records, hostile consumers.
#include <catch2/catch.hpp>

#include <vector>

#include "self_e/ring.hpp"

using namespace self_e;

namespace {

Event fault(std::uint64_t gfn, std::uint64_t ts = 0)
{
    Event ev{};
    ev.type = SELF_E_EV_FAULT;
    ev.flags = SELF_E_F_WRITE;
    ev.vcpu = 3;
    ev.vm_id = 7;
    ev.ts_ns = ts ? ts : gfn + 1000;
    ev.gfn = gfn;
    ev.arg = gfn * 31 + 5;
    return ev;
}

// Everything the consumer can read now, as (type, gfn or LOST count).
std::vector<std::pair<int, std::uint64_t>> drain_all(const LocalRing& ring)
{
    std::vector<std::pair<int, std::uint64_t>> out;
    RingConsumer(ring.view()).drain([&](const Event& ev, std::uint32_t) {
        out.emplace_back(ev.type, ev.type == SELF_E_EV_LOST ? ev.arg : ev.gfn);
    });
    return out;
}

using Seen = std::vector<std::pair<int, std::uint64_t>>;

int produce(const self_e_ring_view& v, std::uint32_t lane, const Event& ev)
{
    return self_e_ring_produce(&v, lane, &ev);
}

}  // namespace

TEST_CASE("records come out in order, with every field as produced", "[ring]")
{
    LocalRing ring(1, 4, 7);
    const auto& v = ring.view();
    for (std::uint64_t g = 0; g < 10; ++g)
        REQUIRE(produce(v, 0, fault(g)) == 0);

    std::vector<Event> got;
    RingConsumer(v).drain([&](const Event& ev, std::uint32_t lane) {
        REQUIRE(lane == 0);
        got.push_back(ev);
    });
    REQUIRE(got.size() == 10);
    for (std::uint64_t g = 0; g < 10; ++g) {
        const Event want = fault(g);
        CHECK(got[g].type == want.type);
        CHECK(got[g].flags == want.flags);
        CHECK(got[g].vcpu == want.vcpu);
        CHECK(got[g].vm_id == want.vm_id);
        CHECK(got[g].ts_ns == want.ts_ns);
        CHECK(got[g].gfn == want.gfn);
        CHECK(got[g].arg == want.arg);
    }
    REQUIRE(drain_all(ring).empty());
    const auto c = ring_counters(v);
    REQUIRE(c.offered() == 10);
    REQUIRE(c.dropped == 0);
}

TEST_CASE("an event passed in registers is stored field for field; the producer learns its end",
          "[ring]")
{
    LocalRing ring(1, 2, 7);
    const auto& v = ring.view();
    const __u64 tag = self_e_event_tag(SELF_E_EV_KSM_MERGE, 0xa5, 0xbeef, 0xcafe);
    REQUIRE(self_e_event_tag_type(tag) == SELF_E_EV_KSM_MERGE);
    for (__u64 i = 0; i < 4; ++i)
        REQUIRE(self_e_ring_produce_tagged(&v, 0, tag, 100 + i, 0x1234 + i, ~i) == i + 1);
    // Full: dropped, then the next one after draining comes behind a LOST record.
    REQUIRE(self_e_ring_produce_tagged(&v, 0, tag, 200, 0, 0) == 0);

    std::vector<Event> got;
    RingConsumer(v).drain([&](const Event& ev, std::uint32_t) { got.push_back(ev); });
    REQUIRE(got.size() == 4);
    for (__u64 i = 0; i < 4; ++i) {
        CHECK(got[i].type == SELF_E_EV_KSM_MERGE);
        CHECK(got[i].flags == 0xa5);
        CHECK(got[i].vcpu == 0xbeef);
        CHECK(got[i].vm_id == 0xcafe);
        CHECK(got[i].ts_ns == 100 + i);
        CHECK(got[i].gfn == 0x1234 + i);
        CHECK(got[i].arg == ~i);
    }
    REQUIRE(self_e_ring_produce_tagged(&v, 0, tag, 300, 0, 0) == 6);  // LOST at 4, this at 5
    REQUIRE(drain_all(ring) == Seen{{SELF_E_EV_LOST, 1}, {SELF_E_EV_KSM_MERGE, 0}});
}

TEST_CASE("a record is invisible until committed; a nested producer's record waits behind it",
          "[ring]")
{
    LocalRing ring(1, 3);
    const auto& v = ring.view();
    __u64 outer_pos = 0, inner_pos = 0;

    // The outer producer reserves and is "interrupted" before committing.
    Event* outer = self_e_ring_reserve(&v, 0, 1, &outer_pos);
    REQUIRE(outer);
    *outer = fault(100);

    // The interrupting producer runs to completion on the same lane.
    Event* inner = self_e_ring_reserve(&v, 0, 2, &inner_pos);
    REQUIRE(inner);
    REQUIRE(inner_pos == outer_pos + 1);
    *inner = fault(200);
    self_e_ring_commit(&v, inner, inner_pos);

    REQUIRE(self_e_ring_pending(&v, 0) == 2);
    REQUIRE(drain_all(ring).empty());  // blocked behind the unpublished record

    self_e_ring_commit(&v, outer, outer_pos);
    REQUIRE(drain_all(ring) == Seen{{SELF_E_EV_FAULT, 100}, {SELF_E_EV_FAULT, 200}});
}

TEST_CASE("positions wrap around the lane many times, including the 16-bit seq", "[ring]")
{
    // Order 1: two slots, so 2^16 laps come after 2^17 records.
    LocalRing ring(1, 1);
    const auto& v = ring.view();
    RingConsumer consumer(v);
    const std::uint64_t total = (1ULL << 17) + 1000;
    std::uint64_t next = 0, produced = 0;
    while (produced < total) {
        // Fill the lane, then read it back.
        while (self_e_ring_pending(&v, 0) < 2 && produced < total)
            REQUIRE(produce(v, 0, fault(produced++)) == 0);
        consumer.drain([&](const Event& ev, std::uint32_t) {
            REQUIRE(ev.type == SELF_E_EV_FAULT);
            REQUIRE(ev.gfn == next);
            ++next;
        });
    }
    REQUIRE(next == total);
    REQUIRE(ring_counters(v).dropped == 0);
}

TEST_CASE("a full lane drops new events, counts them, and reports them before the next event",
          "[ring]")
{
    LocalRing ring(1, 2);  // four slots
    const auto& v = ring.view();
    for (std::uint64_t g = 0; g < 4; ++g)
        REQUIRE(produce(v, 0, fault(g)) == 0);
    for (std::uint64_t g = 4; g < 7; ++g)
        REQUIRE(produce(v, 0, fault(g)) == -1);

    auto c = ring_counters(v);
    REQUIRE(c.dropped == 3);
    REQUIRE(c.lost_pending == 3);
    REQUIRE(c.offered() == 7);

    // Nothing already in the lane was overwritten.
    REQUIRE(drain_all(ring) == Seen{{5, 0}, {5, 1}, {5, 2}, {5, 3}});

    REQUIRE(produce(v, 0, fault(7)) == 0);
    REQUIRE(drain_all(ring) == Seen{{SELF_E_EV_LOST, 3}, {SELF_E_EV_FAULT, 7}});

    c = ring_counters(v);
    REQUIRE(c.dropped == 3);
    REQUIRE(c.lost_pending == 0);
    REQUIRE(c.lost_records == 1);
    REQUIRE(c.offered() == 8);
}

TEST_CASE("a LOST record carries the lane's vm id and the next event's timestamp", "[ring]")
{
    LocalRing ring(1, 1, 42);
    const auto& v = ring.view();
    REQUIRE(produce(v, 0, fault(1)) == 0);
    REQUIRE(produce(v, 0, fault(2)) == 0);
    REQUIRE(produce(v, 0, fault(3)) == -1);
    drain_all(ring);
    REQUIRE(produce(v, 0, fault(4, 9999)) == 0);
    std::vector<Event> got;
    RingConsumer(v).drain([&](const Event& ev, std::uint32_t) { got.push_back(ev); });
    REQUIRE(got.size() == 2);
    REQUIRE(got[0].type == SELF_E_EV_LOST);
    REQUIRE(got[0].vm_id == 42);
    REQUIRE(got[0].ts_ns == 9999);
    REQUIRE(got[0].gfn == SELF_E_GFN_NONE);
    REQUIRE(got[0].vcpu == SELF_E_VCPU_NONE);
    REQUIRE(got[0].arg == 1);
    REQUIRE(got[1].gfn == 4);
}

TEST_CASE("a pending loss needs room for two records; until then events keep being dropped",
          "[ring]")
{
    LocalRing ring(1, 2);
    const auto& v = ring.view();
    for (std::uint64_t g = 0; g < 4; ++g)
        produce(v, 0, fault(g));
    REQUIRE(produce(v, 0, fault(4)) == -1);

    // Free one slot: an event alone would fit, an event and its LOST record do not.
    RingConsumer(v).drain([](const Event&, std::uint32_t) {}, 1);
    REQUIRE(produce(v, 0, fault(5)) == -1);
    REQUIRE(ring_counters(v).lost_pending == 2);

    RingConsumer(v).drain([](const Event&, std::uint32_t) {}, 1);
    REQUIRE(produce(v, 0, fault(6)) == 0);
    REQUIRE(drain_all(ring) == Seen{{5, 2}, {5, 3}, {SELF_E_EV_LOST, 2}, {5, 6}});
    const auto c = ring_counters(v);
    REQUIRE(c.dropped == 2);
    REQUIRE(c.lost_pending == 0);
    REQUIRE(c.offered() == 7);
}

TEST_CASE("lanes are independent: one full lane does not affect another", "[ring]")
{
    LocalRing ring(2, 1);
    const auto& v = ring.view();
    REQUIRE(produce(v, 0, fault(1)) == 0);
    REQUIRE(produce(v, 0, fault(2)) == 0);
    REQUIRE(produce(v, 0, fault(3)) == -1);
    REQUIRE(produce(v, 1, fault(10)) == 0);

    std::vector<std::pair<std::uint32_t, std::uint64_t>> got;
    RingConsumer(v).drain([&](const Event& ev, std::uint32_t lane) { got.emplace_back(lane, ev.gfn); });
    REQUIRE(got == std::vector<std::pair<std::uint32_t, std::uint64_t>>{{0, 1}, {0, 2}, {1, 10}});
    REQUIRE(v.prod[0].dropped == 1);
    REQUIRE(v.prod[1].dropped == 0);
}

TEST_CASE("a consumer writing garbage positions cannot make producers write outside the lane",
          "[ring]")
{
    struct Case {
        std::uint64_t tail;
        std::uint64_t kept;  // of 10 events offered to a full lane of 4
    };
    // Tails behind, far behind or ahead of the head all read as "full";
    // one that claims to have read 3 of the 4 records frees 3 slots.
    const Case cases[] = {{~0ULL, 0}, {1ULL << 63, 0}, {12345, 0}, {5, 0}, {3, 3}};

    for (const Case& c : cases) {
        LocalRing ring(2, 2);  // lane 1 must stay untouched throughout
        const auto& v = ring.view();
        for (std::uint64_t g = 0; g < 4; ++g)
            REQUIRE(produce(v, 0, fault(g)) == 0);

        __atomic_store_n(&v.cons[0].tail, c.tail, __ATOMIC_RELEASE);
        std::uint64_t kept = 0;
        for (std::uint64_t g = 0; g < 10; ++g)
            kept += produce(v, 0, fault(100 + g)) == 0;

        INFO("tail " << c.tail);
        REQUIRE(kept == c.kept);
        const auto counters = ring_counters(v);
        REQUIRE(counters.offered() == 14);  // every event accounted for once
        REQUIRE(counters.dropped == 10 - c.kept);
        REQUIRE(v.prod[0].head == 4 + c.kept);
        REQUIRE(v.prod[1].head == 0);
        for (std::uint64_t i = 0; i < 4; ++i) {
            const Event* other = self_e_ring_slot(&v, 1, i);
            REQUIRE(other->seq == 0);
            REQUIRE(other->gfn == 0);
        }
    }
}

TEST_CASE("a local ring refuses dimensions the algorithm cannot work with", "[ring]")
{
    REQUIRE_THROWS_AS(LocalRing(0, 4), std::invalid_argument);
    REQUIRE_THROWS_AS(LocalRing(1, 0), std::invalid_argument);
    REQUIRE_THROWS_AS(LocalRing(1, 25), std::invalid_argument);
    REQUIRE_NOTHROW(LocalRing(1, 1));
}

TEST_CASE("peek_runs shows each lane's published records where they lie, until release_peeked",
          "[ring]")
{
    LocalRing ring(3, 2);  // lanes of 4 slots
    const auto& v = ring.view();
    RingConsumer consumer(v);
    // Lane 0 starts at slot 3, so its records wrap: two runs.
    for (std::uint64_t gfn = 0; gfn < 3; ++gfn)
        REQUIRE(produce(v, 0, fault(gfn)) == 0);
    consumer.drain([](const Event&, std::uint32_t) {});
    for (std::uint64_t gfn = 10; gfn < 13; ++gfn)
        REQUIRE(produce(v, 0, fault(gfn)) == 0);
    // Lane 1: one record published, one reserved but not committed behind it.
    REQUIRE(produce(v, 1, fault(20)) == 0);
    __u64 pos = 0;
    Event* unpublished = self_e_ring_reserve(&v, 1, 21, &pos);
    REQUIRE(unpublished);
    *unpublished = fault(21);
    // Lane 2: nothing.

    std::vector<std::span<const Event>> runs;
    REQUIRE(consumer.peek_runs(runs) == 4);
    const auto gfns = [](std::span<const Event> run) {
        std::vector<std::uint64_t> out;
        for (const Event& ev : run)
            out.push_back(ev.gfn);
        return out;
    };
    REQUIRE(runs.size() == 3);
    CHECK(gfns(runs[0]) == std::vector<std::uint64_t>{10});
    CHECK(gfns(runs[1]) == std::vector<std::uint64_t>{11, 12});
    CHECK(gfns(runs[2]) == std::vector<std::uint64_t>{20});
    CHECK(runs[0].data() == self_e_ring_slot(&v, 0, 3));  // not copied

    // Until release_peeked() the slots stay the consumer's: the lane is full.
    REQUIRE(produce(v, 0, fault(13)) == 0);
    CHECK(produce(v, 0, fault(14)) == -1);
    CHECK(gfns(runs[1]) == std::vector<std::uint64_t>{11, 12});
    consumer.release_peeked();
    CHECK(self_e_ring_consumer_pos(&v, 0) == 6);
    CHECK(self_e_ring_consumer_pos(&v, 1) == 1);
    CHECK(self_e_ring_consumer_pos(&v, 2) == 0);

    // What was not peeked comes next; at most max_per_lane a lane.
    self_e_ring_commit(&v, unpublished, pos);
    runs.clear();
    REQUIRE(consumer.peek_runs(runs, 1) == 2);
    REQUIRE(runs.size() == 2);
    CHECK(gfns(runs[0]) == std::vector<std::uint64_t>{13});
    CHECK(gfns(runs[1]) == std::vector<std::uint64_t>{21});
    consumer.release_peeked();
    consumer.release_peeked();  // twice: nothing more
    CHECK(self_e_ring_consumer_pos(&v, 0) == 7);
    CHECK(self_e_ring_consumer_pos(&v, 1) == 2);
}
