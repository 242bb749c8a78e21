#include "self_e/huge_page_allocator.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <new>

namespace self_e::huge_pages {

void* map(std::size_t bytes)
{
    const std::size_t size = rounded_up(bytes);
    if (size < bytes)
        throw std::bad_alloc();
    // Map one huge page more than needed and cut the ends off at 2 MiB
    // boundaries: mmap alone aligns to 4 KiB only.
    void* const raw = ::mmap(nullptr, size + kHugeBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        throw std::bad_alloc();
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (start + kHugeBytes - 1) & ~std::uintptr_t{kHugeBytes - 1};
    if (aligned > start)
        ::munmap(raw, aligned - start);
    if (const std::size_t tail = start + size + kHugeBytes - (aligned + size); tail > 0)
        ::munmap(reinterpret_cast<void*>(aligned + size), tail);
    void* const p = reinterpret_cast<void*>(aligned);
    ::madvise(p, size, MADV_HUGEPAGE);  // a hint: without THP, plain pages
    return p;
}

void unmap(void* p, std::size_t bytes) noexcept
{
    ::munmap(p, rounded_up(bytes));
}

}  // namespace self_e::huge_pages
