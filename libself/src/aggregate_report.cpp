#include "self_e/aggregate_report.hpp"

#include <algorithm>

namespace self_e {

namespace {

// What one VM's pages on KSM pages add up to, gathered per KSM page.
struct KsmTally {
    std::uint64_t across = 0, within = 0, alone = 0, frames = 0, saved_bytes = 0;
    FlatU64Map<std::uint64_t> shared_with;  // other VM id -> pages
};

}  // namespace

AggregateReport make_report(const Aggregator& aggregator)
{
    AggregateReport report;
    const std::vector<std::uint16_t> ids = aggregator.vm_ids();
    std::vector<KsmTally> tally(ids.empty() ? 0 : std::size_t{ids.back()} + 1);

    aggregator.ksm_pages().for_each([&](std::uint64_t, const KsmSharers& sharers) {
        const std::uint64_t n = sharers.mappers();
        ++report.ksm_pages;
        report.ksm_mappers += n;
        for (std::size_t i = 0; i < sharers.size(); ++i) {
            const KsmSharer& s = sharers[i];
            if (s.vm_id >= tally.size())
                continue;  // cannot happen: a VM leaves every KSM page as it goes
            KsmTally& t = tally[s.vm_id];
            ++t.frames;
            t.saved_bytes += kGuestPageBytes * s.pages * (n - 1) / n;
            if (sharers.size() > 1) {
                t.across += s.pages;
                for (std::size_t j = 0; j < sharers.size(); ++j)
                    if (j != i)
                        *t.shared_with.try_emplace(sharers[j].vm_id).first += s.pages;
            } else if (s.pages > 1) {
                t.within += s.pages;
            } else {
                t.alone += s.pages;
            }
        }
    });
    report.saved_bytes = (report.ksm_mappers - report.ksm_pages) * kGuestPageBytes;
    report.sharing_ratio =
        report.ksm_pages ? double(report.ksm_mappers) / double(report.ksm_pages) : 0.0;

    for (std::uint16_t id : ids) {
        const VmPages& vm = *aggregator.vm(id);
        KsmTally& t = tally[id];
        VmReport r;
        r.vm_id = id;
        r.pid = vm.pid();
        r.exact = vm.exact;
        VmPageReport& p = r.pages;
        p.total = vm.pages();
        p.untouched = vm.count(PageState::untouched);
        p.touched = p.total - p.untouched;
        p.ksm_shared = vm.count(PageState::ksm);
        p.ksm_across = t.across;
        p.ksm_within = t.within;
        p.ksm_alone = t.alone;
        p.ksm_zero = vm.count(PageState::zero);
        p.cow_broken = vm.count(PageState::cow_broken);
        p.private_pages = vm.count(PageState::private_page) + p.cow_broken;
        p.unmapped = vm.count(PageState::unmapped);
        r.ksm_frames = t.frames;
        r.sharing_ratio = t.frames ? double(p.ksm_shared) / double(t.frames) : 0.0;
        r.saved_bytes = t.saved_bytes;
        r.cow_breaks = vm.counters.cow_breaks;
        r.volatile_pages = vm.volatile_pages();
        t.shared_with.for_each([&](std::uint64_t other, std::uint64_t pages) {
            r.shared_with.push_back({static_cast<std::uint16_t>(other), pages});
        });
        std::sort(r.shared_with.begin(), r.shared_with.end(),
                  [](const SharedWith& a, const SharedWith& b) { return a.vm_id < b.vm_id; });
        r.working_set = vm.working_set.summary();
        r.counters = vm.counters;
        report.vms.push_back(std::move(r));
    }
    report.pending_events = aggregator.pending();
    report.late_events = aggregator.late_events();
    report.bytes = aggregator.bytes();
    return report;
}

}  // namespace self_e
