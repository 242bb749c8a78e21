#include "metrics.hpp"

#include <fmt/core.h>

#include <cmath>
#include <functional>
#include <optional>

namespace self_e::tool {

std::string escape_label_value(std::string_view value)
{
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        switch (c) {
        case '\\': out += "\\\\"; break;
        case '"': out += "\\\""; break;
        case '\n': out += "\\n"; break;
        default: out += c;
        }
    }
    return out;
}

std::string escape_help(std::string_view help)
{
    std::string out;
    out.reserve(help.size());
    for (const char c : help) {
        switch (c) {
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        default: out += c;
        }
    }
    return out;
}

std::string format_metric_value(double value)
{
    if (std::isnan(value))
        return "NaN";
    if (std::isinf(value))
        return value > 0 ? "+Inf" : "-Inf";
    if (value == std::floor(value) && std::fabs(value) < 1e15)
        return fmt::format("{}", static_cast<long long>(value));
    return fmt::format("{}", value);
}

std::string render_exposition(std::span<const MetricFamily> families)
{
    std::string out;
    for (const MetricFamily& family : families) {
        if (family.points.empty())
            continue;
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", family.name, escape_help(family.help), family.name,
                           family.type == MetricType::counter ? "counter" : "gauge");
        for (const MetricPoint& point : family.points) {
            out += family.name;
            if (!point.labels.empty()) {
                out += '{';
                for (std::size_t i = 0; i < point.labels.size(); ++i) {
                    if (i)
                        out += ',';
                    out += fmt::format("{}=\"{}\"", point.labels[i].name, escape_label_value(point.labels[i].value));
                }
                out += '}';
            }
            out += ' ';
            out += format_metric_value(point.value);
            out += '\n';
        }
    }
    return out;
}

