#include "self_e/vm_pages.hpp"

#include <algorithm>

#include "hex.hpp"
#include "self_e/error.hpp"

namespace self_e {

namespace {

std::string vm_name(std::uint16_t vm_id)
{
    return "vm " + std::to_string(vm_id) + ": ";
}

std::string describe(const GuestMemslot& s)
{
    return "memslot " + std::to_string(s.id) + " (gfn " + detail::hex(s.base_gfn) + ", " +
           std::to_string(s.npages) + " pages)";
}

}  // namespace

std::vector<GuestMemslot> guest_ram_slots(std::span<const Memslot> slots)
{
    std::vector<GuestMemslot> out;
    for (const Memslot& s : slots)
        if (s.address_space() == 0)
            out.push_back({static_cast<std::uint16_t>(s.slot()), s.base_gfn, s.npages, s.hva});
    return out;
}

void VmPages::check_free(const GuestMemslot& slot, std::size_t ignore) const
{
    if (slot.npages == 0 || slot.base_gfn + slot.npages < slot.base_gfn)
        throw Error(ErrorKind::invalid_argument,
                    vm_name(vm_id_) + describe(slot) + " is empty or wraps around");
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (i == ignore)
            continue;
        const GuestMemslot& o = slots_[i].info;
        if (o.id == slot.id)
            throw Error(ErrorKind::invalid_argument,
                        vm_name(vm_id_) + describe(slot) + " reuses the id of " + describe(o));
        if (slot.base_gfn < o.base_gfn + o.npages && o.base_gfn < slot.base_gfn + slot.npages)
            throw Error(ErrorKind::invalid_argument,
                        vm_name(vm_id_) + describe(slot) + " overlaps " + describe(o));
    }
}

void VmPages::add_slot(const GuestMemslot& slot)
{
    check_free(slot, SIZE_MAX);
    Slot s{slot, decltype(Slot::words)(slot.npages, PageWord(PageState::untouched)), SharedPageTable(slot.npages)};
    const auto at = std::upper_bound(slots_.begin(), slots_.end(), slot.base_gfn,
                                     [](std::uint64_t gfn, const Slot& o) { return gfn < o.info.base_gfn; });
    slots_.insert(at, std::move(s));
    total_pages_ += slot.npages;
    by_state_[std::size_t(PageState::untouched)] += slot.npages;
    cache_ = {};
}

std::size_t VmPages::slot_index(std::uint16_t slot_id) const
{
    for (std::size_t i = 0; i < slots_.size(); ++i)
        if (slots_[i].info.id == slot_id)
            return i;
    throw Error(ErrorKind::invalid_argument, vm_name(vm_id_) + "no memslot " + std::to_string(slot_id));
}

void VmPages::remove_slot(std::uint16_t slot_id)
{
    const std::size_t i = slot_index(slot_id);
    const GuestMemslot& info = slots_[i].info;
    for (PageWord w : slots_[i].words) {
        --by_state_[std::size_t(page_word::state(w))];
        volatile_pages_ -= page_word::is_volatile(w);
    }
    total_pages_ -= info.npages;
    slots_.erase(slots_.begin() + static_cast<std::ptrdiff_t>(i));  // its shared-page records with it
    cache_ = {};
}

void VmPages::move_slot(std::uint16_t slot_id, std::uint64_t new_base_gfn)
{
    const std::size_t i = slot_index(slot_id);
    GuestMemslot moved = slots_[i].info;
    moved.base_gfn = new_base_gfn;
    check_free(moved, i);

    // Words and shared-page records are by page of the slot: they move as they are.
    Slot s = std::move(slots_[i]);
    s.info = moved;
    slots_.erase(slots_.begin() + static_cast<std::ptrdiff_t>(i));
    const auto at = std::upper_bound(slots_.begin(), slots_.end(), new_base_gfn,
                                     [](std::uint64_t gfn, const Slot& o) { return gfn < o.info.base_gfn; });
    slots_.insert(at, std::move(s));
    cache_ = {};
}

std::vector<GuestMemslot> VmPages::slots() const
{
    std::vector<GuestMemslot> out;
    for (const Slot& s : slots_)
        out.push_back(s.info);
    return out;
}

const GuestMemslot* VmPages::find_slot(std::uint16_t slot_id) const noexcept
{
    for (const Slot& s : slots_)
        if (s.info.id == slot_id)
            return &s.info;
    return nullptr;
}

PageWord* VmPages::find_word(std::uint64_t gfn) noexcept
{
    // Few slots (RAM below and above the PCI hole, a few more): a scan.
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (gfn - slots_[i].info.base_gfn < slots_[i].info.npages) {
            cache_ = {slots_[i].info.base_gfn, slots_[i].info.npages, slots_[i].words.data(), &slots_[i].shared};
            return &slots_[i].words[gfn - slots_[i].info.base_gfn];
        }
    }
    return nullptr;
}

PageWord VmPages::find_word_of(std::uint64_t gfn) const noexcept
{
    for (const Slot& s : slots_)
        if (gfn - s.info.base_gfn < s.info.npages)
            return s.words[gfn - s.info.base_gfn];
    return PageWord(PageState::untouched);
}

std::size_t VmPages::bytes() const noexcept
{
    std::size_t b = slots_.capacity() * sizeof(Slot) + shared_bytes();
    for (const Slot& s : slots_)
        b += huge_pages::footprint(s.words.capacity() * sizeof(PageWord));
    return b + working_set.bytes();
}

std::size_t VmPages::shared_bytes() const noexcept
{
    std::size_t b = 0;
    for (const Slot& s : slots_)
        b += s.shared.bytes();
    return b;
}

}  // namespace self_e
