// self-e report: per VM, how its pages are used and shared, watched live.
#include <fmt/core.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <vector>

#include "command.hpp"
#include "sampling_options.hpp"
#include "json_text.hpp"
#include "report_output.hpp"
#include "self_e/aggregate_report.hpp"
#include "self_e/control.hpp"
#include "self_e/error.hpp"
#include "self_e/record_file.hpp"
#include "self_e/replay.hpp"
#include "self_e/watcher.hpp"
#include "stop_signals.hpp"

namespace self_e::tool {

namespace {

constexpr const char* kFooter =
    "Attaches to the VMs (all, or the one given), takes a snapshot of each VM's\n"
    "guest RAM from /proc (pagemap, kpageflags) right after attaching, then\n"
    "follows the module's events for --duration seconds, so the report is right\n"
    "whenever it started. Pages are the guest's 4 KiB pages:\n"
    "  touched      faulted in since attaching or present at the snapshot\n"
    "  ksm_shared   mapped to a KSM page now (ksm_across: one another VM maps too)\n"
    "  ksm_zero     merged with the zero page\n"
    "  private      mapped privately (cow_broken: by a COW break)\n"
    "  cow_breaks   COW-break events while watching; saved_bytes: this VM's share\n"
    "               of what its KSM pages save; shared_with: pages whose KSM page\n"
    "               that VM maps too.\n"
    "Definitions: libself/include/self_e/aggregate_report.hpp; JSON keys:\n"
    "tools/report_output.hpp. A VM marked inexact lost events (a full ring).\n"
    "Where the kernel's KPF_KSM cannot be trusted (Debian's 6.12.95), the snapshot\n"
    "takes guest pages mapped more than once for KSM pages; a KSM page with one\n"
    "mapping left then counts as private until events say otherwise.\n"
    "With --from FILE, reads a recording (`self-e record`) instead: its snapshots\n"
    "and events go through the same steps, so the report is the one a live report\n"
    "attached when the recording started and ended when it stopped would print.\n"
    "Needs self_e.ko and root (CAP_SYS_ADMIN), but not with --from; `self-e snapshot`\n"
    "works without the module.\n"
    "Exit status: 0 success, 1 failure (no such VM, module not loaded, need root), 2 bad command line.";

class ReportCommand final : public Command {
public:
    void declare(CLI::App& app) override
    {
        auto* vm = app.add_option("--vm", vm_id_, "report on this VM id only (see `self-e list`)")
                       ->check(CLI::Range(1, 65535));
        app.add_option("--pid", pid_, "report on the VM of this process only")
            ->check(CLI::PositiveNumber)
            ->excludes(vm);
        auto* duration = app.add_option("--duration", duration_s_, "seconds to follow events after the snapshot")
                             ->check(CLI::Range(0.0, 86400.0));
        app.add_flag("--json", json_, "print JSON (keys in tools/report_output.hpp)");
        sampling_.declare(app, " while watching: working set, hot, cold and idle pages");
        app.add_option("--from", from_, "report on a recording (`self-e record -o FILE`) instead of live VMs")
            ->excludes("--pid")
            ->excludes(duration)
            ->excludes("--sample-interval")
            ->excludes("--sample-budget");
        app.footer(kFooter);
    }

    int run() override
    {
        if (from_)
            return run_from_file(*from_);
        catch_stop_signals();
        std::vector<AttachTarget> targets;
        if (vm_id_)
            targets.push_back(AttachTarget::vm(*vm_id_));
        else if (pid_)
            targets.push_back(AttachTarget::process(*pid_));
        else
            for (const VmDescription& vm : ControlClient().list_vms())
                targets.push_back(AttachTarget::vm(vm.vm_id));

        WatchOptions options;
        options.sampling = sampling_.settings();
        Watcher watcher(targets, options);
        const auto start = std::chrono::steady_clock::now();
        const auto end = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                     std::chrono::duration<double>(duration_s_));
        if (!json_ && duration_s_ >= 2)
            fmt::print(stderr, "self-e report: watching {} VM(s) for {:.0f} s (Ctrl-C ends early)\n",
                       targets.size(), duration_s_);
        while (!stop_requested()) {
            const auto now = std::chrono::steady_clock::now();
            if (now >= end)
                break;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - now);
            if (!watcher.pump(std::min(left, std::chrono::milliseconds(100))))
                break;  // every VM ended
        }
        watcher.finish();

        const ReportContext context{
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
            watcher.dropped()};
        print(make_report(watcher.aggregator()), context);
        return kExitOk;
    }

private:
    void print(const AggregateReport& report, const ReportContext& context) const
    {
        if (json_)
            fmt::print("{}\n", json_text(report_to_json(report, context), 2));
        else
            fmt::print("{}", report_to_text(report, context));
        std::fflush(stdout);
    }

    // The recording's snapshots and events through a Watcher's steps.
    int run_from_file(const std::string& path)
    {
        const auto in = open_recording(path);
        RecordReader reader(*in, path);
        if (reader.header().event_mask)
            fmt::print(stderr, "self-e report: {} was recorded with only some event types (--type, mask {:#x}): "
                               "the report misses the others\n", path, reader.header().event_mask);
        Aggregator aggregator(WatchOptions{}.aggregator);
        std::optional<std::uint16_t> only;
        if (vm_id_)
            only = static_cast<std::uint16_t>(*vm_id_);
        const ReplayResult replayed = replay(reader, aggregator, only);
        if (vm_id_ && replayed.vm_ids.empty())
            throw Error(ErrorKind::no_such_process, fmt::format("{}: no VM {} in the recording", path, *vm_id_));
        ReportContext context;
        if (replayed.end.end_mono_ns > replayed.end.seeded_mono_ns)
            context.duration_s = static_cast<double>(replayed.end.end_mono_ns - replayed.end.seeded_mono_ns) / 1e9;
        for (const VmEndStats& s : replayed.end.vms)
            context.dropped += s.dropped;
        print(make_report(aggregator), context);
        return kExitOk;
    }

    std::optional<std::uint32_t> vm_id_;
    std::optional<pid_t> pid_;
    double duration_s_ = 1.0;
    bool json_ = false;
    SamplingOptions sampling_;
    std::optional<std::string> from_;
};

}  // namespace

std::unique_ptr<Command> make_report_command()
{
    return std::make_unique<ReportCommand>();
}

}  // namespace self_e::tool