namespace {

std::vector<Label> vm_labels(const VmRow& vm)
{
    std::vector<Label> labels;
    if (vm.vm_id)
        labels.push_back({"vm", std::to_string(*vm.vm_id)});
    labels.push_back({"pid", std::to_string(vm.pid)});
    labels.push_back({"name", vm.name});
    return labels;
}

// One per-VM figure: its family, and the value of a row (none: no point).
struct VmMetric {
    const char* name;
    MetricType type;
    const char* help;
    std::function<std::optional<double>(const VmRow&)> value;
};

template <typename T>
std::optional<double> maybe(const std::optional<T>& v)
{
    return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
}

const std::vector<VmMetric>& vm_metrics()
{
    static const std::vector<VmMetric> list = {
        {"self_e_vm_guest_pages", MetricType::gauge,
         "Guest RAM of the VM in 4 KiB pages (memslots of address space 0; without self_e.ko, the "
         "private anonymous mappings of the process).",
         [](const VmRow& r) { return std::optional<double>(r.total); }},
        {"self_e_vm_touched_pages", MetricType::gauge,
         "Guest pages that have a host page now or had one since watching started (total - untouched).",
         [](const VmRow& r) { return std::optional<double>(r.touched); }},
        {"self_e_vm_ksm_saved_bytes", MetricType::gauge,
         "This VM's share of the memory its KSM pages save (n - 1 of n mappers' pages).",
         [](const VmRow& r) { return std::optional<double>(r.saved_bytes); }},
        {"self_e_vm_exact", MetricType::gauge,
         "1 when the VM's page figures are exact, 0 after lost or late events until it is seeded again.",
         [](const VmRow& r) { return std::optional<double>(r.exact ? 1 : 0); }},
        {"self_e_vm_faults_total", MetricType::counter,
         "Guest page faults KVM mapped for the VM since the exporter started watching it.",
         [](const VmRow& r) { return maybe(r.faults); }},
        {"self_e_vm_cow_breaks_total", MetricType::counter,
         "Writes that gave a KSM-shared or zero-page guest page a private copy, since watching started.",
         [](const VmRow& r) { return maybe(r.cow_breaks); }},
        {"self_e_vm_ksm_merges_total", MetricType::counter,
         "Guest pages KSM merged onto a KSM page, since watching started.",
         [](const VmRow& r) { return maybe(r.ksm_merges); }},
        {"self_e_vm_events_total", MetricType::counter,
         "Events self_e.ko produced for the VM (for every reader), as the module counts them.",
         [](const VmRow& r) { return maybe(r.events); }},
        {"self_e_vm_dropped_events_total", MetricType::counter,
         "Events of the VM that readers' full rings dropped, as the module counts them.",
         [](const VmRow& r) { return maybe(r.dropped); }},
        {"self_e_vm_readers", MetricType::gauge, "Readers attached to the VM now, the exporter included.",
         [](const VmRow& r) { return maybe(r.readers); }},
        {"self_e_vm_idle_pages", MetricType::gauge,
         "Guest pages not seen accessed in their last 60 access samplings (with --sample-interval).",
         [](const VmRow& r) { return r.working_set ? std::optional<double>(r.working_set->idle_pages) : std::nullopt; }},
        {"self_e_vm_hot_pages", MetricType::gauge,
         "Guest pages accessed in each of their last 4 access samplings (with --sample-interval).",
         [](const VmRow& r) { return r.working_set ? std::optional<double>(r.working_set->hot_pages) : std::nullopt; }},
        {"self_e_vm_sampling_passes_total", MetricType::counter,
         "Access-sampling passes the VM's working set is made of (with --sample-interval).",
         [](const VmRow& r) { return r.working_set ? std::optional<double>(r.working_set->passes) : std::nullopt; }},
    };
    return list;
}

// The page classes of self_e_vm_pages: they add up to self_e_vm_guest_pages.
struct PageClassValue {
    const char* name;
    std::uint64_t (*value)(const VmRow&);
};
constexpr PageClassValue kPageClasses[] = {
    {"untouched", [](const VmRow& r) { return r.untouched(); }},
    {"private", [](const VmRow& r) { return r.private_pages; }},
    {"ksm_intra", [](const VmRow& r) { return r.ksm_intra; }},
    {"ksm_inter", [](const VmRow& r) { return r.ksm_inter; }},
    {"ksm_alone", [](const VmRow& r) { return r.ksm_alone; }},
    {"zero", [](const VmRow& r) { return r.zero; }},
    {"unmapped", [](const VmRow& r) { return r.unmapped; }},
};

// /sys/kernel/mm/ksm files, where the kernel has them.
struct KsmFile {
    const char* file;
    const char* metric;
    MetricType type;
    const char* help;
};
constexpr KsmFile kKsmFiles[] = {
    {"pages_shared", "self_e_host_ksm_shared_pages", MetricType::gauge,
     "KSM pages in use: /sys/kernel/mm/ksm/pages_shared."},
    {"pages_sharing", "self_e_host_ksm_sharing_pages", MetricType::gauge,
     "Pages mapped to KSM pages beyond the first mapping (what KSM saves): /sys/kernel/mm/ksm/pages_sharing."},
    {"pages_unshared", "self_e_host_ksm_unshared_pages", MetricType::gauge,
     "Pages KSM checks that are unique so far: /sys/kernel/mm/ksm/pages_unshared."},
    {"pages_volatile", "self_e_host_ksm_volatile_pages", MetricType::gauge,
     "Pages changing too fast for KSM to merge: /sys/kernel/mm/ksm/pages_volatile."},
    {"ksm_zero_pages", "self_e_host_ksm_zero_pages", MetricType::gauge,
     "Pages KSM merged with the zero page (use_zero_pages): /sys/kernel/mm/ksm/ksm_zero_pages."},
    {"general_profit", "self_e_host_ksm_general_profit_bytes", MetricType::gauge,
     "What KSM saves less what it costs, in bytes: /sys/kernel/mm/ksm/general_profit."},
    {"full_scans", "self_e_host_ksm_full_scans_total", MetricType::counter,
     "Full scans of the mergeable areas ksmd has done: /sys/kernel/mm/ksm/full_scans."},
    {"run", "self_e_host_ksm_run", MetricType::gauge,
     "KSM mode: 0 stopped, 1 running, 2 unmerging everything: /sys/kernel/mm/ksm/run."},
    {"use_zero_pages", "self_e_host_ksm_use_zero_pages", MetricType::gauge,
     "1 when KSM merges zero-filled pages with the zero page: /sys/kernel/mm/ksm/use_zero_pages."},
};

MetricFamily single(const char* name, MetricType type, const char* help, double value)
{
    return {name, help, type, {{{}, value}}};
}

}  // namespace

