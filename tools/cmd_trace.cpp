// self-e trace: print a VM's memory events as they happen, one per line.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <type_traits>
#include <variant>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "command.hpp"
#include "sampling_options.hpp"
#include "event_json.hpp"
#include "json_text.hpp"
#include "self_e/device.hpp"
#include "self_e/error.hpp"
#include "self_e/event.hpp"
#include "self_e/record_file.hpp"
#include "self_e/text_stream.hpp"
#include "self_e_text.h"
#include "stop_signals.hpp"

namespace self_e::tool {

namespace {

constexpr const char* kFooter =
    "Without --vm or --pid, traces every VM through the module's text stream\n"
    "(read() of /dev/self-e), which includes VMs started after the trace.\n"
    "Lines are the module's text format (README, \"Text stream\"); --json prints\n"
    "the same fields as one JSON object a line (numbers as numbers).\n"
    "A `type=lost count=N` line marks where the ring was full and N events were\n"
    "dropped (a larger --ring helps); the total goes to stderr at the end.\n"
    "Runs until SIGINT/SIGTERM or, with --vm/--pid, until the VM ends.\n"
    "--from FILE prints a recording (`self-e record`) instead, every VM or --vm's,\n"
    "the lines --vm would have printed live (hvas from the recorded memslots).\n"
    "Needs self_e.ko and root (CAP_SYS_ADMIN).\n"
    "Exit status: 0 success, 1 failure (no such VM, module not loaded, need root), 2 bad command line.";

// How often the loop looks at the stop flag even without events: a signal
// between the check and poll() is noticed this late at worst.
constexpr std::chrono::milliseconds kTick{250};

// Counts and prints lines in the chosen format.
class EventPrinter {
public:
    explicit EventPrinter(bool json) : json_(json) {}

    void print_event(const std::string& line)
    {
        print(line);
        ++printed_;
    }
    // A LOST record: printed in the stream, counted apart from events.
    void print_lost(const std::string& line, std::uint64_t count)
    {
        print(line);
        lost_ += count;
    }
    void flush() { std::fflush(stdout); }

    std::uint64_t printed() const noexcept { return printed_; }
    std::uint64_t lost() const noexcept { return lost_; }

private:
    void print(const std::string& line)
    {
        if (json_)
            fmt::print("{}\n", json_text(event_line_to_json(line)));
        else
            fmt::print("{}", line);
    }

