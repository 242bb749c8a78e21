#include "report_output.hpp"

#include <fmt/core.h>

#include "list_output.hpp"

namespace self_e::tool {

namespace {

nlohmann::ordered_json pages_json(const VmPageReport& p)
{
    return {{"total", p.total},           {"touched", p.touched},       {"ksm_shared", p.ksm_shared},
            {"ksm_across", p.ksm_across}, {"ksm_within", p.ksm_within}, {"ksm_alone", p.ksm_alone},
            {"ksm_zero", p.ksm_zero},     {"private", p.private_pages}, {"cow_broken", p.cow_broken},
            {"unmapped", p.unmapped},     {"untouched", p.untouched}};
}

// null when the VM was not sampled: no number rather than a misleading 0.
nlohmann::ordered_json working_set_json(const WorkingSetSummary& w)
{
    if (!w.passes)
        return nullptr;
    return {{"1", w.working_set_1}, {"10", w.working_set_10}, {"60", w.working_set_60}};
}

nlohmann::ordered_json sampling_json(const WorkingSetSummary& w)
{
    if (!w.passes)
        return nullptr;
    return {{"passes", w.passes},           {"partial_passes", w.partial_passes},
            {"coarse_passes", w.coarse_passes}, {"sampled_pages", w.sampled_pages},
            {"hot_pages", w.hot_pages},     {"cold_pages", w.cold_pages}};
}

std::string pages_bytes(std::uint64_t pages)
{
    return format_bytes(pages * kGuestPageBytes);
}

}  // namespace

nlohmann::ordered_json report_to_json(const AggregateReport& report, const ReportContext& context)
{
    nlohmann::ordered_json vms = nlohmann::ordered_json::array();
    for (const VmReport& vm : report.vms) {
        nlohmann::ordered_json shared_with = nlohmann::ordered_json::array();
        for (const SharedWith& s : vm.shared_with)
            shared_with.push_back({{"id", s.vm_id}, {"pages", s.pages}});
        vms.push_back({{"id", vm.vm_id},
                       {"pid", vm.pid},
                       {"exact", vm.exact},
                       {"pages", pages_json(vm.pages)},
                       {"ksm_frames", vm.ksm_frames},
                       {"sharing_ratio", vm.sharing_ratio},
                       {"saved_bytes", vm.saved_bytes},
                       {"cow_breaks", vm.cow_breaks},
                       {"unmerges", vm.counters.unmerges},
                       {"volatile_pages", vm.volatile_pages},
                       {"shared_with", shared_with},
                       {"working_set_pages", working_set_json(vm.working_set)},
                       {"idle_pages", vm.working_set.passes ? nlohmann::ordered_json(vm.working_set.idle_pages)
                                                            : nlohmann::ordered_json(nullptr)},
                       {"sampling", sampling_json(vm.working_set)}});
    }
    return {{"duration_s", context.duration_s},
            {"dropped_events", context.dropped},
            {"total",
             {{"ksm_pages", report.ksm_pages},
              {"ksm_mappers", report.ksm_mappers},
              {"sharing_ratio", report.sharing_ratio},
              {"saved_bytes", report.saved_bytes}}},
            {"vms", vms}};
}

std::string report_to_text(const AggregateReport& report, const ReportContext& context)
{
    std::string out = fmt::format("{:>4} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6} {:>10}\n",
                                  "VM", "PID", "MEMORY", "TOUCHED", "KSM", "ACROSS", "ZERO",
                                  "PRIVATE", "COW", "SAVED");
    for (const VmReport& vm : report.vms) {
        const VmPageReport& p = vm.pages;
        out += fmt::format("{:>4} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>6} {:>10}{}\n",
                           vm.vm_id, vm.pid, pages_bytes(p.total), pages_bytes(p.touched),
                           pages_bytes(p.ksm_shared), pages_bytes(p.ksm_across),
                           pages_bytes(p.ksm_zero), pages_bytes(p.private_pages), vm.cow_breaks,
                           format_bytes(vm.saved_bytes), vm.exact ? "" : "  (inexact: events lost)");
    }
    for (const VmReport& vm : report.vms)
        for (const SharedWith& s : vm.shared_with)
            out += fmt::format("VM {} shares {} ({} pages) with VM {}\n", vm.vm_id,
                               pages_bytes(s.pages), s.pages, s.vm_id);
    for (const VmReport& vm : report.vms) {
        const WorkingSetSummary& w = vm.working_set;
        if (!w.passes)
            continue;
        out += fmt::format("VM {} working set: {} last pass, {} last 10, {} last 60; {} hot, {} cold, {} idle "
                           "({} passes{})\n",
                           vm.vm_id, pages_bytes(w.working_set_1), pages_bytes(w.working_set_10),
                           pages_bytes(w.working_set_60), pages_bytes(w.hot_pages), pages_bytes(w.cold_pages),
                           pages_bytes(w.idle_pages), w.passes,
                           w.partial_passes ? fmt::format(", {} partial", w.partial_passes) : "");
    }
    out += fmt::format(
        "KSM over these VMs: {} guest pages on {} KSM pages (ratio {:.2f}), saving {}.\n",
        report.ksm_mappers, report.ksm_pages, report.sharing_ratio, format_bytes(report.saved_bytes));
    out += fmt::format("Watched {:.1f} s after the snapshot; {} events dropped.\n", context.duration_s,
                       context.dropped);
    return out;
}

}  // namespace self_e::tool
