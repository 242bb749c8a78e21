// One VM's working set over time, from the module's access sampling
// (SELF_E_EV_ACCESS and SELF_E_EV_SAMPLE records; SELF_E_IOC_SET_SAMPLING).
//
// A pass is one sampling of the VM by the module; its SAMPLE record with
// SELF_E_F_SAMPLE_END closes it. Passes count from 1. For every page a pass
// looked at, the table keeps the pass that last saw it accessed, the pass
// that last looked at it, and whether it was accessed in each of the last 8
// passes that looked at it. With P passes done:
//
//   recency(gfn)     P - (pass that last saw it accessed): 0 = in the last
//                    pass; none when no pass saw it accessed
//   working_set(n)   pages accessed within the last n passes:
//                    #{recency < n}; shown for n = 1, 10, 60
//   hot_pages        pages accessed in each of the last kHotSamplings passes
//                    that looked at them
//   idle_pages       pages looked at and not accessed within the last
//                    kIdlePasses passes (never, or longer ago); 0 until the
//                    VM has been sampled for kIdlePasses passes
//   cold_pages       pages accessed before, but not within the last 10
//                    passes, and not idle yet
//
// A VM with more RAM than a pass's budget is sampled in windows (partial
// passes): a page's figures are then as of the last pass that looked at it.
// Memory: 9 bytes per page, in blocks of 64 Ki pages made on first use.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>

#include "self_e/event.hpp"

namespace self_e {

struct WorkingSetSummary {
    std::uint64_t passes = 0;         // passes done
    std::uint64_t partial_passes = 0;  // ... that covered part of guest RAM (budget)
    std::uint64_t coarse_passes = 0;   // ... with accesses known per 2 MiB only
    std::uint64_t sampled_pages = 0;  // pages some pass looked at
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
    static constexpr std::uint64_t kIdlePasses = 60;

    // An ACCESS record: its pages were accessed in the pass in progress.
    void on_access(const Event& ev);
    // A SAMPLE record: the pass looked at [gfn, gfn + arg); with
    // SELF_E_F_SAMPLE_END the pass is done.
    void on_sample(const Event& ev);

    std::uint64_t passes() const noexcept { return passes_; }
    std::optional<std::uint64_t> recency(std::uint64_t gfn) const noexcept;
    WorkingSetSummary summary() const;
    std::size_t bytes() const noexcept;

private:
    static constexpr unsigned kBlockShift = 16;
    static constexpr std::uint64_t kBlockPages = std::uint64_t{1} << kBlockShift;

    struct Block {
        std::array<std::uint32_t, kBlockPages> last_access{};   // pass, 0 = never
        std::array<std::uint32_t, kBlockPages> last_sampled{};  // pass, 0 = never
        std::array<std::uint8_t, kBlockPages> history{};        // bit 0: the last sampling
    };

    Block& block(std::uint64_t gfn);
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
