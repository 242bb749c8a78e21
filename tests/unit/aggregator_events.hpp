// Synthetic events for the aggregator tests: one builder per event type,
// with the fields the module fills for it.
#pragma once

#include <cstdint>

#include "self_e/event.hpp"

namespace self_e::test {

inline Event event(std::uint8_t type, std::uint16_t vm, std::uint64_t ts, std::uint64_t gfn,
                   std::uint64_t arg, std::uint8_t flags = 0)
{
    Event ev{};
    ev.type = type;
    ev.flags = flags;
    ev.vcpu = SELF_E_VCPU_NONE;
    ev.vm_id = vm;
    ev.ts_ns = ts;
    ev.gfn = gfn;
    ev.arg = arg;
    return ev;
}

inline Event vm_create(std::uint16_t vm, std::uint64_t ts, std::uint32_t pid)
{
    return event(SELF_E_EV_VM_CREATE, vm, ts, SELF_E_GFN_NONE, pid);
}
inline Event vm_destroy(std::uint16_t vm, std::uint64_t ts)
{
    return event(SELF_E_EV_VM_DESTROY, vm, ts, SELF_E_GFN_NONE, 0);
}
inline Event memslot(std::uint16_t vm, std::uint64_t ts, std::uint8_t change, std::uint16_t slot,
                     std::uint64_t base_gfn, std::uint64_t npages, unsigned address_space = 0)
{
    Event ev = event(SELF_E_EV_MEMSLOT, vm, ts, base_gfn, npages, change);
    ev.vcpu = static_cast<std::uint16_t>(slot | (address_space << 15));
    return ev;
}
inline Event fault(std::uint16_t vm, std::uint64_t ts, std::uint64_t gfn, std::uint64_t pfn,
                   std::uint8_t flags = SELF_E_F_WRITE | SELF_E_F_WRITABLE)
{
    Event ev = event(SELF_E_EV_FAULT, vm, ts, gfn, pfn, flags);
    ev.vcpu = 0;
    return ev;
}
inline Event merge(std::uint16_t vm, std::uint64_t ts, std::uint64_t gfn, std::uint64_t kpfn,
                   bool became_ksm_page = false)
{
    return event(SELF_E_EV_KSM_MERGE, vm, ts, gfn, kpfn, became_ksm_page ? SELF_E_F_KSM_NEW : 0);
}
inline Event zero_merge(std::uint16_t vm, std::uint64_t ts, std::uint64_t gfn, std::uint64_t zero_pfn)
{
    return event(SELF_E_EV_KSM_ZERO, vm, ts, gfn, zero_pfn);
}
inline Event cow_break(std::uint16_t vm, std::uint64_t ts, std::uint64_t gfn, std::uint64_t left_pfn)
{
    return event(SELF_E_EV_COW_BREAK, vm, ts, gfn, left_pfn);
}
inline Event unmerge(std::uint16_t vm, std::uint64_t ts, std::uint64_t gfn, std::uint64_t left_pfn)
{
    return event(SELF_E_EV_UNMERGE, vm, ts, gfn, left_pfn);
}
inline Event unmap(std::uint16_t vm, std::uint64_t ts, std::uint64_t gfn, std::uint64_t pages = 1)
{
    return event(SELF_E_EV_UNMAP, vm, ts, gfn, pages);
}
inline Event migrate(std::uint16_t vm, std::uint64_t ts, std::uint64_t gfn, std::uint64_t new_pfn)
{
    return event(SELF_E_EV_KSM_MIGRATE, vm, ts, gfn, new_pfn);
}
inline Event ksm_free(std::uint16_t vm, std::uint64_t ts, std::uint64_t gfn, std::uint64_t kpfn,
                      std::uint8_t flags = 0)
{
    return event(SELF_E_EV_KSM_FREE, vm, ts, gfn, kpfn, flags);
}
inline Event access(std::uint16_t vm, std::uint64_t ts, std::uint64_t first_gfn, std::uint64_t bitmap)
{
    return event(SELF_E_EV_ACCESS, vm, ts, first_gfn, bitmap);
}
inline Event sample(std::uint16_t vm, std::uint64_t ts, std::uint64_t first_gfn, std::uint64_t pages,
                    std::uint8_t flags = SELF_E_F_SAMPLE_END)
{
    return event(SELF_E_EV_SAMPLE, vm, ts, first_gfn, pages, flags);
}
inline Event lost(std::uint16_t vm, std::uint64_t ts, std::uint64_t count)
{
    return event(SELF_E_EV_LOST, vm, ts, SELF_E_GFN_NONE, count);
}

}  // namespace self_e::test
