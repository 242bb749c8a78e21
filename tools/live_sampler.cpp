// The sampler with self_e.ko: one Watcher over every VM the module tracks,
// so KSM sharing between VMs is seen. When VMs come or go (the netlink
// events group), it is rebuilt: attach to the VMs there are now and seed
// each from a fresh snapshot. Counters carry over a rebuild for VMs that
// stay, so the exporter's *_total series do not reset.
#include <poll.h>

#include <chrono>
#include <map>
#include <optional>
#include <variant>

#include "sampler.hpp"
#include "self_e/aggregate_report.hpp"
#include "self_e/control.hpp"
#include "self_e/error.hpp"
#include "self_e/watcher.hpp"

namespace self_e::tool {

namespace {

// Counters of earlier watchers of a VM.
struct CarriedCounters {
    pid_t pid = 0;
    std::uint64_t faults = 0;
    std::uint64_t cow_breaks = 0;
    std::uint64_t merges = 0;
};

class LiveSampler final : public Sampler {
public:
    LiveSampler(SamplingSettings sampling, ProcFs proc, SysFs sys)
        : proc_(std::move(proc)), sys_(std::move(sys))
    {
        options_.sampling = sampling;
        // listener_ joined the events group first, so no VM falls between
        // it and the list rebuild() takes.
        rebuild();
    }

    void advance(std::chrono::milliseconds timeout) override
    {
        try {
            for (const Notification& note : listener_.receive(std::chrono::milliseconds(0)))
                if (std::holds_alternative<VmCreated>(note) || std::holds_alternative<VmDestroyed>(note))
                    dirty_ = true;
        } catch (const Error&) {
            dirty_ = true;  // notifications lost (ENOBUFS): look again
        }
        if (dirty_)
            rebuild();
        if (watcher_->pump(timeout))
            return;
        // No VM to wait for: wait for a notification instead.
        pollfd pfd{listener_.fd(), POLLIN, 0};
        ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    }

    VmSample sample() override
    {
        VmSample s;
        s.time = std::chrono::system_clock::now();
        s.monotonic_s = monotonic_seconds();
        const ModuleStats stats = control_.module_stats();
        s.module = {true, stats.nr_vms, stats.readers};
        s.ksm = read_host_ksm(sys_);
        std::map<std::uint32_t, VmDescription> listed;
        for (VmDescription& vm : control_.list_vms())
            listed.emplace(vm.vm_id, std::move(vm));

        watcher_->settle();  // a quiet VM's last events too
        const AggregateReport report = make_report(watcher_->aggregator());
        for (const VmReport& vm : report.vms) {
            VmRow row = row_from_report(vm);
            row.vm_id = vm.vm_id;
            CarriedCounters base;
            if (auto it = carried_.find(vm.vm_id); it != carried_.end() && it->second.pid == row.pid)
                base = it->second;
            row.faults = base.faults + vm.counters.faults;
            row.cow_breaks = base.cow_breaks + vm.counters.cow_breaks;
            row.ksm_merges = base.merges + vm.counters.merges;
            const auto it = listed.find(vm.vm_id);
            if (it != listed.end() && it->second.pid == row.pid) {
                row.events = it->second.events;
                row.dropped = it->second.dropped;
                row.readers = it->second.readers;
                row.name = vm_process_name(proc_, row.pid, it->second.comm);
            } else {
                row.name = vm_process_name(proc_, row.pid);
            }
            s.vms.push_back(std::move(row));
        }
        for (const auto& [id, vm] : listed)
            if (!watched(id))
                dirty_ = true;  // came while we were not listening: next advance()
        s.own_dropped = dropped_base_ + watcher_->dropped();
        return s;
    }

private:
    bool watched(std::uint32_t vm_id) const
    {
        for (const WatchedVm& vm : watcher_->vms())
            if (vm.vm_id == vm_id && !vm.ended)
                return true;
        return false;
    }

    // Keeps the counters of the current watcher, then attaches anew.
    void rebuild()
    {
        std::map<std::uint32_t, CarriedCounters> carried;
        if (watcher_) {
            watcher_->finish();
            for (const std::uint16_t id : watcher_->aggregator().vm_ids()) {
                const VmPages* vm = watcher_->aggregator().vm(id);
                if (!vm)
                    continue;
                CarriedCounters c{static_cast<pid_t>(vm->pid()), vm->counters.faults, vm->counters.cow_breaks,
                                  vm->counters.merges};
                if (auto it = carried_.find(id); it != carried_.end() && it->second.pid == c.pid) {
                    c.faults += it->second.faults;
                    c.cow_breaks += it->second.cow_breaks;
                    c.merges += it->second.merges;
                }
                carried[id] = c;
            }
            dropped_base_ += watcher_->dropped();
            watcher_.reset();
        }
        carried_ = std::move(carried);
        // A VM may end between the list and the attach: list again.
        for (int attempt = 0;; ++attempt) {
            std::vector<AttachTarget> targets;
            for (const VmDescription& vm : control_.list_vms())
                targets.push_back(AttachTarget::vm(vm.vm_id));
            try {
                watcher_ = std::make_unique<Watcher>(targets, options_, proc_);
                break;
            } catch (const Error& e) {
                if (e.kind() != ErrorKind::no_such_process || attempt == 4)
                    throw;
            }
        }
        dirty_ = false;
    }

    WatchOptions options_;
    ProcFs proc_;
    SysFs sys_;
    NotificationListener listener_;
    ControlClient control_;
    std::unique_ptr<Watcher> watcher_;
    std::map<std::uint32_t, CarriedCounters> carried_;  // by VM id
    std::uint64_t dropped_base_ = 0;
    bool dirty_ = true;
};

}  // namespace

std::unique_ptr<Sampler> make_live_sampler(SamplingSettings sampling, ProcFs proc, SysFs sys)
{
    return std::make_unique<LiveSampler>(sampling, std::move(proc), std::move(sys));
}

}  // namespace self_e::tool
