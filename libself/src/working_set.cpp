#include "self_e/working_set.hpp"

#include <bit>

namespace self_e {

WorkingSet::Block& WorkingSet::block(std::uint64_t gfn)
{
    const std::uint64_t index = gfn >> kBlockShift;
    if (index == cached_index_)
        return *cached_;
    std::unique_ptr<Block>& b = blocks_[index];
    if (!b)
        b = std::make_unique<Block>();
    cached_index_ = index;
    cached_ = b.get();
    return *b;
}

const WorkingSet::Block* WorkingSet::find_block(std::uint64_t gfn) const noexcept
{
    const auto it = blocks_.find(gfn >> kBlockShift);
    return it == blocks_.end() ? nullptr : it->second.get();
}

void WorkingSet::on_access(const Event& ev)
{
    const auto pass = static_cast<std::uint32_t>(passes_ + 1);
    for (std::uint64_t bits = ev.arg; bits; bits &= bits - 1) {
        const std::uint64_t gfn = ev.gfn + static_cast<unsigned>(std::countr_zero(bits));
        block(gfn).last_access[gfn & (kBlockPages - 1)] = pass;
    }
}

void WorkingSet::on_sample(const Event& ev)
{
    const auto pass = static_cast<std::uint32_t>(passes_ + 1);
    std::uint64_t gfn = ev.gfn;
    const std::uint64_t end = ev.gfn + ev.arg;
    while (gfn < end) {
        Block& b = block(gfn);
        const std::uint64_t stop = std::min(end, (gfn | (kBlockPages - 1)) + 1);
        for (; gfn < stop; ++gfn) {
            const std::size_t i = gfn & (kBlockPages - 1);
            b.last_sampled[i] = pass;
            b.history[i] = static_cast<std::uint8_t>((b.history[i] << 1) | (b.last_access[i] == pass));
        }
    }
    pass_partial_ |= (ev.flags & SELF_E_F_SAMPLE_PARTIAL) != 0;
    pass_coarse_ |= (ev.flags & SELF_E_F_SAMPLE_COARSE) != 0;
    if (ev.flags & SELF_E_F_SAMPLE_END) {
        ++passes_;
        partial_passes_ += pass_partial_;
        coarse_passes_ += pass_coarse_;
        pass_partial_ = pass_coarse_ = false;
    }
}

std::optional<std::uint64_t> WorkingSet::recency(std::uint64_t gfn) const noexcept
{
    const Block* b = find_block(gfn);
    if (!b)
        return std::nullopt;
    const std::uint32_t last = b->last_access[gfn & (kBlockPages - 1)];
    // An access of the pass in progress counts once the pass is done.
    if (last == 0 || last > passes_)
        return std::nullopt;
    return passes_ - last;
}

WorkingSetSummary WorkingSet::summary() const
{
    WorkingSetSummary s;
    s.passes = passes_;
    s.partial_passes = partial_passes_;
    s.coarse_passes = coarse_passes_;
    constexpr std::uint8_t hot_mask = (1u << kHotSamplings) - 1;
    for (const auto& [index, b] : blocks_) {
        for (std::size_t i = 0; i < kBlockPages; ++i) {
            const std::uint32_t sampled = b->last_sampled[i];
            if (sampled == 0)
                continue;
            ++s.sampled_pages;
            const std::uint32_t last = b->last_access[i];
            const bool seen = last != 0 && last <= passes_;
            const std::uint64_t age = seen ? passes_ - last : UINT64_MAX;
            s.working_set_1 += age < 1;
            s.working_set_10 += age < 10;
            s.working_set_60 += age < 60;
            // What the pass in progress found counts once it is done.
            const std::uint8_t history =
                sampled > passes_ ? static_cast<std::uint8_t>(b->history[i] >> 1) : b->history[i];
            s.hot_pages += (history & hot_mask) == hot_mask;
            if (passes_ >= kIdlePasses && age >= kIdlePasses)
                ++s.idle_pages;
            else if (seen && age >= 10)
                ++s.cold_pages;
        }
    }
    return s;
}

std::size_t WorkingSet::bytes() const noexcept { return blocks_.size() * sizeof(Block); }

}  // namespace self_e
