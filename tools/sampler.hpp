// Where `self-e top` and `self-e export` get their VmSamples. With self_e.ko
// loaded, a LiveSampler follows every VM the module tracks through a Watcher
// (attach, seed from /proc, events), re-attaching as VMs come and go; without
// it, a ProcSampler takes a page snapshot of every VM process it finds in
// /proc each time it is asked. Both are used from one thread only.
#pragma once

#include <chrono>
#include <memory>

#include "self_e/device.hpp"
#include "self_e/procfs.hpp"
#include "self_e/sysfs.hpp"
#include "vm_sample.hpp"

namespace self_e::tool {

class Sampler {
public:
    virtual ~Sampler() = default;
    // Follows what happens for up to timeout: events into the aggregator,
    // VMs created and destroyed. Returns early on a signal.
    virtual void advance(std::chrono::milliseconds timeout) = 0;
    // The state now. Throws self_e::Error when the module or /proc fails.
    virtual VmSample sample() = 0;
};

// The module's sampler, asking for access sampling of every VM as given
// (interval 0: none); throws self_e::Error (unsupported) without self_e.ko,
// (permission) without root.
std::unique_ptr<Sampler> make_live_sampler(SamplingSettings sampling = {}, ProcFs proc = ProcFs{},
                                           SysFs sys = SysFs{});
// Snapshots of VM processes found in /proc (needs root for page frames).
std::unique_ptr<Sampler> make_proc_sampler(ProcFs proc = ProcFs{}, SysFs sys = SysFs{});
// The live sampler when self_e.ko is loaded, else the /proc one (which
// cannot sample accesses: the working set needs the module).
std::unique_ptr<Sampler> make_sampler(SamplingSettings sampling = {});

// /sys/kernel/mm/ksm (available false on a kernel without KSM).
HostKsm read_host_ksm(const SysFs& sys);
// A VM process's name for people: QEMU's -name, else its comm; "" when gone.
std::string vm_process_name(const ProcFs& proc, pid_t pid, const std::string& comm_fallback = {});
// The monotonic clock in seconds, for VmSample::monotonic_s.
double monotonic_seconds();

}  // namespace self_e::tool
