// self-e record: save VMs' event streams, with what replaying them needs, to
// a file (libself/include/self_e/record_file.hpp).
#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "command.hpp"
#include "sampling_options.hpp"
#include "list_output.hpp"
#include "self_e/control.hpp"
#include "self_e/error.hpp"
#include "self_e/event.hpp"
#include "self_e/recorder.hpp"
#include "stop_signals.hpp"

namespace self_e::tool {

namespace {

constexpr const char* kFooter =
    "Attaches to the VMs (those given with --vm/--pid, else every VM there is and\n"
    "every VM created while recording), takes a snapshot of each VM's guest RAM\n"
    "right after attaching (as `self-e report` does), then writes every event to\n"
    "FILE, zstd-compressed, with a header: format version, clock (monotonic with\n"
    "a wall-clock pair), kernel, page size, each VM's id, pid, name and memslots.\n"
    "Stops after --duration seconds, on SIGINT/SIGTERM, or (with --vm/--pid) when\n"
    "every recorded VM has ended. With --sample-interval, the module also samples\n"
    "which pages each VM accesses (working set; see `self-e report --help`).\n"
    "Read it back with `self-e report --from FILE`,\n"
    "`self-e trace --from FILE` and `self-e heatmap FILE`. Layout: README, \"Recordings\".\n"
    "Needs self_e.ko and root (CAP_SYS_ADMIN).\n"
    "Exit status: 0 success, 1 failure (no such VM, module not loaded, need root,\n"
    "cannot write FILE), 2 bad command line.";

class RecordCommand final : public Command {
public:
    void declare(CLI::App& app) override
    {
        app.add_option("-o,--output", path_, "the file to write")->required();
        app.add_option("--vm", vm_ids_, "record this VM id (repeatable; see `self-e list`)")
            ->check(CLI::Range(1, 65535));
        app.add_option("--pid", pids_, "record the VM of this process (repeatable)")->check(CLI::PositiveNumber);
        app.add_option("--duration", duration_s_, "stop after this many seconds (default: until told or the VMs end)")
            ->check(CLI::Range(0.0, 31.0 * 86400.0));
        app.add_option("--type", types_, "only these event types, comma-separated (" + event_type_names() +
                                             "); `report --from` then sees only these")
            ->delimiter(',');
        app.add_option("--ring", ring_kib_, "ring size per VM in KiB (default 4096)")->check(CLI::Range(64, 1 << 20));
        sampling_.declare(app, ": `access` events, the working set in `report --from`, the heatmap's accesses");
        app.footer(kFooter);
    }

    int run() override
    {
        std::uint64_t mask = 0;
        try {
            mask = parse_event_mask(types_);
        } catch (const Error& e) {
            throw UsageError(std::string("--type: ") + e.what());
        }
        catch_stop_signals();

        std::vector<AttachTarget> targets;
        std::unique_ptr<NotificationListener> listener;
        for (std::uint32_t id : vm_ids_)
            targets.push_back(AttachTarget::vm(id));
        for (pid_t pid : pids_)
            targets.push_back(AttachTarget::process(pid));
        if (targets.empty()) {
            // Joined before listing, so no VM falls in between.
            listener = std::make_unique<NotificationListener>();
            for (const VmDescription& vm : ControlClient().list_vms())
                targets.push_back(AttachTarget::vm(vm.vm_id));
        }
        const bool follow = listener != nullptr;

        RecorderOptions options;
        options.event_mask = mask;
        options.ring_bytes = ring_kib_ * 1024;
        options.sampling = sampling_.settings();
        Recorder recorder(path_, targets, options, std::move(listener));
        const bool tty = ::isatty(STDERR_FILENO);
        fmt::print(stderr, "self-e record: recording {} VM(s){} to {}{}\n", recorder.vms().size(),
                   follow ? " and any new one" : "", path_,
                   duration_s_ ? fmt::format(" for {:g} s", *duration_s_) : std::string(" (Ctrl-C ends)"));

        const auto start = std::chrono::steady_clock::now();
        const auto end = duration_s_ ? start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                   std::chrono::duration<double>(*duration_s_))
                                     : std::chrono::steady_clock::time_point::max();
        auto last_progress = start;
        bool all_ended = false;
        while (!stop_requested()) {
            const auto now = std::chrono::steady_clock::now();
            if (now >= end)
                break;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - now);
            if (!recorder.pump(std::min(left, std::chrono::milliseconds(100)))) {
                all_ended = true;
                break;
            }
            if (tty && std::chrono::steady_clock::now() - last_progress >= std::chrono::seconds(1)) {
                last_progress = std::chrono::steady_clock::now();
                fmt::print(stderr, "\rself-e record: {} events, {} written   ", recorder.events_written(),
                           format_bytes(recorder.file_bytes()));
            }
        }
        recorder.finish();
        if (tty && last_progress != start)
            fmt::print(stderr, "\n");
        std::uint64_t ended = 0;
        for (const RecordedVmState& vm : recorder.vms())
            ended += vm.ended;
        fmt::print(stderr, "self-e record: {}: {} events of {} VM(s) ({} ended) in {:.1f} s, {} ({}), {} dropped{}{}\n",
                   path_, recorder.events_written(), recorder.vms().size(), ended,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                   format_bytes(recorder.file_bytes()), recorder.file_bytes(), recorder.dropped(),
                   recorder.dropped() ? " (the ring was full; try a larger --ring)" : "",
                   all_ended ? "; every VM ended" : "");
        return kExitOk;
    }

private:
    std::string path_;
    std::vector<std::uint32_t> vm_ids_;
    std::vector<pid_t> pids_;
    std::optional<double> duration_s_;
    std::vector<std::string> types_;
    std::uint32_t ring_kib_ = 4096;
    SamplingOptions sampling_;
};

}  // namespace

std::unique_ptr<Command> make_record_command() { return std::make_unique<RecordCommand>(); }

}  // namespace self_e::tool
