// The sampler without self_e.ko: every VM process's private anonymous
// mappings (guest RAM is among them), classified page by page from /proc and
// fed to an Aggregator as a seed, so KSM sharing within and between VMs is
// told apart by KSM page frame exactly as with the module.
#include <poll.h>

#include <chrono>

#include "sampler.hpp"
#include "self_e/aggregate_report.hpp"
#include "self_e/aggregator.hpp"
#include "self_e/error.hpp"
#include "self_e/page_scanner.hpp"
#include "self_e/snapshot.hpp"
#include "self_e/watcher.hpp"
#include "vm_processes.hpp"

namespace self_e::tool {

namespace {

// The process's anonymous mappings as one VM's slots, gfns numbered on.
std::vector<GuestMemslot> mapping_slots(const ProcFs& proc, pid_t pid)
{
    const SnapshotTarget target = anonymous_mappings_target(proc, pid);
    std::vector<GuestMemslot> slots;
    std::uint64_t gfn = 0;
    for (const AddressRange& range : target.ranges) {
        if (slots.size() == 0x7fff)
            break;
        const std::uint64_t npages = (range.end - range.start) / kGuestPageBytes;
        slots.push_back({static_cast<std::uint16_t>(slots.size()), gfn, npages, range.start});
        gfn += npages;
    }
    return slots;
}

class ProcSampler final : public Sampler {
public:
    ProcSampler(ProcFs proc, SysFs sys) : proc_(std::move(proc)), sys_(std::move(sys)) {}

    void advance(std::chrono::milliseconds timeout) override
    {
        ::poll(nullptr, 0, static_cast<int>(timeout.count()));  // a signal ends it early
    }

    VmSample sample() override
    {
        VmSample s;
        s.time = std::chrono::system_clock::now();
        s.monotonic_s = monotonic_seconds();
        s.ksm = read_host_ksm(sys_);
        Aggregator aggregator;
        std::vector<pid_t> pids;
        for (const pid_t pid : find_vm_processes(proc_)) {
            if (pids.size() == 0xfffe)
                break;
            const auto id = static_cast<std::uint16_t>(pids.size() + 1);
            try {
                seed(aggregator, id, pid);
                pids.push_back(pid);
            } catch (const Error& e) {
                if (e.kind() != ErrorKind::no_such_process)
                    throw;
                // It ended while we looked: not a VM any more.
                aggregator.seed_vm(id, static_cast<std::uint32_t>(pid), {});
                pids.push_back(0);
            }
        }
        const AggregateReport report = make_report(aggregator);
        for (const VmReport& vm : report.vms) {
            if (vm.vm_id == 0 || vm.vm_id > pids.size() || pids[vm.vm_id - 1] == 0)
                continue;
            VmRow row = row_from_report(vm);
            row.name = vm_process_name(proc_, row.pid);
            s.vms.push_back(std::move(row));
        }
        return s;
    }

private:
    void seed(Aggregator& aggregator, std::uint16_t id, pid_t pid) const
    {
        const std::vector<GuestMemslot> slots = mapping_slots(proc_, pid);
        aggregator.seed_vm(id, static_cast<std::uint32_t>(pid), slots);
        PageScanner scanner(proc_, pid);
        const bool trusted = scanner.ksm_flag_trusted();
        std::vector<PageInfo> seen;
        for (const GuestMemslot& slot : slots) {
            const AddressRange range{slot.hva, slot.hva + slot.npages * kGuestPageBytes};
            scanner.scan(range, [&](std::uint64_t first, std::span<const PageInfo> pages) {
                seen.resize(pages.size());
                for (std::size_t i = 0; i < pages.size(); ++i)
                    seen[i] = seed_view(pages[i], trusted);
                aggregator.seed_pages(id, first, seen);
            });
        }
    }

    ProcFs proc_;
    SysFs sys_;
};

}  // namespace

std::unique_ptr<Sampler> make_proc_sampler(ProcFs proc, SysFs sys)
{
    return std::make_unique<ProcSampler>(std::move(proc), std::move(sys));
}

}  // namespace self_e::tool
