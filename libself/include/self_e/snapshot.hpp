// A module-free snapshot of a process's memory (QEMU, minivmm, ...): every
// page of its guest-RAM ranges classified (page_class.hpp), plus what KSM
// says about the process and the system.
//
// Where the ranges come from is the caller's choice, carried in a
// SnapshotTarget: given on the command line, every private anonymous
// mapping of the process, or (with the module) the VM's memslots.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "self_e/address_range.hpp"
#include "self_e/memslot.hpp"
#include "self_e/named_values.hpp"
#include "self_e/page_counts.hpp"
#include "self_e/procfs.hpp"
#include "self_e/sysfs.hpp"

namespace self_e {

enum class RangeOrigin {
    given,               // by the caller (self-e snapshot --range)
    anonymous_mappings,  // every private anonymous mapping in /proc/PID/maps
    memslots,            // the VM's memslots, from the module
};

std::string_view range_origin_name(RangeOrigin origin) noexcept;

struct SnapshotTarget {
    pid_t pid = 0;
    std::vector<AddressRange> ranges;  // page aligned, not overlapping
    RangeOrigin origin = RangeOrigin::given;
};

// Every private anonymous mapping of pid (Mapping::private_anonymous), in
// address order. Throws self_e::Error when the process does not exist or
// has none (a kernel thread or a zombie).
SnapshotTarget anonymous_mappings_target(const ProcFs& proc, pid_t pid);

// A VM's guest RAM: the host ranges of its address-space-0 memslots, sorted,
// with aliases merged (QEMU may map one host range at two guest addresses).
// Empty when no slot has a host address.
SnapshotTarget memslots_target(pid_t pid, std::span<const Memslot> slots);

struct RangeSnapshot {
    AddressRange range;
    PageCounts pages;
};

struct ProcessKsm {
    // Distinct KSM frames the ranges map: pages.ksm - ksm_frames pages of
    // the ranges are saved by merging within them.
    std::uint64_t frames_in_ranges = 0;
    // False on kernels that set KPF_KSM on pages KSM never merged: KSM pages
    // then count as shared (or private, when one mapping is left).
    bool ksm_flag_trusted = true;
    std::optional<std::int64_t> merging_pages;  // /proc/PID/ksm_merging_pages
    std::optional<NamedValues> stat;            // /proc/PID/ksm_stat
};

struct Snapshot {
    pid_t pid = 0;
    std::string comm;
    std::uint64_t page_size = 0;
    RangeOrigin origin = RangeOrigin::given;
    std::vector<RangeSnapshot> ranges;  // in the target's order
    PageCounts pages;                   // over all ranges
    ProcessKsm ksm;
    std::optional<NamedValues> ksm_system;  // /sys/kernel/mm/ksm; nullopt without KSM
};

// Classifies every page of the target's ranges. All or nothing: any failure
// throws self_e::Error naming the pid, file and call; so does a process
// that exits before the snapshot is complete.
Snapshot take_snapshot(const ProcFs& proc, const SysFs& sys, const SnapshotTarget& target);

}  // namespace self_e
