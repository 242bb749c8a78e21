// What QEMU's command line says about a VM, for people reading `self-e list`.
#pragma once

#include <optional>
#include <span>
#include <string>

namespace self_e {

// True when argv[0] names a QEMU binary (qemu-system-x86_64, qemu-kvm, ...).
bool is_qemu_command(std::span<const std::string> argv);

// The guest's name from QEMU's "-name [guest=]NAME[,debug-threads=on...]"
// (",," is a literal comma, QEMU's escape), or nullopt when there is none.
std::optional<std::string> qemu_guest_name(std::span<const std::string> argv);

}  // namespace self_e
