// VM processes without the module: those holding a KVM VM file descriptor
// (/proc/PID/fd/N -> "anon_inode:kvm-vm"), as QEMU and minivmm do.
#pragma once

#include <sys/types.h>

#include <vector>

#include "self_e/procfs.hpp"

namespace self_e::tool {

// Every such process, by pid. Processes whose fds cannot be read (gone, or
// not ours to look at) are skipped.
std::vector<pid_t> find_vm_processes(const ProcFs& proc);

}  // namespace self_e::tool
