// Watching VMs live: attach to each through /dev/self-e, seed an Aggregator
// from a snapshot of each VM's guest RAM taken after attaching (so what
// happened before is in the seed and what happens after is in the events),
// then pump the rings into it. `self-e report` reads the result; `top` and
// the exporter can keep pumping.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "self_e/aggregator.hpp"
#include "self_e/device.hpp"
#include "self_e/memslot.hpp"
#include "self_e/procfs.hpp"

namespace self_e {

struct WatchOptions {
    // Per VM: record bytes of its ring (0: the module's default) and the
    // records per lane that wake the watcher before its timeout.
    std::uint32_t ring_bytes = 4u << 20;
    std::uint32_t watermark = 64;
    // Access sampling of every VM while watched (interval 0: none).
    SamplingSettings sampling;
    AggregatorOptions aggregator;
};

// A page of a snapshot as the aggregator should see it. Where the kernel's
// KPF_KSM cannot be trusted (ksm_flag_trusted false), an anonymous guest page
// mapped more than once is taken for a KSM page: QEMU keeps guest RAM out of
// forks (MADV_DONTFORK), so nothing else shares it. A KSM page with one
// mapping left then counts as private.
PageInfo seed_view(const PageInfo& page, bool ksm_flag_trusted) noexcept;

struct WatchedVm {
    std::uint16_t vm_id = 0;
    pid_t pid = 0;
    std::vector<Memslot> memslots;
    bool ended = false;  // its VM_DESTROY has been read
};

class Watcher {
public:
    // Attaches to every target, then seeds each from a snapshot of its
    // process. Throws self_e::Error naming the VM, file or call that failed.
    explicit Watcher(const std::vector<AttachTarget>& targets, WatchOptions options = {},
                     ProcFs proc = ProcFs{});

    // Waits up to timeout for a ring to reach its watermark (or a signal),
    // then drains every ring into the aggregator. False once every VM ended.
    bool pump(std::chrono::milliseconds timeout);
    // Applies the held events that are older than the reorder window by
    // the clock now (Aggregator::release_by_clock): before reading the state
    // of VMs that may have gone quiet, while still watching.
    void settle();
    // A last drain, and every held event applied: the state is final.
    void finish();

    const Aggregator& aggregator() const noexcept { return aggregator_; }
    const std::vector<WatchedVm>& vms() const noexcept { return vms_; }
    // Events the module dropped for our rings (ring full), over all VMs.
    std::uint64_t dropped() const;

private:
    void drain();
    void seed(std::size_t index);

    WatchOptions options_;
    ProcFs proc_;
    std::vector<DeviceSession> sessions_;  // parallel to vms_
    std::vector<WatchedVm> vms_;
    Aggregator aggregator_;
    std::vector<std::span<const Event>> runs_;  // drain()'s, kept to save allocations
};

}  // namespace self_e
