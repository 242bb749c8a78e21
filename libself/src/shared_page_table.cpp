#include "self_e/shared_page_table.hpp"

#include <algorithm>

namespace self_e {

void SharedPageTable::make_directory()
{
    blocks_.resize((npages_ + kBlockMask) >> kBlockShift);
}

std::uint32_t SharedPageTable::take_chunk()
{
    if (!free_chunks_.empty()) {
        const std::uint32_t chunk = free_chunks_.back();
        free_chunks_.pop_back();
        return chunk;
    }
    // At most one chunk per block: the index fits, as blocks_ is indexed by
    // a page index over 32 and slots are far smaller than 2^37 pages.
    const auto chunk = static_cast<std::uint32_t>(chunks_.size());
    if (free_chunks_.capacity() < chunks_.size() + 1)
        free_chunks_.reserve(std::max<std::size_t>(64, (chunks_.size() + 1) * 2));
    chunks_.emplace_back();
    return chunk;
}

std::size_t SharedPageTable::bytes() const noexcept
{
    return huge_pages::footprint(blocks_.capacity() * sizeof(Block)) +
           huge_pages::footprint(chunks_.capacity() * sizeof(Chunk)) +
           free_chunks_.capacity() * sizeof(std::uint32_t);
}

}  // namespace self_e
