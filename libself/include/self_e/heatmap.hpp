// Binning a VM's memory accesses into a grid: time on one axis, guest-
// physical address on the other, for `self-e heatmap`. Memory and work are
// bounded by the grid, not by the recording: a 16 GiB guest over an hour
// bins into columns x rows cells whatever the number of events (6 bytes a
// cell).
//
// Address axis: the guest-RAM ranges (address space 0 memslots, overlapping
// or adjacent ones merged) in gfn order, concatenated with the gaps between
// them collapsed: page index p runs over every guest-RAM page, and
// row(p) = p * rows / total_pages (rows = min(rows asked, total_pages)).
// Time axis: column(ts) = (ts - t0) * columns / (t1 - t0), clamped to the grid.
//
// What counts (per cell):
//   accesses     a FAULT is one access of its gfn (a 2M or 1G mapping: one
//                of every row it spans); an ACCESS sample is one access of
//                gfn + i for each set bit i of its bitmap, at its ts.
//                Prefetches and SMM events are not accesses.
//   merges       KSM_MERGE and KSM_ZERO events (per cell, up to 255)
//   cow_breaks   COW_BREAK events (per cell, up to 255)
// Events of other VMs, or of gfns outside guest RAM, count in `outside`.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "self_e/event.hpp"
#include "self_e/memslot.hpp"

namespace self_e {

struct HeatmapSegment {
    std::uint64_t base_gfn = 0;
    std::uint64_t npages = 0;
    std::uint64_t first_page = 0;  // its first page's index on the axis
};

// The address axis.
class HeatmapLayout {
public:
    // From memslots: the guest-RAM slots (address space 0), merged.
    explicit HeatmapLayout(std::span<const Memslot> memslots);

    const std::vector<HeatmapSegment>& segments() const noexcept { return segments_; }
    std::uint64_t total_pages() const noexcept { return total_pages_; }
    // The axis index of gfn, or nullopt outside guest RAM.
    std::optional<std::uint64_t> index_of(std::uint64_t gfn) const noexcept;
    // The gfn at an axis index (< total_pages()).
    std::uint64_t gfn_at(std::uint64_t index) const noexcept;

private:
    std::vector<HeatmapSegment> segments_;
    std::uint64_t total_pages_ = 0;
};

struct HeatmapTotals {
    std::uint64_t accesses = 0;
    std::uint64_t merges = 0;
    std::uint64_t cow_breaks = 0;
    std::uint64_t outside = 0;  // events of this VM outside guest RAM
};

class Heatmap {
public:
    // vm_id: the VM whose events count; [t0_ns, t1_ns): the time axis.
    Heatmap(HeatmapLayout layout, std::uint16_t vm_id, std::uint64_t t0_ns, std::uint64_t t1_ns,
            std::uint32_t columns, std::uint32_t rows);

    void add(const Event& ev);

    std::uint32_t columns() const noexcept { return columns_; }
    std::uint32_t rows() const noexcept { return rows_; }
    std::uint32_t column_of(std::uint64_t ts_ns) const noexcept;
    std::uint32_t row_of(std::uint64_t page_index) const noexcept;
    // The first axis index row r covers.
    std::uint64_t first_page_of_row(std::uint32_t row) const noexcept;

    std::uint32_t accesses(std::uint32_t column, std::uint32_t row) const noexcept
    {
        return accesses_[cell(column, row)];
    }
    std::uint32_t merges(std::uint32_t column, std::uint32_t row) const noexcept
    {
        return merges_[cell(column, row)];
    }
    std::uint32_t cow_breaks(std::uint32_t column, std::uint32_t row) const noexcept
    {
        return cow_breaks_[cell(column, row)];
    }
    std::uint32_t max_accesses() const noexcept { return max_accesses_; }
    const HeatmapTotals& totals() const noexcept { return totals_; }
    const HeatmapLayout& layout() const noexcept { return layout_; }
    std::uint64_t t0_ns() const noexcept { return t0_; }
    std::uint64_t t1_ns() const noexcept { return t1_; }

private:
    std::size_t cell(std::uint32_t column, std::uint32_t row) const noexcept
    {
        return static_cast<std::size_t>(row) * columns_ + column;
    }
    void count_access(std::uint32_t column, std::uint64_t page_index);
    void bump(std::vector<std::uint8_t>& grid, std::uint32_t column, std::uint64_t gfn, std::uint64_t& total);

    HeatmapLayout layout_;
    std::uint16_t vm_id_;
    std::uint64_t t0_, t1_;
    std::uint32_t columns_, rows_;
    std::vector<std::uint32_t> accesses_;
    std::vector<std::uint8_t> merges_, cow_breaks_;  // markers: counts saturate at 255
    std::uint32_t max_accesses_ = 0;
    HeatmapTotals totals_;
};

}  // namespace self_e
