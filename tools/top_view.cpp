#include "top_view.hpp"

#include <fmt/chrono.h>
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <numeric>

namespace self_e::tool {

namespace {

template <typename T>
std::optional<double> opt(const std::optional<T>& v)
{
    return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
}

constexpr std::string_view kNameKey = "name";
constexpr std::size_t kNameMaxWidth = 24;

}  // namespace

const std::vector<TopColumn>& top_columns()
{
    static const std::vector<TopColumn> columns = {
        {"vm", "VM", 'v', 5, false, [](const VmRow& r, const VmRates&) { return opt(r.vm_id); }, true},
        {"pid", "PID", 'p', 7, false,
         [](const VmRow& r, const VmRates&) { return std::optional<double>(r.pid); }, true},
        {kNameKey, "NAME", 'n', 4, false, nullptr, true},
        {"touch", "TOUCH/s", 't', 7, true,
         [](const VmRow&, const VmRates& r) { return r.faults_per_s; }, false},
        {"touched", "TOUCHED", 'w', 8, false,
         [](const VmRow& r, const VmRates&) { return std::optional<double>(r.touched); }, false},
        {"wset", "WSET", 's', 7, false,
         [](const VmRow& r, const VmRates&) {
             return r.working_set ? std::optional<double>(r.working_set->working_set_10) : std::nullopt;
         },
         false, true},
        {"intra", "INTRA", 'k', 7, false,
         [](const VmRow& r, const VmRates&) { return std::optional<double>(r.ksm_intra); }, false},
        {"inter", "INTER", 'x', 7, false,
         [](const VmRow& r, const VmRates&) { return std::optional<double>(r.ksm_inter); }, false},
        {"zero", "ZERO", 'z', 6, false,
         [](const VmRow& r, const VmRates&) { return std::optional<double>(r.zero); }, false},
        {"cow", "COW/s", 'c', 6, true,
         [](const VmRow&, const VmRates& r) { return r.cow_breaks_per_s; }, false},
        {"dropped", "DROP", 'd', 6, false, [](const VmRow& r, const VmRates&) { return opt(r.dropped); },
         false},
        {"idle", "IDLE", 'i', 7, false,
         [](const VmRow& r, const VmRates&) {
             return r.working_set ? std::optional<double>(r.working_set->idle_pages) : std::nullopt;
         },
         false, true},
    };
    return columns;
}

std::optional<std::size_t> find_top_column(std::string_view key)
{
    const auto& columns = top_columns();
    for (std::size_t i = 0; i < columns.size(); ++i)
        if (columns[i].key == key)
            return i;
    return std::nullopt;
}

std::optional<std::size_t> top_column_for_hotkey(char key)
{
    const auto& columns = top_columns();
    for (std::size_t i = 0; i < columns.size(); ++i)
        if (columns[i].hotkey != '\0' && columns[i].hotkey == key)
            return i;
    return std::nullopt;
}

TopFrame make_top_frame(VmSample sample, const VmSample* before, double interval_s)
{
    TopFrame frame{std::move(sample), {}, interval_s};
    for (const VmRow& row : frame.sample.vms)
        frame.rates.push_back(rates_between(row, frame.sample.monotonic_s, before));
    return frame;
}

std::string format_utc(std::chrono::system_clock::time_point time)
{
    const std::time_t t = std::chrono::system_clock::to_time_t(time);
    return fmt::format("{:%Y-%m-%d %H:%M:%S}", fmt::gmtime(t));
}

std::string fit_text(std::string_view text, std::size_t width)
{
    if (text.size() <= width)
        return std::string(text);
    if (width == 0)
        return {};
    return std::string(text.substr(0, width - 1)) + '~';
}

namespace {

// A count in width columns: in full when it fits, else with k, M, G, T.
std::string fit_number(double value, bool rate, std::size_t width)
{
    std::string text;
    if (rate && value < 100)
        text = fmt::format("{:.1f}", value);
    else
        text = fmt::format("{:.0f}", value);
    if (text.size() <= width)
        return text;
    static constexpr const char* units[] = {"k", "M", "G", "T", "P"};
    double v = value;
    for (const char* unit : units) {
        v /= 1000;
        text = v < 10 ? fmt::format("{:.1f}{}", v, unit) : fmt::format("{:.0f}{}", v, unit);
        if (text.size() <= width)
            return text;
    }
    return std::string(width, '#');
}

std::string cell(const TopColumn& column, const VmRow& row, const VmRates& rates, std::size_t width)
{
    if (column.key == kNameKey)
        return fmt::format("{:<{}}", fit_text(row.name, width), width);
    const std::optional<double> v = column.value(row, rates);
    return fmt::format("{:>{}}", v ? fit_number(*v, column.rate, width) : "-", width);
}

// Row order: by the sort column (unknown figures last), ties by VM id, pid.
std::vector<std::size_t> sorted_rows(const TopFrame& frame, const TopSort& sort)
{
    std::vector<std::size_t> order(frame.sample.vms.size());
    std::iota(order.begin(), order.end(), 0);
    const TopColumn& column = top_columns().at(sort.column);
    auto key_less = [&](std::size_t a, std::size_t b) -> int {  // -1, 0, 1
        const VmRow& ra = frame.sample.vms[a];
        const VmRow& rb = frame.sample.vms[b];
        if (column.key == kNameKey)
            return ra.name < rb.name ? -1 : rb.name < ra.name ? 1 : 0;
        const auto va = column.value(ra, frame.rates[a]);
        const auto vb = column.value(rb, frame.rates[b]);
        if (!va || !vb)
            return va ? -1 : vb ? 1 : 0;
        if (*va == *vb)
            return 0;
        return (*va < *vb) == column.ascending ? -1 : 1;
    };
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        int c = key_less(a, b);
        if (sort.reverse)
            c = -c;
        if (c != 0)
            return c < 0;
        const VmRow& ra = frame.sample.vms[a];
        const VmRow& rb = frame.sample.vms[b];
        return std::tie(ra.vm_id, ra.pid) < std::tie(rb.vm_id, rb.pid);
    });
    return order;
}

}  // namespace

