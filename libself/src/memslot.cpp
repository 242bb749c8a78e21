#include "self_e/memslot.hpp"

namespace self_e {

std::uint64_t guest_memory_bytes(std::span<const Memslot> slots) noexcept
{
    std::uint64_t total = 0;
    for (const Memslot& s : slots)
        if (s.address_space() == 0)
            total += s.bytes();
    return total;
}

std::optional<std::uint64_t> gfn_to_hva(std::span<const Memslot> slots, std::uint64_t gfn) noexcept
{
    for (const Memslot& s : slots)
        if (s.address_space() == 0 && s.contains(gfn))
            return s.hva + (gfn - s.base_gfn) * Memslot::kPageSize;
    return std::nullopt;
}

}  // namespace self_e
