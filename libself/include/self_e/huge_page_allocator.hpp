// An allocator for the aggregator's big tables (page words, hash-map slots)
// that asks for transparent huge pages. Lookups land on random places of
// tables of tens of MiB, so with 4 KiB pages nearly every one also misses
// the TLB; 2 MiB pages take most of those page walks away (KSM events 10-30%
// faster in aggregator_bench). Blocks of at least kHugeBytes are mapped on
// their own, 2 MiB aligned, with madvise(MADV_HUGEPAGE) (THP "madvise" mode
// is Debian's default); smaller ones come from std::allocator. The cost: up
// to 2 MiB of a block's last huge page that the table does not use
// (footprint(), which the tables' bytes() report).
#pragma once

#include <cstddef>
#include <memory>

namespace self_e {

namespace huge_pages {
inline constexpr std::size_t kHugeBytes = std::size_t{2} << 20;
// bytes >= kHugeBytes: a mapping of bytes rounded up to kHugeBytes, aligned
// to kHugeBytes, huge pages advised. Throws std::bad_alloc.
void* map(std::size_t bytes);
void unmap(void* p, std::size_t bytes) noexcept;
// bytes rounded up to a multiple of kHugeBytes (0 when that overflows).
constexpr std::size_t rounded_up(std::size_t bytes) noexcept
{
    return (bytes + kHugeBytes - 1) & ~(kHugeBytes - 1);
}
// The memory a block of bytes takes: rounded up to kHugeBytes when mapped.
constexpr std::size_t footprint(std::size_t bytes) noexcept
{
    return bytes < kHugeBytes ? bytes : rounded_up(bytes);
}
}  // namespace huge_pages

template <typename T>
class HugePageAllocator {
public:
    using value_type = T;

    HugePageAllocator() = default;
    template <typename U>
    HugePageAllocator(const HugePageAllocator<U>&) noexcept
    {
    }

    T* allocate(std::size_t n)
    {
        if (n * sizeof(T) < huge_pages::kHugeBytes)
            return std::allocator<T>().allocate(n);
        return static_cast<T*>(huge_pages::map(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept
    {
        if (n * sizeof(T) < huge_pages::kHugeBytes)
            std::allocator<T>().deallocate(p, n);
        else
            huge_pages::unmap(p, n * sizeof(T));
    }

    template <typename U>
    friend bool operator==(const HugePageAllocator&, const HugePageAllocator<U>&) noexcept
    {
        return true;  // stateless: any one frees what another allocated
    }
};

}  // namespace self_e