std::vector<std::string> top_header_lines(const TopFrame& frame, const TopSort& sort)
{
    const VmSample& s = frame.sample;
    std::vector<std::string> lines;
    lines.push_back(fmt::format("self-e top  {} UTC  every {:g} s  sort {}{}", format_utc(s.time), frame.interval_s,
                                top_columns().at(sort.column).key, sort.reverse ? " (reversed)" : ""));
    lines.push_back(s.module.loaded
                        ? fmt::format("self_e.ko: {} VMs, {} readers; {} VMs shown", s.module.vms, s.module.readers,
                                      s.vms.size())
                        : fmt::format("self_e.ko not loaded: page snapshots from /proc; {} VMs shown", s.vms.size()));
    if (!s.ksm.available) {
        lines.emplace_back("KSM: not in this kernel");
    } else {
        std::string ksm = "KSM:";
        for (const char* name : {"pages_shared", "pages_sharing", "pages_unshared", "general_profit"})
            if (const auto v = s.ksm.value(name))
                ksm += fmt::format(" {} {}", name, *v);
        if (const auto run = s.ksm.value("run"))
            ksm += *run == 1 ? " (running)" : *run == 0 ? " (stopped)" : " (unmerging)";
        lines.push_back(std::move(ksm));
    }
    return lines;
}

