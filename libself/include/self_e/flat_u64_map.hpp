// A hash map from 64-bit keys (gfns, pfns) to small values, in one flat
// array: open addressing with linear probing and backward-shift deletion, so
// there are no tombstones and no allocation per entry. A report builds the
// KSM pages in one (a lookup per shared page); std::unordered_map's node per
// entry costs an allocation and a cache miss more each time.
//
// The key ~0 marks an empty slot and cannot be stored (it is SELF_E_GFN_NONE;
// no frame has that number either).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "self_e/huge_page_allocator.hpp"
#include "self_e/prefetch.hpp"

namespace self_e {

template <typename Value>
class FlatU64Map {
public:
    static constexpr std::uint64_t kNoKey = ~std::uint64_t{0};

    FlatU64Map() { rehash(kMinSlots); }

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    // Bytes held, for the memory figures.
    std::size_t bytes() const noexcept { return huge_pages::footprint(slots_.capacity() * sizeof(Slot)); }

    Value* find(std::uint64_t key) noexcept
    {
        for (std::size_t i = home(key);; i = (i + 1) & mask_) {
            if (slots_[i].key == key)
                return &slots_[i].value;
            if (slots_[i].key == kNoKey)
                return nullptr;
        }
    }
    const Value* find(std::uint64_t key) const noexcept
    {
        return const_cast<FlatU64Map*>(this)->find(key);
    }

    // Starts loading key's home slot (and the next line, which a slot or
    // its probe run may reach into): callers that know their keys ahead
    // overlap the misses of several lookups.
    void prefetch(std::uint64_t key) const noexcept
    {
        const Slot* s = &slots_[home(key)];
        prefetch_for_write(s);
        prefetch_for_write(reinterpret_cast<const char*>(s) + 64);
    }

    // The value of key, value-initialised first if key was absent; second is
    // true when it was. key must not be kNoKey.
    std::pair<Value*, bool> try_emplace(std::uint64_t key)
    {
        // Load factor at most 1/2: a miss (every insert) probes 2.5 slots
        // on average, against 8.5 at 3/4, measured 2x slower in all.
        if ((size_ + 1) * 2 > slots_.size())
            rehash(slots_.size() * 2);
        std::size_t i = home(key);
        for (; slots_[i].key != kNoKey; i = (i + 1) & mask_)
            if (slots_[i].key == key)
                return {&slots_[i].value, false};
        slots_[i].key = key;
        slots_[i].value = Value{};
        ++size_;
        return {&slots_[i].value, true};
    }

    // Removes key; false when it was absent.
    bool erase(std::uint64_t key) noexcept
    {
        std::size_t i = home(key);
        for (; slots_[i].key != key; i = (i + 1) & mask_)
            if (slots_[i].key == kNoKey)
                return false;
        // Shift back later entries of the probe run that would otherwise be
        // cut off from their home slot by the hole.
        for (std::size_t j = (i + 1) & mask_; slots_[j].key != kNoKey; j = (j + 1) & mask_) {
            const std::size_t h = home(slots_[j].key);
            // j may move to i when its home is not in (i, j] (cyclically).
            if (((j - h) & mask_) >= ((j - i) & mask_)) {
                slots_[i] = std::move(slots_[j]);
                i = j;
            }
        }
        slots_[i].key = kNoKey;
        slots_[i].value = Value{};
        --size_;
        return true;
    }

    void clear()
    {
        slots_.clear();
        size_ = 0;
        rehash(kMinSlots);
    }

    // fn(key, value&) for every entry, in no particular order. fn must not
    // insert or erase.
    template <typename Fn>
    void for_each(Fn&& fn)
    {
        for (Slot& s : slots_)
            if (s.key != kNoKey)
                fn(s.key, s.value);
    }
    template <typename Fn>
    void for_each(Fn&& fn) const
    {
        for (const Slot& s : slots_)
            if (s.key != kNoKey)
                fn(s.key, s.value);
    }

private:
    static constexpr std::size_t kMinSlots = 16;

    struct Slot {
        std::uint64_t key = kNoKey;
        Value value{};
    };

    // Fibonacci hashing: gfns and pfns come in runs, which the multiply
    // spreads over the table; the top bits are the best mixed.
    std::size_t home(std::uint64_t key) const noexcept
    {
        return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_);
    }

    void rehash(std::size_t nr_slots)
    {
        Slots old = std::exchange(slots_, Slots(nr_slots));
        mask_ = nr_slots - 1;
        shift_ = 64 - std::countr_zero(nr_slots);
        for (Slot& s : old) {
            if (s.key == kNoKey)
                continue;
            std::size_t i = home(s.key);
            while (slots_[i].key != kNoKey)
                i = (i + 1) & mask_;
            slots_[i] = std::move(s);
        }
    }

    using Slots = std::vector<Slot, HugePageAllocator<Slot>>;
    Slots slots_;
    std::size_t size_ = 0;
    std::size_t mask_ = 0;
    int shift_ = 64;
};

}  // namespace self_e
