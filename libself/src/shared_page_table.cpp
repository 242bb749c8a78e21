#include "self_e/shared_page_table.hpp"

#include <algorithm>

namespace self_e {

void SharedPageTable::make_directory()
{
    chunk_of_.assign((npages_ + kRegionMask) >> kRegionShift, kNoChunk);
    present_.assign((npages_ + 63) / 64, 0);
}

std::uint32_t SharedPageTable::take_chunk()
{
    if (!free_chunks_.empty()) {
        const std::uint32_t chunk = free_chunks_.back();
        free_chunks_.pop_back();
        return chunk;
    }
    // At most one chunk per region: the index fits, as slots are far
    // smaller than 2^40 pages.
    const auto chunk = static_cast<std::uint32_t>(chunks_.size());
    if (free_chunks_.capacity() < chunks_.size() + 1)
        free_chunks_.reserve(std::max<std::size_t>(64, (chunks_.size() + 1) * 2));
    chunks_.emplace_back();
    return chunk;
}

std::size_t SharedPageTable::bytes() const noexcept
{
    return chunk_of_.capacity() * sizeof(std::uint32_t) + present_.capacity() * sizeof(std::uint64_t) +
           huge_pages::footprint(chunks_.capacity() * sizeof(Chunk)) +
           free_chunks_.capacity() * sizeof(std::uint32_t);
}

}  // namespace self_e
