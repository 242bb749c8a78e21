// What `self-e top` and `self-e export` show, taken at one moment: one row
// per VM, the host's KSM figures and the module's health. Both commands
// build their output from a VmSample alone, so the renderers can be tested
// with synthetic samples and the HTTP thread can be handed a copy.
//
// Counts are 4 KiB guest pages (definitions: self_e/aggregate_report.hpp).
// A figure only one backend knows is optional: without self_e.ko there are
// no events, so no fault or COW-break counts; nothing is made up.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "self_e/aggregate_report.hpp"
#include "self_e/named_values.hpp"

namespace self_e::tool {

struct VmRow {
    std::optional<std::uint32_t> vm_id;  // the module's VM id; none without the module
    pid_t pid = 0;
    std::string name;  // QEMU's -name, else the process name (comm)

    // Pages now (gauges).
    std::uint64_t total = 0;       // guest RAM (address space 0 memslots, or the mappings scanned)
    std::uint64_t touched = 0;     // = ksm_intra + ksm_inter + ksm_alone + zero + private + unmapped
    std::uint64_t ksm_intra = 0;   // on a KSM page only this VM maps (ksm_within)
    std::uint64_t ksm_inter = 0;   // on a KSM page another VM maps too (ksm_across)
    std::uint64_t ksm_alone = 0;   // on a KSM page no other page maps any more
    std::uint64_t zero = 0;        // merged with the zero page
    std::uint64_t private_pages = 0;
    std::uint64_t unmapped = 0;    // swapped or unmapped since touched
    std::uint64_t saved_bytes = 0;  // this VM's share of what its KSM pages save
    bool exact = true;             // false after lost or late events, until reseeded
    // The working set from the module's access sampling (--sample-interval);
    // none when the VM was not sampled (definitions: self_e/working_set.hpp).
    std::optional<WorkingSetSummary> working_set;

    std::uint64_t untouched() const noexcept { return total - touched; }
    std::uint64_t ksm_shared() const noexcept { return ksm_intra + ksm_inter + ksm_alone; }

    // Counters since watching started (module only).
    std::optional<std::uint64_t> faults;      // guest page faults KVM mapped (fault events)
    std::optional<std::uint64_t> cow_breaks;  // COW breaks of shared pages
    std::optional<std::uint64_t> ksm_merges;  // pages merged onto a KSM page
    // The module's own counters for the VM (all readers).
    std::optional<std::uint64_t> events;   // events produced
    std::optional<std::uint64_t> dropped;  // events lost by full rings
    std::optional<std::uint32_t> readers;  // readers attached now (ours included)
};

// /sys/kernel/mm/ksm as the kernel has it (names depend on the version).
struct HostKsm {
    bool available = false;  // the kernel has KSM
    NamedValues values;      // every numeric file, by name
    std::optional<std::int64_t> value(std::string_view name) const;
};

struct ModuleHealth {
    bool loaded = false;
    std::uint32_t vms = 0;      // VMs it tracks
    std::uint32_t readers = 0;  // open readers of /dev/self-e (ours included)
};

struct VmSample {
    std::chrono::system_clock::time_point time{};
    double monotonic_s = 0;  // for rates between two samples
    ModuleHealth module;
    HostKsm ksm;
    std::vector<VmRow> vms;  // by VM id (module) or pid (snapshot)
    // Events this tool's own rings dropped since it started (module only).
    std::optional<std::uint64_t> own_dropped;
};

// A VM's rates between two samples of it: per second.
struct VmRates {
    std::optional<double> faults_per_s;
    std::optional<double> cow_breaks_per_s;
};

// Rates of now's row against the same VM (same id and pid) in before;
// none when it was not there or the counters are missing or went back.
VmRates rates_between(const VmRow& now, double now_s, const VmSample* before);

// The row of one VM of an aggregate report (pages and counters); name,
// module counters and the id are the caller's.
VmRow row_from_report(const VmReport& report);

}  // namespace self_e::tool
