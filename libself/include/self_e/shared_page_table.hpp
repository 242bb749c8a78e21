// The shared pages of one guest-RAM memslot, by page index in the slot:
// which KSM page (or the zero page) each maps and since when.
//
// Kept in page order, not hashed: ksmd scans a VM's memory page after page,
// and what it shares (a common image, free memory, page cache of the same
// files) comes in runs. So records go by 32-page block: a block with any
// shared page has a chunk of 32 records, one per page, found through a
// small dense directory (8 bytes a block: a quarter byte a page, made with
// the slot's first shared page) that also says which of them are shared. A run of merges fills one chunk after
// another, and a lookup is a directory entry (a few KiB per GiB: in cache)
// and the record. The hash map keyed by gfn this replaced put every record
// of a run on another cache line, and grew by rehashing.
//
// Memory: nothing while no page is shared; then 0.25 bytes a page, plus 512
// bytes per block with a shared page:
// 16 bytes a shared page when a block's pages are all shared, 512 when a
// page is the only shared one of its block. Chunks freed when their last
// page leaves are kept for the next block that needs one.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "self_e/huge_page_allocator.hpp"

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
        if (blocks_.empty())
            return nullptr;
        const Block& b = blocks_[index >> kBlockShift];
        if (!(b.present & bit(index)))
            return nullptr;
        return &chunks_[b.chunk][index & kBlockMask];
    }
    const SharedPage* find(std::uint64_t index) const noexcept
    {
        return const_cast<SharedPageTable*>(this)->find(index);
    }

    // Page index shares page now: its record is set, or overwritten.
    void set(std::uint64_t index, const SharedPage& page)
    {
        if (blocks_.empty()) [[unlikely]]
            make_directory();
        Block& b = blocks_[index >> kBlockShift];
        if (!(b.present & bit(index))) {
            if (b.present == 0)
                b.chunk = take_chunk();
            b.present |= bit(index);
            ++size_;
        }
        chunks_[b.chunk][index & kBlockMask] = page;
    }

    // Page index shares nothing now; false when it shared nothing before.
    bool erase(std::uint64_t index) noexcept
    {
        if (blocks_.empty())
            return false;
        Block& b = blocks_[index >> kBlockShift];
        if (!(b.present & bit(index)))
            return false;
        b.present &= ~bit(index);
        --size_;
        if (b.present == 0)
            free_chunks_.push_back(b.chunk);  // reserved: cannot throw
        return true;
    }

    // Starts loading index's record, when it has one: for callers that know
    // their pages a few events ahead. The directory is small and hot.
    void prefetch(std::uint64_t index) const noexcept
    {
        if (blocks_.empty())
            return;
        const Block& b = blocks_[index >> kBlockShift];
        if (b.present & bit(index))
            __builtin_prefetch(&chunks_[b.chunk][index & kBlockMask], 1);
    }

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    // Bytes held: the directory and every chunk, free ones included.
    std::size_t bytes() const noexcept;

    // fn(index, const SharedPage&) for every shared page, in page order.
    template <typename Fn>
    void for_each(Fn&& fn) const
    {
        for (std::size_t i = 0; i < blocks_.size(); ++i) {
            const Block& b = blocks_[i];
            for (std::uint32_t bits = b.present; bits; bits &= bits - 1) {
                const auto at = static_cast<unsigned>(std::countr_zero(bits));
                fn((std::uint64_t{i} << kBlockShift) + at, chunks_[b.chunk][at]);
            }
        }
    }

private:
    static constexpr unsigned kBlockShift = 5;
    static constexpr std::uint64_t kBlockMask = (1u << kBlockShift) - 1;

    struct Block {
        std::uint32_t chunk = 0;    // chunks_ index, when present is not 0
        std::uint32_t present = 0;  // bit i: page i of the block is shared
    };
    using Chunk = std::array<SharedPage, 1u << kBlockShift>;

    static std::uint32_t bit(std::uint64_t index) noexcept { return std::uint32_t{1} << (index & kBlockMask); }
    void make_directory();
    // A free chunk, or a new one.
    std::uint32_t take_chunk();

    std::uint64_t npages_;
    std::vector<Block, HugePageAllocator<Block>> blocks_;
    std::vector<Chunk, HugePageAllocator<Chunk>> chunks_;
    // Chunks no block uses. Its capacity is kept at least chunks_.size(),
    // so that erase() never allocates.
    std::vector<std::uint32_t> free_chunks_;
    std::size_t size_ = 0;
};

}  // namespace self_e
