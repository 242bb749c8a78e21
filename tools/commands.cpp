// The list of self-e's subcommands. A new command: add cmd_NAME.cpp with its
// make_NAME_command(), declare it in command.hpp, list it here and in
// CMakeLists.txt.
#include "command.hpp"

namespace self_e::tool {

std::span<const CommandInfo> commands()
{
    static const CommandInfo list[] = {
        {"snapshot", "classify every page of a process's memory now, without the module",
         make_snapshot_command},
        {"list", "list the VMs self_e.ko tracks: ids, processes, memory, readers", make_list_command},
        {"trace", "print a VM's memory events (faults, KSM, memslots) as they happen",
         make_trace_command},
        {"report", "per VM: pages touched, KSM-shared (with whom), zero, private, COW breaks, memory saved",
         make_report_command},
        {"top", "a live full-screen view of every VM: pages touched, KSM-shared, zero, COW breaks",
         make_top_command},
        {"export", "serve every VM's memory figures to Prometheus (/metrics)", make_export_command},
        {"record", "save VMs' events and snapshots to a file, for report/trace --from and heatmap",
         make_record_command},
        {"heatmap", "draw a recorded VM's memory accesses over time as a PNG or SVG", make_heatmap_command},
    };
    return list;
}

}  // namespace self_e::tool
