#include "snapshot_output.hpp"

#include <fmt/format.h>

#include <array>
#include <iterator>
#include <string_view>
#include <utility>

namespace self_e::tool {

namespace {

template <typename... T>
void put(fmt::memory_buffer& out, fmt::format_string<T...> format, T&&... args)
{
    fmt::format_to(std::back_inserter(out), format, std::forward<T>(args)...);
}

nlohmann::ordered_json named_values_json(const std::optional<NamedValues>& values)
{
    if (!values)
        return nullptr;
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const NamedValue& v : *values) {
        if (v.number)
            out[v.name] = *v.number;
        else
            out[v.name] = v.text;
    }
    return out;
}

nlohmann::ordered_json page_counts_json(const PageCounts& c)
{
    nlohmann::ordered_json j;
    j["total"] = c.total;
    j["present"] = c.present;
    j["private"] = c.private_pages;
    j["shared"] = c.shared;
    j["ksm"] = c.ksm;
    j["zero"] = c.zero;
    j["thp"] = c.thp;
    j["hugetlb"] = c.hugetlb;
    j["file"] = c.file;
    j["swapped"] = c.swapped;
    j["not_present"] = c.not_present;
    return j;
}

double mib(std::uint64_t pages, std::uint64_t page_size)
{
    return static_cast<double>(pages) * static_cast<double>(page_size) / (1024.0 * 1024.0);
}

double percent(std::uint64_t part, std::uint64_t whole)
{
    return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

std::string_view origin_words(RangeOrigin origin)
{
    switch (origin) {
    case RangeOrigin::given: return "given";
    case RangeOrigin::anonymous_mappings: return "from its anonymous mappings";
    case RangeOrigin::memslots: return "from the VM's memslots";
    }
    return "";
}

void append_value_line(fmt::memory_buffer& out, std::string_view title, const NamedValues& values,
                       bool (*keep)(std::string_view))
{
    put(out, "{}:", title);
    int n = 0;
    for (const NamedValue& v : values) {
        if (keep && !keep(v.name))
            continue;
        // Wrap every 4 values to stay within 100 columns.
        put(out, "{}{} {}", n % 4 == 0 ? "\n  " : ", ", v.name, v.text);
        ++n;
    }
    put(out, "\n");
}

bool main_ksm_value(std::string_view name)
{
    static constexpr std::array<std::string_view, 9> names = {
        "run",          "pages_shared",   "pages_sharing", "pages_unshared", "pages_volatile",
        "full_scans",   "use_zero_pages", "ksm_zero_pages", "general_profit"};
    for (std::string_view n : names)
        if (n == name)
            return true;
    return false;
}

}  // namespace

nlohmann::ordered_json snapshot_to_json(const Snapshot& snap)
{
    nlohmann::ordered_json j;
    j["pid"] = snap.pid;
    j["comm"] = snap.comm;
    j["page_size"] = snap.page_size;
    j["range_origin"] = std::string(range_origin_name(snap.origin));
    j["ranges"] = nlohmann::ordered_json::array();
    for (const RangeSnapshot& r : snap.ranges)
        j["ranges"].push_back({{"start", r.range.start}, {"end", r.range.end}});
    j["pages"] = page_counts_json(snap.pages);
    nlohmann::ordered_json ksm;
    ksm["frames_in_ranges"] = snap.ksm.frames_in_ranges;
    ksm["ksm_flag_trusted"] = snap.ksm.ksm_flag_trusted;
    ksm["merging_pages"] = snap.ksm.merging_pages ? nlohmann::ordered_json(*snap.ksm.merging_pages)
                                                  : nlohmann::ordered_json(nullptr);
    ksm["stat"] = named_values_json(snap.ksm.stat);
    j["ksm_process"] = std::move(ksm);
    j["ksm_system"] = named_values_json(snap.ksm_system);
    return j;
}

std::string snapshot_to_text(const Snapshot& snap, bool verbose)
{
    const PageCounts& c = snap.pages;
    const std::uint64_t ps = snap.page_size;
    fmt::memory_buffer out;

    put(out, "pid {} ({}): {} range{} {}, {:.1f} MiB, pages of {} KiB\n\n", snap.pid, snap.comm,
        snap.ranges.size(), snap.ranges.size() == 1 ? "" : "s", origin_words(snap.origin),
        mib(c.total, ps), ps / 1024);

    put(out, "{:<14} {:>12} {:>12} {:>8}\n", "class", "pages", "MiB", "% total");
    auto row = [&](std::string_view name, std::uint64_t pages) {
        put(out, "{:<14} {:>12} {:>12.1f} {:>8.1f}\n", name, pages, mib(pages, ps), percent(pages, c.total));
    };
    row("present", c.present);
    row("  private", c.private_pages);
    row("  shared", c.shared);
    row("  ksm", c.ksm);
    row("  zero", c.zero);
    row("  (thp)", c.thp);
    row("  (hugetlb)", c.hugetlb);
    row("  (file)", c.file);
    row("swapped", c.swapped);
    row("not present", c.not_present);
    row("total", c.total);
    put(out, "\nprivate: mapped once; shared: mapped more than once without KSM (fork, files);\n"
        "(thp), (hugetlb), (file) count present pages of any class.\n");

    if (!snap.ksm.ksm_flag_trusted)
        put(out, "\nThis kernel sets KPF_KSM on pages KSM never merged: KSM pages count as shared\n"
            "(or private, once one mapping is left); ksm_merging_pages below is KSM's own count.\n");
    if (c.ksm) {
        const std::uint64_t saved = c.ksm - snap.ksm.frames_in_ranges;
        put(out, "\nKSM in these ranges: {} pages on {} frames (merging within them saves {} pages, {:.1f} MiB)\n",
            c.ksm, snap.ksm.frames_in_ranges, saved, mib(saved, ps));
    }
    if (snap.ksm.stat) {
        NamedValues values = *snap.ksm.stat;
        if (snap.ksm.merging_pages && !find_number(values, "ksm_merging_pages"))
            values.insert(values.begin(), make_named_value("ksm_merging_pages",
                                                           std::to_string(*snap.ksm.merging_pages)));
        append_value_line(out, fmt::format("\nKSM, process {}", snap.pid), values, nullptr);
    }
    if (snap.ksm_system)
        append_value_line(out, "KSM, system (/sys/kernel/mm/ksm)", *snap.ksm_system,
                          verbose ? nullptr : main_ksm_value);
    else
        put(out, "KSM, system: not available (kernel without CONFIG_KSM)\n");

    if (verbose) {
        put(out, "\n{:<33} {:>10} {:>10} {:>10} {:>10} {:>10}\n", "range", "pages", "present", "ksm",
            "zero", "private");
        for (const RangeSnapshot& r : snap.ranges)
            put(out, "{:<33} {:>10} {:>10} {:>10} {:>10} {:>10}\n", to_string(r.range), r.pages.total,
                r.pages.present, r.pages.ksm, r.pages.zero, r.pages.private_pages);
    }
    return fmt::to_string(out);
}

}  // namespace self_e::tool
