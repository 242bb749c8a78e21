// self-e list: the VMs self_e.ko tracks, from its netlink family.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <vector>

#include "command.hpp"
#include "json_text.hpp"
#include "list_output.hpp"
#include "notification_output.hpp"
#include "self_e/control.hpp"
#include "self_e/error.hpp"
#include "self_e/procfs.hpp"
#include "self_e/qemu.hpp"
#include "stop_signals.hpp"

namespace self_e::tool {

namespace {

constexpr const char* kFooter =
    "Columns: VM is the module's VM id (for `self-e trace --vm`), PID and NAME the\n"
    "owning process, GUEST QEMU's -name, MEMORY the sum of the memslots of address\n"
    "space 0 (guest RAM; SMM's alias is not counted again), READERS the readers\n"
    "attached to the VM now (`self-e trace`; all-VM text readers are not counted),\n"
    "EVENTS the events produced for it (the module produces a VM's events only\n"
    "while someone reads them), DROPPED those its readers lost.\n"
    "--watch then prints the module's notifications, one a line, until SIGINT/SIGTERM:\n"
    "  vm_new vm=ID pid=N comm=NAME, vm_del (the same), memslot vm=ID slot=N as=N\n"
    "  gfn=0xX pages=N hva=0xX change=create|delete|move|flags, overflow vm=ID dropped=N\n"
    "  (with --json: the list on one line, then one object a line with these keys\n"
    "  and \"note\" for the first word).\n"
    "Needs self_e.ko and root (CAP_SYS_ADMIN).\n"
    "Exit status: 0 success, 1 failure (module not loaded, need root), 2 bad command line.";

// QEMU's -name, when the process is QEMU and still there to ask.
std::optional<std::string> guest_name_of(const ProcFs& proc, pid_t pid)
{
    try {
        const std::vector<std::string> argv = proc.cmdline(pid);
        if (is_qemu_command(argv))
            return qemu_guest_name(argv);
    } catch (const Error&) {
        // The process may have exited since the module listed it: no name.
    }
    return std::nullopt;
}

class ListCommand final : public Command {
public:
    void declare(CLI::App& app) override
    {
        app.add_flag("--json", json_, "print JSON (keys in tools/list_output.hpp)");
        app.add_flag("--watch", watch_, "then print VMs coming and going, memslot changes and ring overflows");
        app.footer(kFooter);
    }

    int run() override
    {
        // Join the events group before listing, so no change falls between.
        std::optional<NotificationListener> listener;
        if (watch_) {
            catch_stop_signals();
            listener.emplace();
        }
        ControlClient control;
        const ProcFs proc;
        std::vector<ListedVm> vms;
        for (VmDescription& vm : control.list_vms()) {
            auto name = guest_name_of(proc, vm.pid);
            vms.push_back({std::move(vm), std::move(name)});
        }
        std::sort(vms.begin(), vms.end(),
                  [](const ListedVm& a, const ListedVm& b) { return a.vm.vm_id < b.vm.vm_id; });
        if (json_)
            fmt::print("{}\n", json_text(list_to_json(vms), watch_ ? -1 : 2));
        else
            fmt::print("{}", list_to_text(vms));
        std::fflush(stdout);
        if (listener)
            watch(*listener);
        return kExitOk;
    }

private:
    void watch(NotificationListener& listener) const
    {
        while (!stop_requested()) {
            for (const Notification& note : listener.receive(std::chrono::milliseconds(250))) {
                if (json_)
                    fmt::print("{}\n", json_text(notification_to_json(note)));
                else
                    fmt::print("{}", notification_to_text(note));
            }
            std::fflush(stdout);
        }
    }

    bool json_ = false;
    bool watch_ = false;
};

}  // namespace

std::unique_ptr<Command> make_list_command() { return std::make_unique<ListCommand>(); }

}  // namespace self_e::tool
