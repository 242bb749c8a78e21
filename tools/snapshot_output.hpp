// How `self-e snapshot` shows a Snapshot: JSON for programs, a table for people.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "self_e/snapshot.hpp"

namespace self_e::tool {

// Keys (outside checks rely on them; keep them stable):
//   pid, comm, page_size, range_origin ("given", "anonymous_mappings", "memslots"),
//   ranges: [{start, end}] (integers, end exclusive),
//   pages: {total, present, private, shared, ksm, zero, thp, hugetlb, file,
//           swapped, not_present} (counts of page_size pages),
//   ksm_process: {frames_in_ranges, merging_pages, stat: {name: value}},
//   ksm_system: {name: value} (every file of /sys/kernel/mm/ksm).
// A value the kernel does not provide is null.
nlohmann::ordered_json snapshot_to_json(const Snapshot& snap);

// The table; verbose adds one line per range and every system KSM value.
std::string snapshot_to_text(const Snapshot& snap, bool verbose);

}  // namespace self_e::tool
