// How `self-e report` shows an AggregateReport: JSON for programs (its keys
// are an interface: outside checks rely on them), a table for people.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "self_e/aggregate_report.hpp"

namespace self_e::tool {

// What the report covers, beside the aggregator's numbers.
struct ReportContext {
    double duration_s = 0;      // how long the report watched after seeding
    std::uint64_t dropped = 0;  // events the module dropped for its rings
};

// Keys:
//   {"duration_s", "dropped_events",
//    "total": {"ksm_pages", "ksm_mappers", "sharing_ratio", "saved_bytes"},
//    "vms": [{"id", "pid", "exact",
//             "pages": {"total", "touched", "ksm_shared", "ksm_across",
//                       "ksm_within", "ksm_alone", "ksm_zero", "private",
//                       "cow_broken", "unmapped", "untouched"},
//             "ksm_frames", "sharing_ratio", "saved_bytes", "cow_breaks",
//             "unmerges", "volatile_pages",
//             "shared_with": [{"id", "pages"}],
//             "working_set_pages": {"1", "10", "60"} | null,
//             "idle_pages": n | null,
//             "sampling": {"passes", "partial_passes", "coarse_passes",
//                          "sampled_pages", "hot_pages", "cold_pages"} | null}]}
// Pages are 4 KiB guest pages; definitions in self_e/aggregate_report.hpp,
// working set ones (null when the VM was not sampled: --sample-interval) in
// self_e/working_set.hpp.
nlohmann::ordered_json report_to_json(const AggregateReport& report, const ReportContext& context);

// A table, one row per VM, sizes with binary units, then who shares with whom.
std::string report_to_text(const AggregateReport& report, const ReportContext& context);

}  // namespace self_e::tool
