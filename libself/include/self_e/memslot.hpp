// A KVM memslot as the module reports it (SELF_E_IOC_GET_VM, netlink): the
// one value type both the device and the control client hand out.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace self_e {

struct Memslot {
    std::uint64_t base_gfn = 0;
    std::uint64_t npages = 0;
    std::uint64_t hva = 0;  // host virtual address of base_gfn
    std::uint32_t id = 0;   // slot id | (address space << 15), as KVM numbers it
    std::uint32_t flags = 0;  // KVM_MEM_*

    std::uint32_t slot() const noexcept { return id & 0x7fff; }
    // 0 is guest RAM; 1 is x86's SMM view of it (the same memory again).
    std::uint32_t address_space() const noexcept { return id >> 15; }
    std::uint64_t bytes() const noexcept { return npages * kPageSize; }
    bool contains(std::uint64_t gfn) const noexcept { return gfn - base_gfn < npages; }

    static constexpr std::uint64_t kPageSize = 4096;  // gfns are 4 KiB frames (uapi)
};

// Guest memory in bytes: the slots of address space 0 only, so SMM's alias
// of the same RAM is not counted twice.
std::uint64_t guest_memory_bytes(std::span<const Memslot> slots) noexcept;

// The host virtual address of gfn, if a slot of address space 0 holds it.
std::optional<std::uint64_t> gfn_to_hva(std::span<const Memslot> slots, std::uint64_t gfn) noexcept;

}  // namespace self_e