    bool json_;
    std::uint64_t printed_ = 0;  // events, LOST records not counted
    std::uint64_t lost_ = 0;  // sum of LOST records seen
};

void report_end(const std::string& what, const EventPrinter& printer, std::optional<ReaderStats> stats)
{
    // LOST records report drops once a lane has room again; the ring's own
    // count also has the drops not reported yet.
    const std::uint64_t lost = std::max(printer.lost(), stats ? stats->dropped : 0);
    fmt::print(stderr, "self-e trace: {}: {} events printed, {} lost{}\n", what, printer.printed(),
               lost, lost ? " (the ring was full; try a larger --ring)" : "");
    if (stats && stats->dropped > printer.lost())
        fmt::print(stderr, "self-e trace: {} of the lost events had no LOST line yet (their lane saw no later event)\n",
                   stats->dropped - printer.lost());
}

class TraceCommand final : public Command {
public:
    void declare(CLI::App& app) override
    {
        auto* vm = app.add_option("--vm", vm_id_, "the VM to trace, by the id `self-e list` shows")
                       ->check(CLI::Range(1, 65535));
        auto* pid = app.add_option("--pid", pid_, "the VM to trace, by the process that owns it")
                        ->check(CLI::PositiveNumber);
        vm->excludes(pid);
        app.add_option("--type", types_,
                       "only these event types, comma-separated (" + event_type_names() + ")")
            ->delimiter(',');
        app.add_flag("--json", json_, "one JSON object per event");
        app.add_option("--ring", ring_kib_,
                       "ring size in KiB for --vm/--pid (default: the module's)")
            ->check(CLI::Range(1, 1 << 20));
        sampling_.declare(app, ": with --vm/--pid, `access` and `sample` lines");
        app.add_option("--from", from_, "print the events of a recording (`self-e record -o FILE`)")
            ->excludes(pid)
            ->excludes("--ring")
            ->excludes("--sample-interval")
            ->excludes("--sample-budget");
        // For tests: another device node.
        app.add_option("--device", device_)->group("");
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
        if (sampling_.given() && !vm_id_ && !pid_)
            throw UsageError("--sample-interval and --sample-budget need --vm or --pid");
        sampling_.settings();  // a usage error before anything starts
        catch_stop_signals();
        EventPrinter printer(json_);
        if (from_)
            trace_file(*from_, mask, printer);
        else if (vm_id_ || pid_)
            trace_one(mask, printer);
        else
            trace_all(mask, printer);
        return kExitOk;
    }

private:
    void trace_one(std::uint64_t mask, EventPrinter& printer)
    {
        const AttachTarget target = vm_id_ ? AttachTarget::vm(vm_id_) : AttachTarget::process(pid_);
        DeviceSession session(target, {mask, ring_kib_ * 1024, 1}, device_);
        const std::string what = fmt::format("VM {} (pid {})", session.vm_id(), session.pid());
        fmt::print(stderr, "self-e trace: tracing {}, ring {} KiB\n", what, session.ring_bytes() / 1024);
        if (const SamplingSettings sampling = sampling_.settings(); sampling.interval.count()) {
            const SamplingSettings now = session.set_sampling(sampling);
            fmt::print(stderr, "self-e trace: sampling accesses every {} ms, {} pages a pass\n",
                       now.interval.count(), now.budget_pages);
        }

        std::vector<Memslot> slots = current_slots(session);
        std::vector<Event> batch;
        bool ended = false;  // the VM's end was read, or poll() said it hung up
        const auto drain = [&] {
            session.consumer().drain([&](const Event& ev, std::uint32_t) {
                batch.push_back(ev);
                ended |= ev.type == SELF_E_EV_VM_DESTROY;
            });
        };
        for (;;) {
            batch.clear();
            const bool ended_before = ended;
            drain();
            // The module commits a VM's end after all its other events, but a
            // lane read before the end's lane may have had more published
            // since: read every lane once more before printing.
            if (ended && !ended_before)
                drain();
            // Lanes are ordered in themselves; across lanes, by time.
            std::stable_sort(batch.begin(), batch.end(),
                             [](const Event& a, const Event& b) { return a.ts_ns < b.ts_ns; });
            for (const Event& ev : batch) {
                if (ev.type == SELF_E_EV_MEMSLOT)
                    slots = current_slots(session);  // hvas of the new layout
                const std::string line = format_event_line(ev, hva_of(slots, ev));
                if (ev.type == SELF_E_EV_LOST)
                    printer.print_lost(line, ev.arg);
                else
                    printer.print_event(line);
            }
            printer.flush();
            if (ended || stop_requested())
                break;
            // After a hang-up every event is committed: one last turn reads them.
            if (session.wait(kTick) == WaitResult::ended)
                ended = true;
        }
        std::optional<ReaderStats> stats;
        try {
            stats = session.stats();
        } catch (const Error&) {
            // Counts are a courtesy at exit; the events are out already.
        }
        report_end(what + (ended ? " ended" : ""), printer, stats);
    }

    void trace_all(std::uint64_t mask, EventPrinter& printer)
    {
        TextStream stream(mask, device_);
        fmt::print(stderr, "self-e trace: tracing every VM (text stream of {})\n", device_);
        while (!stop_requested()) {
            for (const std::string& line : stream.read_lines(kTick)) {
                if (line.find(" type=lost ") != std::string::npos)
                    printer.print_lost(line, lost_count(line));
                else
                    printer.print_event(line);
            }
            printer.flush();
        }
        std::optional<ReaderStats> stats;
        try {
            stats = stream.stats();
        } catch (const Error&) {
        }
        report_end("all VMs", printer, stats);
    }