std::vector<std::string> top_table_lines(const TopFrame& frame, const TopSort& sort, std::size_t width)
{
    const auto& all = top_columns();
    // The working-set columns only when some VM is sampled (--sample-interval).
    const bool sampled = std::any_of(frame.sample.vms.begin(), frame.sample.vms.end(),
                                     [](const VmRow& r) { return r.working_set.has_value(); });
    std::vector<const TopColumn*> columns;
    for (const TopColumn& c : all)
        if (sampled || !c.sampled_only)
            columns.push_back(&c);
    // Widths: NAME grows to the longest name (bounded), or to what the
    // terminal leaves; columns that do not fit are dropped from the right.
    std::vector<std::size_t> widths;
    std::size_t name_index = 0;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        widths.push_back(columns[i]->width);
        if (columns[i]->key == kNameKey)
            name_index = i;
    }
    std::size_t longest = columns[name_index]->width;
    for (const VmRow& row : frame.sample.vms)
        longest = std::max(longest, std::min(row.name.size(), kNameMaxWidth));
    std::size_t shown = columns.size();
    if (width == 0) {
        widths[name_index] = longest;
    } else {
        auto used = [&](std::size_t n) {
            std::size_t sum = 0;
            for (std::size_t i = 0; i < n; ++i)
                sum += widths[i] + (i ? 1 : 0);
            return sum;
        };
        while (shown > name_index + 1 && used(shown) > width)
            --shown;
        const std::size_t spare = width > used(shown) ? width - used(shown) : 0;
        widths[name_index] = std::min(longest, widths[name_index] + spare);
    }

    std::vector<std::string> lines;
    std::string title;
    for (std::size_t i = 0; i < shown; ++i) {
        if (i)
            title += ' ';
        title += columns[i]->key == kNameKey ? fmt::format("{:<{}}", columns[i]->title, widths[i])
                                             : fmt::format("{:>{}}", columns[i]->title, widths[i]);
    }
    lines.push_back(std::move(title));
    for (const std::size_t r : sorted_rows(frame, sort)) {
        std::string line;
        for (std::size_t i = 0; i < shown; ++i) {
            if (i)
                line += ' ';
            line += cell(*columns[i], frame.sample.vms[r], frame.rates[r], widths[i]);
        }
        lines.push_back(std::move(line));
    }
    if (width != 0)
        for (std::string& line : lines)
            line = fit_text(line, width);
    // No trailing blanks (a short last name pads nothing).
    for (std::string& line : lines)
        line.erase(line.find_last_not_of(' ') + 1);
    return lines;
}

std::string top_batch_text(const TopFrame& frame, const TopSort& sort)
{
    std::string out;
    for (const std::string& line : top_header_lines(frame, sort))
        out += line + '\n';
    for (const std::string& line : top_table_lines(frame, sort, 0))
        out += line + '\n';
    out += '\n';
    return out;
}

nlohmann::ordered_json top_json(const TopFrame& frame)
{
    using nlohmann::ordered_json;
    auto or_null = [](const auto& v) -> ordered_json {
        if (v)
            return *v;
        return nullptr;
    };
    const VmSample& s = frame.sample;
    ordered_json out;
    out["time"] = fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(s.time)));
    out["module_loaded"] = s.module.loaded;
    ordered_json ksm = ordered_json::object();
    for (const NamedValue& v : s.ksm.values)
        if (v.number)
            ksm[v.name] = *v.number;
    out["ksm"] = std::move(ksm);
    ordered_json vms = ordered_json::array();
    for (std::size_t i = 0; i < s.vms.size(); ++i) {
        const VmRow& r = s.vms[i];
        const VmRates& rate = frame.rates[i];
        vms.push_back({{"vm", or_null(r.vm_id)},
                       {"pid", r.pid},
                       {"name", r.name},
                       {"total", r.total},
                       {"touched", r.touched},
                       {"ksm_intra", r.ksm_intra},
                       {"ksm_inter", r.ksm_inter},
                       {"ksm_alone", r.ksm_alone},
                       {"zero", r.zero},
                       {"private", r.private_pages},
                       {"unmapped", r.unmapped},
                       {"saved_bytes", r.saved_bytes},
                       {"exact", r.exact},
                       {"faults", or_null(r.faults)},
                       {"faults_per_s", or_null(rate.faults_per_s)},
                       {"cow_breaks", or_null(r.cow_breaks)},
                       {"cow_breaks_per_s", or_null(rate.cow_breaks_per_s)},
                       {"ksm_merges", or_null(r.ksm_merges)},
                       {"events", or_null(r.events)},
                       {"dropped", or_null(r.dropped)},
                       {"working_set_pages",
                        r.working_set ? nlohmann::ordered_json{{"1", r.working_set->working_set_1},
                                                               {"10", r.working_set->working_set_10},
                                                               {"60", r.working_set->working_set_60}}
                                      : nlohmann::ordered_json(nullptr)},
                       {"idle_pages", r.working_set ? nlohmann::ordered_json(r.working_set->idle_pages)
                                                    : nlohmann::ordered_json(nullptr)}});
    }
    out["vms"] = std::move(vms);
    return out;
}

}  // namespace self_e::tool
