#include "notification_output.hpp"

#include <fmt/format.h>

namespace self_e::tool {

namespace {

template <class... Fs>
struct Overloaded : Fs... {
    using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace

std::string notification_to_text(const Notification& note)
{
    return std::visit(
        Overloaded{
            [](const VmCreated& n) { return fmt::format("vm_new vm={} pid={} comm={}\n", n.vm_id, n.pid, n.comm); },
            [](const VmDestroyed& n) {
                return fmt::format("vm_del vm={} pid={} comm={}\n", n.vm_id, n.pid, n.comm);
            },
            [](const MemslotChanged& n) {
                return fmt::format("memslot vm={} slot={} as={} gfn={:#x} pages={} hva={:#x} change={}\n",
                                   n.vm_id, n.slot.slot(), n.slot.address_space(), n.slot.base_gfn,
                                   n.slot.npages, n.slot.hva, memslot_change_name(n.change));
            },
            [](const RingOverflow& n) { return fmt::format("overflow vm={} dropped={}\n", n.vm_id, n.dropped); },
        },
        note);
}

nlohmann::ordered_json notification_to_json(const Notification& note)
{
    nlohmann::ordered_json j;
    std::visit(Overloaded{
                   [&](const VmCreated& n) {
                       j["note"] = "vm_new";
                       j["vm"] = n.vm_id;
                       j["pid"] = n.pid;
                       j["comm"] = n.comm;
                   },
                   [&](const VmDestroyed& n) {
                       j["note"] = "vm_del";
                       j["vm"] = n.vm_id;
                       j["pid"] = n.pid;
                       j["comm"] = n.comm;
                   },
                   [&](const MemslotChanged& n) {
                       j["note"] = "memslot";
                       j["vm"] = n.vm_id;
                       j["slot"] = n.slot.slot();
                       j["as"] = n.slot.address_space();
                       j["gfn"] = n.slot.base_gfn;
                       j["pages"] = n.slot.npages;
                       j["hva"] = n.slot.hva;
                       j["change"] = memslot_change_name(n.change);
                   },
                   [&](const RingOverflow& n) {
                       j["note"] = "overflow";
                       j["vm"] = n.vm_id;
                       j["dropped"] = n.dropped;
                   },
               },
               note);
    return j;
}

}  // namespace self_e::tool