    // A recording's events as trace_one() printed them live: each drain
    // sorted by time; hvas from the memslots the recorder read after a
    // drain that held MEMSLOT events, taken on at the first one printed.
    void trace_file(const std::string& path, std::uint64_t mask, EventPrinter& printer)
    {
        const auto in = open_recording(path);
        RecordReader reader(*in, path);
        if (reader.header().event_mask)
            fmt::print(stderr, "self-e trace: {} was recorded with only some event types (--type, mask {:#x})\n",
                       path, reader.header().event_mask);
        std::map<std::uint16_t, std::vector<Memslot>> slots, pending;
        for (const RecordedVm& vm : reader.header().vms)
            slots[vm.vm_id] = vm.memslots;
        bool found = !vm_id_;
        for (const RecordedVm& vm : reader.header().vms)
            found |= vm.vm_id == vm_id_;
        std::uint64_t dropped = 0;
        std::vector<Event> batch;
        while (auto item = reader.next()) {
            if (stop_requested())
                break;
            if (auto* added = std::get_if<VmAdded>(&*item)) {
                slots[added->vm.vm_id] = added->vm.memslots;
                found |= added->vm.vm_id == vm_id_;
            } else if (auto* update = std::get_if<MemslotUpdate>(&*item)) {
                pending[update->vm_id] = update->memslots;
            } else if (auto* events = std::get_if<EventBatch>(&*item)) {
                batch.clear();
                for (const Event& ev : events->events)
                    if ((!vm_id_ || ev.vm_id == vm_id_) && (!mask || (mask & SELF_E_EVENT_MASK(ev.type))))
                        batch.push_back(ev);
                std::stable_sort(batch.begin(), batch.end(),
                                 [](const Event& a, const Event& b) { return a.ts_ns < b.ts_ns; });
                for (const Event& ev : batch) {
                    if (ev.type == SELF_E_EV_MEMSLOT) {
                        if (auto it = pending.find(ev.vm_id); it != pending.end()) {
                            slots[ev.vm_id] = std::move(it->second);
                            pending.erase(it);
                        }
                    }
                    const std::string line = format_event_line(ev, hva_of(slots[ev.vm_id], ev));
                    if (ev.type == SELF_E_EV_LOST)
                        printer.print_lost(line, ev.arg);
                    else
                        printer.print_event(line);
                }
                printer.flush();
            } else if (auto* end = std::get_if<RecordEnd>(&*item)) {
                for (const VmEndStats& s : end->vms)
                    if (!vm_id_ || s.vm_id == vm_id_)
                        dropped += s.dropped;
            }
        }
        if (!found)
            throw Error(ErrorKind::no_such_process, fmt::format("{}: no VM {} in the recording", path, vm_id_));
        ReaderStats stats;
        stats.dropped = dropped;
        report_end(path + (vm_id_ ? fmt::format(" VM {}", vm_id_) : std::string()), printer, stats);
    }

    // The VM's memslots now, or none once it has ended.
    static std::vector<Memslot> current_slots(const DeviceSession& session)
    {
        try {
            return session.vm_info().memslots;
        } catch (const Error&) {
            return {};
        }
    }

    // The hva the module's formatter would print: of gfn, for events about a
    // gfn (access and sample records stand for ranges, printed without one).
    static std::uint64_t hva_of(const std::vector<Memslot>& slots, const Event& ev)
    {
        if (ev.gfn == SELF_E_GFN_NONE || !self_e_type_has_hva(ev.type))
            return 0;
        return gfn_to_hva(slots, ev.gfn).value_or(0);
    }

    static std::uint64_t lost_count(const std::string& line)
    {
        const std::size_t at = line.find(" count=");
        return at == std::string::npos ? 0 : std::strtoull(line.c_str() + at + 7, nullptr, 10);
    }

    std::uint32_t vm_id_ = 0;
    pid_t pid_ = 0;
    SamplingOptions sampling_;
    std::vector<std::string> types_;
    bool json_ = false;
    std::uint32_t ring_kib_ = 0;
    std::string device_ = kDevicePath;
    std::optional<std::string> from_;
};

}  // namespace

std::unique_ptr<Command> make_trace_command() { return std::make_unique<TraceCommand>(); }

}  // namespace self_e::tool
