// What the aggregator knows about one guest page, packed in 16 bits so a
// 4 GiB guest costs 2 MiB: the page's state, whether it was ever volatile,
// the level KVM last mapped it with, and for a COW-broken page how long it
// had stayed shared (log2 buckets). Which KSM page a shared page maps is
// kept apart, only for shared pages (vm_pages.hpp).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace self_e {

enum class PageState : std::uint8_t {
    untouched,   // no host page seen since attach (not present at seed)
    private_page,  // mapped, on no KSM page nor the zero page ("private")
    ksm,         // mapped to a KSM page
    zero,        // merged with the zero page by KSM (or the zero page at seed)
    cow_broken,  // private again after a write broke its sharing
    unmapped,    // had a host page; none now (UNMAP, or swapped at seed)
};
inline constexpr std::size_t kPageStates = 6;

std::string_view page_state_name(PageState s) noexcept;

inline constexpr bool is_shared(PageState s) noexcept
{
    return s == PageState::ksm || s == PageState::zero;
}
// Pages that have had a host page at some time since attach (or at seed).
inline constexpr bool is_touched(PageState s) noexcept { return s != PageState::untouched; }

// The packed form: bits 0-2 state, bit 3 volatile, bits 4-5 KVM mapping level
// (0 4K, 1 2M, 2 1G, as in SELF_E_F_LEVEL_*), bits 8-13 the shared-duration
// bucket of the last COW break (0: unknown; b: bit_width(µs) == b - 1).
using PageWord = std::uint16_t;

namespace page_word {
inline constexpr PageWord kStateMask = 0x7;
inline constexpr PageWord kVolatile = 0x8;
inline constexpr int kLevelShift = 4;
inline constexpr PageWord kLevelMask = 0x30;
inline constexpr int kBucketShift = 8;
inline constexpr PageWord kBucketMask = 0x3f00;
inline constexpr unsigned kMaxBucket = 63;

inline constexpr PageState state(PageWord w) noexcept { return PageState(w & kStateMask); }
inline constexpr PageWord with_state(PageWord w, PageState s) noexcept
{
    return PageWord((w & ~kStateMask) | PageWord(s));
}
inline constexpr bool is_volatile(PageWord w) noexcept { return w & kVolatile; }
inline constexpr unsigned level(PageWord w) noexcept { return (w & kLevelMask) >> kLevelShift; }
inline constexpr PageWord with_level(PageWord w, unsigned lvl) noexcept
{
    return PageWord((w & ~kLevelMask) | ((lvl << kLevelShift) & kLevelMask));
}

// The bucket of a shared duration: 1 + bit_width(µs), at most kMaxBucket, so
// bucket b > 1 holds durations in [2^(b-2), 2^(b-1)) µs and 1 holds < 1 µs.
inline constexpr unsigned duration_bucket(std::uint64_t ns) noexcept
{
    const unsigned b = 1 + static_cast<unsigned>(std::bit_width(ns / 1000));
    return b < kMaxBucket ? b : kMaxBucket;
}
inline constexpr unsigned bucket(PageWord w) noexcept { return (w & kBucketMask) >> kBucketShift; }
inline constexpr PageWord with_bucket(PageWord w, unsigned b) noexcept
{
    return PageWord((w & ~kBucketMask) | ((b << kBucketShift) & kBucketMask));
}
}  // namespace page_word

}  // namespace self_e
