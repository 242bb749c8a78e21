#include "self_e/working_set.hpp"

#include <algorithm>
#include <array>
#include <bit>

namespace self_e {

WorkingSet::Block& WorkingSet::block(std::uint64_t gfn)
{
    const std::uint64_t index = gfn >> kBlockShift;
    if (index == cached_index_) [[likely]]
        return *cached_;
    return switch_block(index);
}

WorkingSet::Block& WorkingSet::switch_block(std::uint64_t index)
{
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

void WorkingSet::on_access_elsewhere(const Event& ev)
{
    const std::uint64_t bits = ev.arg;
    if (bits == 0)
        return;
    const std::uint64_t offset = ev.gfn & (kBlockPages - 1);
    if (offset + 64 <= kBlockPages) {
        // As on_access() does, once the block is the cached one.
        block(ev.gfn);
        on_access(ev);
        return;
    }
    for (std::uint64_t b = bits; b; b &= b - 1) {
        const std::uint64_t gfn = ev.gfn + static_cast<unsigned>(std::countr_zero(b));
        const std::uint64_t i = gfn & (kBlockPages - 1);
        block(gfn).pending[i / 64] |= std::uint64_t{1} << (i % 64);
    }
}

void WorkingSet::on_sample(const Event& ev)
{
    std::uint64_t gfn = ev.gfn;
    const std::uint64_t end = ev.gfn + ev.arg;
    while (gfn < end) {
        Block& b = block(gfn);
        const std::uint64_t stop = std::min(end, (gfn | (kBlockPages - 1)) + 1);
        for (; gfn < stop; ++gfn) {
            const std::size_t i = gfn & (kBlockPages - 1);
            const std::uint64_t bit = std::uint64_t{1} << (i % 64);
            const bool accessed = (b.pending[i / 64] & bit) != 0;
            b.pending[i / 64] &= ~bit;
            b.history[i] = static_cast<std::uint8_t>((b.history[i] << 1) | accessed);
            std::uint8_t& age = b.age[i];
            if (accessed)
                age = 0;
            else if (age == kUnsampled)
                age = kNeverBase + 1;
            else if (age < kSeenMax || (age >= kNeverBase && age < kNeverMax))
                ++age;
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
    const std::uint8_t age = b->age[gfn & (kBlockPages - 1)];
    if (age > kSeenMax)
        return std::nullopt;
    return age;
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
            const std::uint8_t age = b->age[i];
            if (age == kUnsampled)
                continue;
            ++s.sampled_pages;
            if (age <= kSeenMax) {
                s.working_set_1 += age < 1;
                s.working_set_10 += age < 10;
                s.working_set_60 += age < 60;
                if (age >= kIdleSamplings)
                    ++s.idle_pages;
                else if (age >= 10)
                    ++s.cold_pages;
            } else if (age - kNeverBase >= int(kIdleSamplings)) {
                ++s.idle_pages;
            }
            s.hot_pages += (b->history[i] & hot_mask) == hot_mask;
        }
    }
    return s;
}

std::size_t WorkingSet::bytes() const noexcept { return blocks_.size() * sizeof(Block); }

}  // namespace self_e
