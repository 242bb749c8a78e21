// One VM's working set over time, from the module's access sampling
// (SELF_E_EV_ACCESS and SELF_E_EV_SAMPLE records; SELF_E_IOC_SET_SAMPLING).
//
// A pass is one sampling of the VM by the module; its SAMPLE record with
// SELF_E_F_SAMPLE_END closes it. A page's samplings are the passes that
// looked at it: every pass, unless the VM has more RAM than a pass's budget
// (partial passes, each looking at a window). For every page the table keeps
//
//   age      samplings since the last one that saw it accessed (0: the
//            last one did), or, for a page no sampling saw accessed yet,
//            the samplings so far; both saturate
//   history  whether each of its last 8 samplings saw it accessed
//
// and with them, per VM:
//
//   recency(gfn)     its age; none when no sampling saw it accessed
//   working_set(n)   pages seen accessed within their last n samplings
//                    (age < n); shown for n = 1, 10, 60
//   hot_pages        pages accessed in each of their last kHotSamplings
//   cold_pages       pages seen accessed, but not within their last 10
//                    samplings, nor idle
//   idle_pages       pages not seen accessed in their last kIdleSamplings
//                    samplings (never, or longer ago)
//
// Memory: 2 bytes and a bit per page a pass looked at, in blocks of 64 Ki
// pages made on first use. The bit marks an access in the pass in progress:
// a bitmap, so that an ACCESS record's 64 bits go in with a shift and an
// OR or two (ACCESS records are a fifth of a stream, and byte by byte this
// was 80 instructions a record).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>

#include "self_e/event.hpp"

namespace self_e {

struct WorkingSetSummary {
    std::uint64_t passes = 0;          // passes done
    std::uint64_t partial_passes = 0;  // ... that covered part of guest RAM (budget)
    std::uint64_t coarse_passes = 0;   // ... with accesses known per 2 MiB only
    std::uint64_t sampled_pages = 0;   // pages some pass looked at
    std::uint64_t working_set_1 = 0;
    std::uint64_t working_set_10 = 0;
    std::uint64_t working_set_60 = 0;
    std::uint64_t hot_pages = 0;
    std::uint64_t cold_pages = 0;
    std::uint64_t idle_pages = 0;

    friend bool operator==(const WorkingSetSummary&, const WorkingSetSummary&) = default;
};

class WorkingSet {
public:
    static constexpr unsigned kHotSamplings = 4;
    static constexpr unsigned kIdleSamplings = 60;

    // An ACCESS record: its pages were accessed in the pass in progress.
    // Inline for a record in the block used last: a fifth of a stream's
    // events are ACCESS records, and the call and the slow path's
    // registers were half of this (callgrind: 51 -> 25 instructions).
    void on_access(const Event& ev)
    {
        const std::uint64_t offset = ev.gfn & (kBlockPages - 1);
        if ((ev.gfn >> kBlockShift) == cached_index_ && offset + 64 <= kBlockPages) [[likely]] {
            // The record's bits go into the pending bitmap as they are,
            // split across two words when the record does not start on
            // one (a slot's base need not be a multiple of 64 pages).
            std::uint64_t* pending = &cached_->pending[offset / 64];
            const unsigned shift = offset % 64;
            pending[0] |= ev.arg << shift;
            if (shift != 0)
                pending[1] |= ev.arg >> (64 - shift);
            return;
        }
        on_access_elsewhere(ev);
    }
    // A SAMPLE record: the pass looked at [gfn, gfn + arg); with
    // SELF_E_F_SAMPLE_END the pass is done.
    void on_sample(const Event& ev);

    std::uint64_t passes() const noexcept { return passes_; }
    // Samplings since the page was last seen accessed; none if never seen.
    std::optional<std::uint64_t> recency(std::uint64_t gfn) const noexcept;
    WorkingSetSummary summary() const;
    std::size_t bytes() const noexcept;

private:
    // age: 0..kSeenMax seen accessed that many samplings ago (kSeenMax: or
    // more); kNeverBase + n: never seen accessed in n samplings (saturating
    // at kNeverMax); kUnsampled: no pass looked at the page.
    static constexpr std::uint8_t kSeenMax = 126;
    static constexpr std::uint8_t kNeverBase = 128;
    static constexpr std::uint8_t kNeverMax = 254;
    static constexpr std::uint8_t kUnsampled = 255;
    // history: bit 0 the last sampling ... bit 7.

    static constexpr unsigned kBlockShift = 16;
    static constexpr std::uint64_t kBlockPages = std::uint64_t{1} << kBlockShift;

    struct Block {
        Block() { age.fill(kUnsampled); }
        std::array<std::uint8_t, kBlockPages> age;
        std::array<std::uint8_t, kBlockPages> history{};
        // Bit i % 64 of word i / 64: page i accessed in the pass in
        // progress, until the pass's SAMPLE record takes it in.
        std::array<std::uint64_t, kBlockPages / 64> pending{};
    };

    // on_access() for a record in another block than the last, or across
    // a block's end.
    void on_access_elsewhere(const Event& ev);
    // gfn's block, made on first use. Inline for the block used last.
    Block& block(std::uint64_t gfn);
    [[gnu::noinline]] Block& switch_block(std::uint64_t index);
    const Block* find_block(std::uint64_t gfn) const noexcept;

    std::uint64_t passes_ = 0;
    std::uint64_t partial_passes_ = 0;
    std::uint64_t coarse_passes_ = 0;
    bool pass_partial_ = false;
    bool pass_coarse_ = false;
    std::unordered_map<std::uint64_t, std::unique_ptr<Block>> blocks_;  // by gfn >> kBlockShift
    // The block used last: records come in gfn order, so most hit it.
    std::uint64_t cached_index_ = UINT64_MAX;
    Block* cached_ = nullptr;
};

}  // namespace self_e
