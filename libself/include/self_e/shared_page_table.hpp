// The shared pages of one guest-RAM memslot, by page index in the slot:
// which KSM page (or the zero page) each maps and since when.
//
// Kept in page order, not hashed: ksmd scans a VM's memory page after page,
// and what it shares (a common image, free memory, page cache of the same
// files) comes in runs. Records go by 256-page region: a region with any
// shared page has a 4 KiB chunk of 256 records, one per page, and a record's
// address follows from the page index and the region's chunk number alone.
// Those numbers (4 bytes a region: 16 KiB per 4 GiB of guest) stay in cache,
// so an event's record can be loaded ahead without waiting on a miss: the
// aggregator's look-ahead issues it with the page word's. A bitmap beside
// says which records are in use; only lookups read it, never the look-ahead.
//
// Memory: nothing while no page is shared; then 0.14 bytes a page (the
// chunk numbers and the bitmap), plus 4 KiB per region with a shared page:
// 16 bytes a guest page where sharing is everywhere (zero pages and a
// common image usually are), up to 4 KiB a shared page where it is rare and
// scattered. The hash map keyed by gfn this replaced took 48-96 bytes a
// shared page, on a random cache line each. Chunks freed when a region's
// last page leaves are kept for the next region that needs one.
#pragma once

#include <array>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "self_e/huge_page_allocator.hpp"
#include "self_e/prefetch.hpp"

namespace self_e {

// A shared page's KSM page (or the zero page) and when it merged.
struct SharedPage {
    std::uint64_t pfn : 62 = 0;
    std::uint64_t zero : 1 = 0;
    std::uint64_t merge_time_known : 1 = 0;  // 0 for pages found shared at seed
    std::uint64_t merged_ts = 0;             // ts_ns of the merge, when known
};
static_assert(sizeof(SharedPage) == 16);

class SharedPageTable {
public:
    // For pages [0, npages) of a slot.
    explicit SharedPageTable(std::uint64_t npages) noexcept : npages_(npages) {}

    // The record of page index, or nullptr when it is not shared.
    SharedPage* find(std::uint64_t index) noexcept
    {
        if (present_.empty() || !(present_[index / 64] & bit(index)))
            return nullptr;
        return record(index);
    }
    const SharedPage* find(std::uint64_t index) const noexcept
    {
        return const_cast<SharedPageTable*>(this)->find(index);
    }

    // The record of index, which shares a page now: find() without the
    // bitmap's test, a line of its own to load, for a caller that knows
    // from the page's state.
    SharedPage& record_of_shared(std::uint64_t index) noexcept
    {
        assert(find(index));
        return *record(index);
    }

    // Page index shares page now: its record is set, or overwritten.
    void set(std::uint64_t index, const SharedPage& page)
    {
        if (present_.empty()) [[unlikely]]
            make_directory();
        std::uint64_t& word = present_[index / 64];
        if (!(word & bit(index))) {
            std::uint32_t& chunk = chunk_of_[index >> kRegionShift];
            if (chunk == kNoChunk)
                chunk = take_chunk();
            word |= bit(index);
            ++size_;
        }
        *record(index) = page;
    }

    // Page index shares nothing now; false when it shared nothing before.
    bool erase(std::uint64_t index) noexcept
    {
        if (present_.empty() || !(present_[index / 64] & bit(index)))
            return false;
        std::uint64_t& word = present_[index / 64];
        word &= ~bit(index);
        --size_;
        // Shared pages come in runs: most leaves find a neighbour still in
        // their own word and need not look at the region's other three.
        if (word == 0 && region_empty(index >> kRegionShift)) {
            std::uint32_t& chunk = chunk_of_[index >> kRegionShift];
            free_chunks_.push_back(chunk);  // reserved: cannot throw
            chunk = kNoChunk;
        }
        return true;
    }

    // Starts loading where index's record is or would be, when its region
    // has records: for callers that know their pages a few events ahead.
    // Reads only the chunk number (hot), not whether the page is shared.
    void prefetch(std::uint64_t index) const noexcept
    {
        if (chunk_of_.empty())
            return;
        const std::uint32_t chunk = chunk_of_[index >> kRegionShift];
        if (chunk != kNoChunk)
            prefetch_for_write(&chunks_[chunk][index & kRegionMask]);
    }

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    // Bytes held: the chunk numbers, the bitmap and every chunk, free ones
    // included.
    std::size_t bytes() const noexcept;

    // fn(index, const SharedPage&) for every shared page, in page order.
    template <typename Fn>
    void for_each(Fn&& fn) const
    {
        for (std::size_t i = 0; i < present_.size(); ++i) {
            for (std::uint64_t bits = present_[i]; bits; bits &= bits - 1) {
                const std::uint64_t index = i * 64 + static_cast<unsigned>(std::countr_zero(bits));
                fn(index, *const_cast<SharedPageTable*>(this)->record(index));
            }
        }
    }

private:
    static constexpr unsigned kRegionShift = 8;
    static constexpr std::uint64_t kRegionMask = (1u << kRegionShift) - 1;
    static constexpr std::uint32_t kNoChunk = UINT32_MAX;
    using Chunk = std::array<SharedPage, 1u << kRegionShift>;

    static std::uint64_t bit(std::uint64_t index) noexcept { return std::uint64_t{1} << (index % 64); }
    // Index's place in its region's chunk, which must exist.
    SharedPage* record(std::uint64_t index) noexcept
    {
        return &chunks_[chunk_of_[index >> kRegionShift]][index & kRegionMask];
    }
    bool region_empty(std::uint64_t region) const noexcept
    {
        constexpr std::size_t kWords = Chunk().size() / 64;
        const std::uint64_t* words = &present_[region * kWords];
        std::uint64_t any = 0;
        for (std::size_t i = 0; i < kWords && region * kWords + i < present_.size(); ++i)
            any |= words[i];
        return any == 0;
    }
    void make_directory();
    // A free chunk, or a new one.
    std::uint32_t take_chunk();

    std::uint64_t npages_;
    std::vector<std::uint32_t> chunk_of_;  // by region: chunks_ index, or kNoChunk
    std::vector<std::uint64_t> present_;   // bit per page: shared, its record in use
    std::vector<Chunk, HugePageAllocator<Chunk>> chunks_;
    // Chunks no region uses. Its capacity is kept at least chunks_.size(),
    // so that erase() never allocates.
    std::vector<std::uint32_t> free_chunks_;
    std::size_t size_ = 0;
};

}  // namespace self_e
