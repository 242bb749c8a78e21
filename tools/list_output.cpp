#include "list_output.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

namespace self_e::tool {

nlohmann::ordered_json list_to_json(const std::vector<ListedVm>& vms)
{
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const ListedVm& listed : vms) {
        const VmDescription& vm = listed.vm;
        nlohmann::ordered_json j;
        j["vm_id"] = vm.vm_id;
        j["pid"] = vm.pid;
        j["comm"] = vm.comm;
        j["guest_name"] = listed.guest_name ? nlohmann::ordered_json(*listed.guest_name) : nullptr;
        j["nr_vcpus"] = vm.nr_vcpus;
        j["memory_bytes"] = vm.memory_bytes();
        j["readers"] = vm.readers;
        j["events"] = vm.events;
        j["dropped"] = vm.dropped;
        j["sampling"] = {{"interval_ms", vm.sample_interval_ms},
                         {"budget_pages", vm.sample_budget},
                         {"passes", vm.sample_passes},
                         {"ns", vm.sample_ns}};
        nlohmann::ordered_json slots = nlohmann::ordered_json::array();
        for (const Memslot& s : vm.memslots) {
            nlohmann::ordered_json js;
            js["slot"] = s.slot();
            js["as"] = s.address_space();
            js["base_gfn"] = s.base_gfn;
            js["npages"] = s.npages;
            js["hva"] = s.hva;
            js["flags"] = s.flags;
            slots.push_back(std::move(js));
        }
        j["memslots"] = std::move(slots);
        list.push_back(std::move(j));
    }
    nlohmann::ordered_json out;
    out["vms"] = std::move(list);
    return out;
}

std::string format_bytes(std::uint64_t bytes)
{
    static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < std::size(units)) {
        value /= 1024.0;
        ++unit;
    }
    if (unit == 0)
        return fmt::format("{} B", bytes);
    if (value >= 100.0 || value == static_cast<double>(static_cast<std::uint64_t>(value)))
        return fmt::format("{:.0f} {}", value, units[unit]);
    return fmt::format("{:.{}f} {}", value, value >= 10.0 ? 1 : 2, units[unit]);
}

std::string list_to_text(const std::vector<ListedVm>& vms)
{
    if (vms.empty())
        return "no VMs (self_e tracks VMs created while it is loaded)\n";
    // Columns sized to their widest cell, so names of any length line up.
    std::size_t name_width = 4, guest_width = 5;
    for (const ListedVm& l : vms) {
        name_width = std::max(name_width, l.vm.comm.size());
        guest_width = std::max(guest_width, l.guest_name ? l.guest_name->size() : 1);
    }
    fmt::memory_buffer out;
    fmt::format_to(std::back_inserter(out), "{:>5} {:>8} {:<{}} {:<{}} {:>5} {:>10} {:>7} {:>12} {:>9}\n",
                   "VM", "PID", "NAME", name_width, "GUEST", guest_width, "VCPUS", "MEMORY",
                   "READERS", "EVENTS", "DROPPED");
    for (const ListedVm& l : vms) {
        const VmDescription& vm = l.vm;
        fmt::format_to(std::back_inserter(out), "{:>5} {:>8} {:<{}} {:<{}} {:>5} {:>10} {:>7} {:>12} {:>9}\n",
                       vm.vm_id, vm.pid, vm.comm, name_width, l.guest_name.value_or("-"),
                       guest_width, vm.nr_vcpus, format_bytes(vm.memory_bytes()), vm.readers,
                       vm.events, vm.dropped);
    }
    return fmt::to_string(out);
}

}  // namespace self_e::tool
