#include "self_e/working_set.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

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

namespace {

static_assert(std::endian::native == std::endian::little, "kPendingBytes puts byte i at bits 8i..8i+7");

// kPendingBytes[b]: in byte i, the pending bit when bit i of b is set.
constexpr std::array<std::uint64_t, 256> kPendingBytes = [] {
    std::array<std::uint64_t, 256> t{};
    for (unsigned b = 0; b < 256; ++b)
        for (unsigned i = 0; i < 8; ++i)
            if (b & (1u << i))
                t[b] |= std::uint64_t{0x80} << (8 * i);
    return t;
}();

}  // namespace

void WorkingSet::on_access(const Event& ev)
{
    std::uint64_t bits = ev.arg;
    if (bits == 0)
        return;
    static_assert(kPending == 0x80);
    // The record's 64 pages in one block (they are, but at a block's
    // edge): marked eight at a time, from a table, without a branch per
    // page (the bits are random: such branches mispredict).
    const std::uint64_t offset = ev.gfn & (kBlockPages - 1);
    if (offset + 64 <= kBlockPages) {
        std::uint8_t* history = &block(ev.gfn).history[offset];
        for (unsigned k = 0; k < 8; ++k, bits >>= 8) {
            std::uint64_t h;
            std::memcpy(&h, history + 8 * k, sizeof h);
            h |= kPendingBytes[bits & 0xff];
            std::memcpy(history + 8 * k, &h, sizeof h);
        }
        return;
    }
    for (; bits; bits &= bits - 1) {
        const std::uint64_t gfn = ev.gfn + static_cast<unsigned>(std::countr_zero(bits));
        block(gfn).history[gfn & (kBlockPages - 1)] |= kPending;
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
            const std::uint8_t h = b.history[i];
            const bool accessed = (h & kPending) != 0;
            b.history[i] = static_cast<std::uint8_t>(((h << 1) | accessed) & ~kPending);
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
