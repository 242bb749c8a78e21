#include "vm_sample.hpp"

namespace self_e::tool {

std::optional<std::int64_t> HostKsm::value(std::string_view name) const
{
    return find_number(values, name);
}

namespace {

std::optional<double> rate(std::optional<std::uint64_t> now, std::optional<std::uint64_t> before,
                           double seconds)
{
    if (!now || !before || *now < *before || seconds <= 0)
        return std::nullopt;
    return static_cast<double>(*now - *before) / seconds;
}

}  // namespace

VmRates rates_between(const VmRow& now, double now_s, const VmSample* before)
{
    if (!before)
        return {};
    for (const VmRow& old : before->vms) {
        if (old.vm_id != now.vm_id || old.pid != now.pid)
            continue;
        const double dt = now_s - before->monotonic_s;
        return {rate(now.faults, old.faults, dt), rate(now.cow_breaks, old.cow_breaks, dt)};
    }
    return {};
}

VmRow row_from_report(const VmReport& report)
{
    VmRow row;
    row.pid = static_cast<pid_t>(report.pid);
    row.total = report.pages.total;
    row.touched = report.pages.touched;
    row.ksm_intra = report.pages.ksm_within;
    row.ksm_inter = report.pages.ksm_across;
    row.ksm_alone = report.pages.ksm_alone;
    row.zero = report.pages.ksm_zero;
    row.private_pages = report.pages.private_pages;
    row.unmapped = report.pages.unmapped;
    row.saved_bytes = report.saved_bytes;
    row.exact = report.exact;
    if (report.working_set.passes)
        row.working_set = report.working_set;
    return row;
}

}  // namespace self_e::tool
