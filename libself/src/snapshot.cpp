#include "self_e/snapshot.hpp"

#include <algorithm>

#include "self_e/error.hpp"
#include "self_e/page_scanner.hpp"

namespace self_e {

std::string_view range_origin_name(RangeOrigin origin) noexcept
{
    switch (origin) {
    case RangeOrigin::given: return "given";
    case RangeOrigin::anonymous_mappings: return "anonymous_mappings";
    case RangeOrigin::memslots: return "memslots";
    }
    return "unknown";
}

SnapshotTarget memslots_target(pid_t pid, std::span<const Memslot> slots)
{
    std::vector<AddressRange> ranges;
    for (const Memslot& s : slots)
        if (s.address_space() == 0 && s.hva && s.npages)
            ranges.push_back({s.hva, s.hva + s.bytes()});
    std::sort(ranges.begin(), ranges.end(),
              [](const AddressRange& a, const AddressRange& b) { return a.start < b.start; });
    SnapshotTarget target{pid, {}, RangeOrigin::memslots};
    for (const AddressRange& r : ranges) {
        if (!target.ranges.empty() && r.start <= target.ranges.back().end)
            target.ranges.back().end = std::max(target.ranges.back().end, r.end);
        else
            target.ranges.push_back(r);
    }
    return target;
}

SnapshotTarget anonymous_mappings_target(const ProcFs& proc, pid_t pid)
{
    proc.require_process(pid);
    SnapshotTarget target{pid, {}, RangeOrigin::anonymous_mappings};
    for (const Mapping& m : proc.maps(pid))
        if (m.private_anonymous() && m.range.size() > 0)
            target.ranges.push_back(m.range);
    if (target.ranges.empty())
        throw Error(ErrorKind::invalid_argument,
                    "pid " + std::to_string(pid) + " (" + proc.comm(pid) +
                        ") has no anonymous memory mappings (a kernel thread or a zombie?)");
    return target;
}

Snapshot take_snapshot(const ProcFs& proc, const SysFs& sys, const SnapshotTarget& target)
{
    proc.require_process(target.pid);
    check_no_overlap(target.ranges);

    Snapshot snap;
    snap.pid = target.pid;
    snap.comm = proc.comm(target.pid);
    snap.origin = target.origin;

    PageScanner scanner(proc, target.pid);
    snap.page_size = scanner.page_size();
    snap.ksm.ksm_flag_trusted = scanner.ksm_flag_trusted();
    std::vector<std::uint64_t> ksm_frames;
    for (const AddressRange& range : target.ranges) {
        RangeSnapshot rs{range, {}};
        scanner.scan(range, [&](std::uint64_t, std::span<const PageInfo> pages) {
            for (const PageInfo& page : pages) {
                rs.pages.add(page);
                if (page.page_class == PageClass::ksm)
                    ksm_frames.push_back(page.pfn);
            }
        });
        snap.pages += rs.pages;
        snap.ranges.push_back(rs);
    }
    std::sort(ksm_frames.begin(), ksm_frames.end());
    snap.ksm.frames_in_ranges = static_cast<std::uint64_t>(
        std::unique(ksm_frames.begin(), ksm_frames.end()) - ksm_frames.begin());

    snap.ksm.merging_pages = proc.ksm_merging_pages(target.pid);
    snap.ksm.stat = proc.ksm_stat(target.pid);
    snap.ksm_system = sys.ksm();
    // A process that exited part-way leaves a partial result: refuse it.
    proc.require_process(target.pid);
    return snap;
}

}  // namespace self_e
