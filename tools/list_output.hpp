// How `self-e list` shows the VMs: JSON for programs, a table for people.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "self_e/control.hpp"

namespace self_e::tool {

// A VM as the module lists it, plus what /proc adds.
struct ListedVm {
    VmDescription vm;
    std::optional<std::string> guest_name;  // QEMU's -name, when it is QEMU
};

// Keys (outside checks rely on them; keep them stable):
//   {"vms": [{vm_id, pid, comm, guest_name (string or null), nr_vcpus,
//             memory_bytes (address space 0), readers, events, dropped,
//             memslots: [{slot, as, base_gfn, npages, hva, flags}]}]}
nlohmann::ordered_json list_to_json(const std::vector<ListedVm>& vms);

// One line per VM under a header; memory with a binary unit.
std::string list_to_text(const std::vector<ListedVm>& vms);

// "512 KiB", "32.0 MiB", "4.00 GiB": three significant digits at most.
std::string format_bytes(std::uint64_t bytes);

}  // namespace self_e::tool
