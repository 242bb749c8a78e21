#include "self_e/heatmap.hpp"

#include <algorithm>

#include "self_e/error.hpp"

namespace self_e {

HeatmapLayout::HeatmapLayout(std::span<const Memslot> memslots)
{
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;  // [first, end) gfns
    for (const Memslot& m : memslots)
        if (m.address_space() == 0 && m.npages)
            ranges.emplace_back(m.base_gfn, m.base_gfn + m.npages);
    std::sort(ranges.begin(), ranges.end());
    for (const auto& [first, end] : ranges) {
        if (!segments_.empty()) {
            HeatmapSegment& last = segments_.back();
            if (first <= last.base_gfn + last.npages) {
                last.npages = std::max(last.npages, end - last.base_gfn);
                continue;
            }
        }
        segments_.push_back({first, end - first, 0});
    }
    for (HeatmapSegment& s : segments_) {
        s.first_page = total_pages_;
        total_pages_ += s.npages;
    }
}

std::optional<std::uint64_t> HeatmapLayout::index_of(std::uint64_t gfn) const noexcept
{
    // The last segment starting at or below gfn.
    auto it = std::upper_bound(segments_.begin(), segments_.end(), gfn,
                               [](std::uint64_t g, const HeatmapSegment& s) { return g < s.base_gfn; });
    if (it == segments_.begin())
        return std::nullopt;
    --it;
    if (gfn - it->base_gfn >= it->npages)
        return std::nullopt;
    return it->first_page + (gfn - it->base_gfn);
}

std::uint64_t HeatmapLayout::gfn_at(std::uint64_t index) const noexcept
{
    auto it = std::upper_bound(segments_.begin(), segments_.end(), index,
                               [](std::uint64_t i, const HeatmapSegment& s) { return i < s.first_page; });
    if (it == segments_.begin())
        return 0;
    --it;
    return it->base_gfn + (index - it->first_page);
}

Heatmap::Heatmap(HeatmapLayout layout, std::uint16_t vm_id, std::uint64_t t0_ns, std::uint64_t t1_ns,
                 std::uint32_t columns, std::uint32_t rows)
    : layout_(std::move(layout)), vm_id_(vm_id), t0_(t0_ns), t1_(std::max(t1_ns, t0_ns + 1)),
      columns_(columns),
      rows_(static_cast<std::uint32_t>(std::min<std::uint64_t>(rows, layout_.total_pages())))
{
    if (columns_ == 0 || rows_ == 0)
        throw Error(ErrorKind::invalid_argument,
                    "heatmap: no cells (" + std::to_string(columns) + " columns, " +
                        std::to_string(rows) + " rows, " + std::to_string(layout_.total_pages()) +
                        " guest pages)");
    const std::size_t cells = static_cast<std::size_t>(columns_) * rows_;
    accesses_.assign(cells, 0);
    merges_.assign(cells, 0);
    cow_breaks_.assign(cells, 0);
}

std::uint32_t Heatmap::column_of(std::uint64_t ts_ns) const noexcept
{
    if (ts_ns <= t0_)
        return 0;
    const unsigned __int128 c = static_cast<unsigned __int128>(ts_ns - t0_) * columns_ / (t1_ - t0_);
    return static_cast<std::uint32_t>(std::min<unsigned __int128>(c, columns_ - 1));
}

std::uint32_t Heatmap::row_of(std::uint64_t page_index) const noexcept
{
    const unsigned __int128 r = static_cast<unsigned __int128>(page_index) * rows_ / layout_.total_pages();
    return static_cast<std::uint32_t>(std::min<unsigned __int128>(r, rows_ - 1));
}

std::uint64_t Heatmap::first_page_of_row(std::uint32_t row) const noexcept
{
    // The smallest p with p * rows / total >= row.
    const unsigned __int128 total = layout_.total_pages();
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(row) * total + rows_ - 1) / rows_);
}

void Heatmap::count_access(std::uint32_t column, std::uint64_t page_index)
{
    std::uint32_t& c = accesses_[cell(column, row_of(page_index))];
    if (c != UINT32_MAX)
        ++c;
    max_accesses_ = std::max(max_accesses_, c);
    ++totals_.accesses;
}

void Heatmap::bump(std::vector<std::uint8_t>& grid, std::uint32_t column, std::uint64_t gfn, std::uint64_t& total)
{
    const auto index = layout_.index_of(gfn);
    if (!index) {
        ++totals_.outside;
        return;
    }
    std::uint8_t& c = grid[cell(column, row_of(*index))];
    if (c != UINT8_MAX)
        ++c;
    ++total;
}

void Heatmap::add(const Event& ev)
{
    // SMM's view of RAM is no guest RAM (SELF_E_F_SMM is set on gfn events only).
    if (ev.vm_id != vm_id_ || (ev.gfn != SELF_E_GFN_NONE && (ev.flags & SELF_E_F_SMM)))
        return;
    const std::uint32_t column = column_of(ev.ts_ns);
    switch (ev.type) {
    case SELF_E_EV_FAULT: {
        if (ev.flags & SELF_E_F_PREFETCH)
            return;
        const unsigned level = (ev.flags & SELF_E_F_LEVEL_MASK) >> SELF_E_F_LEVEL_SHIFT;
        const std::uint64_t pages = level == 0 ? 1 : level == 1 ? 512 : 262144;
        std::optional<std::uint32_t> last_row;
        bool any = false;
        for (std::uint64_t i = 0; i < pages; ++i) {
            const auto index = layout_.index_of(ev.gfn + i);
            if (!index)
                continue;
            any = true;
            const std::uint32_t row = row_of(*index);
            if (last_row == row)
                continue;
            last_row = row;
            count_access(column, *index);
        }
        if (!any)
            ++totals_.outside;
        return;
    }
    case SELF_E_EV_ACCESS: {
        std::uint64_t bits = ev.arg;
        while (bits) {
            const int i = __builtin_ctzll(bits);
            bits &= bits - 1;
            const auto index = layout_.index_of(ev.gfn + static_cast<std::uint64_t>(i));
            if (index)
                count_access(column, *index);
            else
                ++totals_.outside;
        }
        return;
    }
    case SELF_E_EV_KSM_MERGE:
    case SELF_E_EV_KSM_ZERO:
        bump(merges_, column, ev.gfn, totals_.merges);
        return;
    case SELF_E_EV_COW_BREAK:
        bump(cow_breaks_, column, ev.gfn, totals_.cow_breaks);
        return;
    default:
        return;
    }
}

}  // namespace self_e