std::vector<MetricFamily> metrics_from_sample(const VmSample& sample)
{
    std::vector<MetricFamily> out;
    out.push_back(single("self_e_module_loaded", MetricType::gauge,
                         "1 when self_e.ko is loaded and answering; 0: only snapshot metrics from /proc.",
                         sample.module.loaded ? 1 : 0));
    if (sample.module.loaded) {
        out.push_back(single("self_e_module_vms", MetricType::gauge, "VMs self_e.ko tracks.", sample.module.vms));
        out.push_back(single("self_e_module_readers", MetricType::gauge,
                             "Open readers of /dev/self-e, the exporter's included.", sample.module.readers));
    }
    if (sample.own_dropped)
        out.push_back(single("self_e_exporter_dropped_events_total", MetricType::counter,
                             "Events the module dropped from the exporter's own rings (full).",
                             static_cast<double>(*sample.own_dropped)));
    out.push_back(single("self_e_vms", MetricType::gauge, "VMs the exporter shows.",
                         static_cast<double>(sample.vms.size())));

    out.push_back({"self_e_host_ksm_available", "1 when the kernel has KSM (/sys/kernel/mm/ksm).",
                   MetricType::gauge, {{{}, sample.ksm.available ? 1.0 : 0.0}}});
    for (const KsmFile& file : kKsmFiles)
        if (const auto v = sample.ksm.value(file.file))
            out.push_back({file.metric, file.help, file.type, {{{}, static_cast<double>(*v)}}});

    MetricFamily pages{"self_e_vm_pages",
                       "Guest pages of the VM by class, adding up to self_e_vm_guest_pages: untouched, "
                       "private, ksm_intra (on a KSM page only this VM maps), ksm_inter (on a KSM page "
                       "other VMs map too), ksm_alone (a KSM page no other page maps now), zero (merged with "
                       "the zero page), unmapped (swapped or unmapped since touched).",
                       MetricType::gauge,
                       {}};
    for (const VmRow& vm : sample.vms)
        for (const PageClassValue& c : kPageClasses) {
            std::vector<Label> labels = vm_labels(vm);
            labels.push_back({"class", c.name});
            pages.points.push_back({std::move(labels), static_cast<double>(c.value(vm))});
        }
    out.push_back(std::move(pages));

    MetricFamily working_set{"self_e_vm_working_set_pages",
                             "Guest pages seen accessed within their last N access samplings (label samplings) "
                             "(with --sample-interval).",
                             MetricType::gauge,
                             {}};
    for (const VmRow& vm : sample.vms) {
        if (!vm.working_set)
            continue;
        const std::pair<const char*, std::uint64_t> windows[] = {{"1", vm.working_set->working_set_1},
                                                                 {"10", vm.working_set->working_set_10},
                                                                 {"60", vm.working_set->working_set_60}};
        for (const auto& [window, pages_now] : windows) {
            std::vector<Label> labels = vm_labels(vm);
            labels.push_back({"samplings", window});
            working_set.points.push_back({std::move(labels), static_cast<double>(pages_now)});
        }
    }
    out.push_back(std::move(working_set));

    for (const VmMetric& metric : vm_metrics()) {
        MetricFamily family{metric.name, metric.help, metric.type, {}};
        for (const VmRow& vm : sample.vms)
            if (const auto v = metric.value(vm))
                family.points.push_back({vm_labels(vm), *v});
        out.push_back(std::move(family));
    }
    return out;
}

}  // namespace self_e::tool
