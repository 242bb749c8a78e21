// self-e snapshot: the module-free classification of a process's memory.
#include <fmt/core.h>

#include <string>
#include <vector>

#include "command.hpp"
#include "json_text.hpp"
#include "self_e/control.hpp"
#include "self_e/error.hpp"
#include "self_e/page_scanner.hpp"
#include "self_e/snapshot.hpp"
#include "snapshot_output.hpp"

namespace self_e::tool {

namespace {

constexpr const char* kRules =
    "Classes (counts of pages; see libself/include/self_e/page_class.hpp):\n"
    "  present      in RAM (pagemap bit 63) = private + shared + ksm + zero\n"
    "    zero       the zero page (KPF_ZERO_PAGE): read but never written, or\n"
    "               merged by KSM with use_zero_pages=1\n"
    "    ksm        a KSM page (KPF_KSM; where the kernel sets that bit on every\n"
    "               anonymous page, as Debian's 6.12.95 does, KSM pages count as\n"
    "               shared or private, and ksm_process.ksm_flag_trusted is false)\n"
    "    private    any other page mapped only here (pagemap bit 56, exclusive)\n"
    "    shared     any other page mapped more than once (fork, files)\n"
    "  thp, hugetlb, file: present pages in a transparent huge page, a\n"
    "               hugetlbfs page, or backed by a file or shared memory\n"
    "  swapped      swapped out (pagemap bit 62)\n"
    "  not_present  neither\n"
    "Needs root (page frame numbers need CAP_SYS_ADMIN).\n"
    "Exit status: 0 success, 1 failure (no such process, need root, ...), 2 bad command line.";

// The guest RAM of pid's VM(s) from self_e.ko's memslots; nullopt when the
// module is not loaded (or not ours to ask) or pid owns no VM: then every
// anonymous mapping is the fallback, as documented.
std::optional<SnapshotTarget> module_target(pid_t pid)
{
    try {
        std::vector<Memslot> slots;
        for (const VmDescription& vm : ControlClient().list_vms())
            if (vm.pid == pid)
                slots.insert(slots.end(), vm.memslots.begin(), vm.memslots.end());
        SnapshotTarget target = memslots_target(pid, slots);
        if (!target.ranges.empty())
            return target;
    } catch (const Error&) {
    }
    return std::nullopt;
}

class SnapshotCommand final : public Command {
public:
    void declare(CLI::App& app) override
    {
        const CLI::Validator pid_check(
            [](std::string& text) -> std::string {
                if (text.empty() || text.size() > 9 ||
                    text.find_first_not_of("0123456789") != std::string::npos ||
                    std::stol(text) <= 0)
                    return "'" + text + "' is not a process id (a positive decimal number)";
                return {};
            },
            "PID");
        app.add_option("--pid", pid_, "the process to look at (QEMU, minivmm, ...)")
            ->required()
            ->check(pid_check);
        const CLI::Validator range_check(
            [](std::string& text) -> std::string {
                try {
                    parse_address_range(text, host_page_size());
                    return {};
                } catch (const std::exception& e) {
                    return e.what();
                }
            },
            "0xSTART-0xEND");
        app.add_option("--range", range_texts_,
                       "a range of guest RAM, hex, page aligned, end exclusive; repeat for more "
                       "(default: the VM's memslots when self_e.ko is loaded, else every private "
                       "anonymous mapping of the process)")
            ->check(range_check)
            ->type_size(1)
            ->allow_extra_args(false);
        app.add_flag("--json", json_, "print JSON (keys in tools/snapshot_output.hpp)");
        app.add_flag("-v,--verbose", verbose_, "also list each range and every system KSM value");
        // For tests: read fake /proc and /sys trees.
        app.add_option("--proc-root", proc_root_)->group("");
        app.add_option("--sys-root", sys_root_)->group("");
        app.footer(kRules);
    }

    int run() override
    {
        const ProcFs proc{proc_root_};
        const SysFs sys{sys_root_};
        SnapshotTarget target;
        if (range_texts_.empty()) {
            std::optional<SnapshotTarget> vm = module_target(pid_);
            target = vm ? std::move(*vm) : anonymous_mappings_target(proc, pid_);
        } else {
            target = {pid_, {}, RangeOrigin::given};
            for (const std::string& text : range_texts_)
                target.ranges.push_back(parse_address_range(text, host_page_size()));
            try {
                check_no_overlap(target.ranges);
            } catch (const Error& e) {
                throw UsageError(std::string("--range: ") + e.what());
            }
        }
        const Snapshot snap = take_snapshot(proc, sys, target);
        if (json_)
            fmt::print("{}\n", json_text(snapshot_to_json(snap), 2));
        else
            fmt::print("{}", snapshot_to_text(snap, verbose_));
        return kExitOk;
    }

private:
    pid_t pid_ = 0;
    std::vector<std::string> range_texts_;
    bool json_ = false;
    bool verbose_ = false;
    std::string proc_root_ = "/proc";
    std::string sys_root_ = "/sys";
};

}  // namespace

std::unique_ptr<Command> make_snapshot_command() { return std::make_unique<SnapshotCommand>(); }

}  // namespace self_e::tool
