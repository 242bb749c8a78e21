// How `self-e top` shows samples: the header (module, host KSM), the table
// of VMs with its columns and sort keys, plain text for --batch, one JSON
// object per sample for --json, and the lines of a full screen. Nothing in
// here touches the terminal (terminal.hpp does).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vm_sample.hpp"

namespace self_e::tool {

// A column of the VM table. Adding one (the sampled working set, say) is one
// entry in top_columns().
struct TopColumn {
    std::string_view key;    // for --sort
    std::string_view title;  // header text
    char hotkey;             // the key that sorts by it ('\0': none)
    std::size_t width;       // NAME's is its minimum: it grows into what is left
    bool rate;               // a per-second figure (one decimal below 100)
    // The figure of a VM (nullopt: not known, shown as "-"); none for NAME.
    std::optional<double> (*value)(const VmRow& row, const VmRates& rates);
    bool ascending;  // sorted smallest first (ids); figures sort largest first
    bool sampled_only = false;  // shown only when some VM's accesses are sampled
};

const std::vector<TopColumn>& top_columns();
// The column of a --sort key, or nullopt.
std::optional<std::size_t> find_top_column(std::string_view key);
// The column a key press sorts by, or nullopt.
std::optional<std::size_t> top_column_for_hotkey(char key);

struct TopSort {
    std::size_t column = 0;  // index in top_columns()
    bool reverse = false;
};

// A sample with what top adds: each VM's rates against the sample before.
struct TopFrame {
    VmSample sample;
    std::vector<VmRates> rates;  // parallel to sample.vms
    double interval_s = 0;
};

TopFrame make_top_frame(VmSample sample, const VmSample* before, double interval_s);

// "2026-11-27 07:12:03" (UTC, second precision).
std::string format_utc(std::chrono::system_clock::time_point time);

// The lines above the table: time, interval, sort; module, VMs; host KSM.
std::vector<std::string> top_header_lines(const TopFrame& frame, const TopSort& sort);
// The column titles, then one line per VM in sort order. width 0: no limit;
// else every line fits in width columns: NAME takes what the other columns
// leave (at least 4, names cut with '~'), and columns that still do not fit
// are left out from the right.
std::vector<std::string> top_table_lines(const TopFrame& frame, const TopSort& sort, std::size_t width);

// --batch: header, table, a blank line; no escape sequences, no width limit.
std::string top_batch_text(const TopFrame& frame, const TopSort& sort);

// --json: one object per sample. Keys:
//   {"time" (UTC, "2026-11-27T07:12:03Z"), "module_loaded", "ksm": {<every numeric /sys/kernel/mm/ksm file>},
//    "vms": [{"vm" (null without the module), "pid", "name", "total", "touched",
//             "ksm_intra", "ksm_inter", "ksm_alone", "zero", "private", "unmapped",
//             "saved_bytes", "exact", "faults", "faults_per_s", "cow_breaks",
//             "cow_breaks_per_s", "ksm_merges", "events", "dropped"}]}
// Figures the backend does not have are null.
nlohmann::ordered_json top_json(const TopFrame& frame);

// A line cut to width columns (ASCII; longer text ends in '~').
std::string fit_text(std::string_view text, std::size_t width);

}  // namespace self_e::tool
