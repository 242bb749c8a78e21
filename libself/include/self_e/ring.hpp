// The consumer side of a SELF-e ring, in C++, over the shared algorithm in
// kmod/self_e_ring.h (the same code the module's producers run).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "self_e/event.hpp"
#include "self_e_ring.h"

namespace self_e {

// Totals over all lanes of a ring, read from its producer states.
struct RingCounters {
    std::uint64_t reserved = 0;      // positions taken (events kept + LOST records)
    std::uint64_t dropped = 0;       // events dropped because a lane was full
    std::uint64_t lost_pending = 0;  // dropped, not yet reported by a LOST record
    std::uint64_t lost_records = 0;  // LOST records written
    // Events offered to the ring: kept plus dropped.
    std::uint64_t offered() const noexcept { return reserved - lost_records + dropped; }
};

RingCounters ring_counters(const self_e_ring_view& view) noexcept;

// Reads one ring, mapped from the module or held in a LocalRing. One consumer
// per ring: the ring's algorithm allows no more.
class RingConsumer {
public:
    explicit RingConsumer(const self_e_ring_view& view) noexcept : view_(view) {}

    // Hands each published record to fn(const Event&, lane) without copying,
    // lane by lane in position order, at most max_per_lane per lane, then
    // gives the slots back to the producers. Returns the number of records.
    template <typename Fn>
    std::size_t drain(Fn&& fn, std::uint64_t max_per_lane = UINT64_MAX)
    {
        std::size_t total = 0;
        for (std::uint32_t lane = 0; lane < view_.nr_lanes; ++lane) {
            const std::uint64_t start = self_e_ring_consumer_pos(&view_, lane);
            const std::uint64_t end = published_end(lane, start, max_per_lane);
            for (std::uint64_t pos = start; pos != end; ++pos)
                fn(*self_e_ring_slot(&view_, lane, pos), lane);
            if (end != start) {
                self_e_ring_release(&view_, lane, end);
                total += end - start;
            }
        }
        return total;
    }

    // The published records of every lane, without copying, appended to
    // runs in position order: at most two runs a lane (where it wraps), at
    // most max_per_lane records a lane. The producers leave them alone
    // until release_peeked(), so a caller can hand a whole drain to one
    // merge (Aggregator::push_runs). Returns the number of records.
    std::size_t peek_runs(std::vector<std::span<const Event>>& runs, std::uint64_t max_per_lane = UINT64_MAX);
    // Gives the slots of what peek_runs() returned last back to the producers.
    void release_peeked() noexcept;

    const self_e_ring_view& view() const noexcept { return view_; }

private:
    // The position past the records published in lane from start on, at
    // most max_per_lane of them.
    std::uint64_t published_end(std::uint32_t lane, std::uint64_t start, std::uint64_t max_per_lane) const noexcept
    {
        std::uint64_t end = start;
        while (end - start < max_per_lane && self_e_ring_peek(&view_, lane, end))
            ++end;
        return end;
    }

    self_e_ring_view view_;
    std::vector<std::uint64_t> peeked_;  // by lane, the position past what peek_runs() returned
};

// A ring in ordinary memory, laid out as the module lays out a mapped one:
// for tests, benchmarks and replaying recordings through the same code.
class LocalRing {
public:
    LocalRing(std::uint32_t nr_lanes, std::uint32_t lane_order, std::uint16_t vm_id = 0);

    const self_e_ring_view& view() const noexcept { return view_; }

private:
    struct FreeDeleter {
        void operator()(void* p) const noexcept { std::free(p); }
    };
    std::unique_ptr<void, FreeDeleter> memory_;
    self_e_ring_view view_{};
};

}  // namespace self_e
