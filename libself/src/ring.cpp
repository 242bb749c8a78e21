#include "self_e/ring.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace self_e {

namespace {

constexpr std::size_t kCacheLine = 64;

constexpr std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

}  // namespace

static_assert(sizeof(self_e_lane_prod) == kCacheLine, "one producer state per cache line");

RingCounters ring_counters(const self_e_ring_view& view) noexcept
{
    RingCounters c;
    for (std::uint32_t lane = 0; lane < view.nr_lanes; ++lane) {
        const self_e_lane_prod& p = view.prod[lane];
        c.reserved += __atomic_load_n(&p.head, __ATOMIC_ACQUIRE);
        c.dropped += __atomic_load_n(&p.dropped, __ATOMIC_ACQUIRE);
        c.lost_pending += __atomic_load_n(&p.lost_pending, __ATOMIC_ACQUIRE);
        c.lost_records += __atomic_load_n(&p.lost_records, __ATOMIC_ACQUIRE);
    }
    return c;
}

std::size_t RingConsumer::peek_runs(std::vector<std::span<const Event>>& runs, std::uint64_t max_per_lane)
{
    const std::uint64_t lane_size = std::uint64_t{1} << view_.lane_order;
    peeked_.resize(view_.nr_lanes);
    std::size_t total = 0;
    for (std::uint32_t lane = 0; lane < view_.nr_lanes; ++lane) {
        const std::uint64_t start = self_e_ring_consumer_pos(&view_, lane);
        const std::uint64_t end = published_end(lane, start, max_per_lane);
        peeked_[lane] = end;
        for (std::uint64_t pos = start; pos != end;) {
            const std::uint64_t n = std::min(end - pos, lane_size - (pos & (lane_size - 1)));
            runs.emplace_back(self_e_ring_slot(&view_, lane, pos), n);
            pos += n;
        }
        total += end - start;
    }
    return total;
}

void RingConsumer::release_peeked() noexcept
{
    for (std::uint32_t lane = 0; lane < peeked_.size(); ++lane)
        if (peeked_[lane] != self_e_ring_consumer_pos(&view_, lane))
            self_e_ring_release(&view_, lane, peeked_[lane]);
    peeked_.clear();
}

LocalRing::LocalRing(std::uint32_t nr_lanes, std::uint32_t lane_order, std::uint16_t vm_id)
{
    // The producer needs room for a LOST record and an event at once.
    if (nr_lanes == 0 || lane_order < 1 || lane_order > 24)
        throw std::invalid_argument("LocalRing: need 1+ lanes and lane order 1..24, got " +
                                    std::to_string(nr_lanes) + " lanes of order " +
                                    std::to_string(lane_order));
    const std::size_t prod = round_up(nr_lanes * sizeof(self_e_lane_prod), kCacheLine);
    const std::size_t cons = round_up(nr_lanes * sizeof(self_e_lane_cons), kCacheLine);
    const std::size_t data = self_e_ring_data_bytes(nr_lanes, lane_order);
    const std::size_t size = prod + cons + data;

    memory_.reset(std::aligned_alloc(kCacheLine, size));
    if (!memory_)
        throw std::bad_alloc();
    auto* base = static_cast<unsigned char*>(memory_.get());
    std::memset(base, 0, size);  // seq 0 is "not published" for the first lap

    view_.prod = reinterpret_cast<self_e_lane_prod*>(base);
    view_.cons = reinterpret_cast<self_e_lane_cons*>(base + prod);
    view_.data = reinterpret_cast<self_e_event*>(base + prod + cons);
    view_.nr_lanes = nr_lanes;
    view_.lane_order = lane_order;
    view_.vm_id = vm_id;
}

}  // namespace self_e
