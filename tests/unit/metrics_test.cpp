// self-e export's text exposition format: exact text, escaping, and the
// metrics a sample turns into (names, labels, classes adding up).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <sstream>

#include "metrics.hpp"

using namespace self_e;
using namespace self_e::tool;

namespace {

VmRow row(std::uint32_t id, pid_t pid, std::string name)
{
    VmRow r;
    r.vm_id = id;
    r.pid = pid;
    r.name = std::move(name);
    r.total = 1024;
    r.touched = 300;
    r.ksm_intra = 10;
    r.ksm_inter = 129;
    r.ksm_alone = 1;
    r.zero = 20;
    r.private_pages = 130;
    r.unmapped = 10;
    r.saved_bytes = 264192;
    return r;
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

bool has_line(const std::string& text, const std::string& line)
{
    for (const std::string& l : lines_of(text))
        if (l == line)
            return true;
    return false;
}

}  // namespace

TEST_CASE("the exposition format: HELP, TYPE, labels, values, exactly", "[export]")
{
    const std::vector<MetricFamily> families = {
        {"self_e_module_loaded", "1 when loaded.", MetricType::gauge, {{{}, 1}}},
        {"self_e_empty", "no points: left out", MetricType::gauge, {}},
        {"self_e_vm_cow_breaks_total",
         "COW breaks.",
         MetricType::counter,
         {{{{"vm", "1"}, {"pid", "42"}, {"name", "web"}}, 7},
          {{{"vm", "2"}, {"pid", "43"}, {"name", "db"}}, 18446744073709551615.0}}},
        {"self_e_ratio", "A ratio \\ with\nnewline.", MetricType::gauge, {{{{"class", "a"}}, 2.5}}},
    };
    CHECK(render_exposition(families) ==
          "# HELP self_e_module_loaded 1 when loaded.\n"
          "# TYPE self_e_module_loaded gauge\n"
          "self_e_module_loaded 1\n"
          "# HELP self_e_vm_cow_breaks_total COW breaks.\n"
          "# TYPE self_e_vm_cow_breaks_total counter\n"
          "self_e_vm_cow_breaks_total{vm=\"1\",pid=\"42\",name=\"web\"} 7\n"
          "self_e_vm_cow_breaks_total{vm=\"2\",pid=\"43\",name=\"db\"} 1.8446744073709552e+19\n"
          "# HELP self_e_ratio A ratio \\\\ with\\nnewline.\n"
          "# TYPE self_e_ratio gauge\n"
          "self_e_ratio{class=\"a\"} 2.5\n");
}

TEST_CASE("label values escape backslash, double quote and newline", "[export]")
{
    CHECK(escape_label_value("plain-name_1") == "plain-name_1");
    CHECK(escape_label_value("a\"b") == "a\\\"b");
    CHECK(escape_label_value("C:\\vm") == "C:\\\\vm");
    CHECK(escape_label_value("two\nlines") == "two\\nlines");
    CHECK(escape_label_value("\\\"\n") == "\\\\\\\"\\n");
    CHECK(escape_help("a \"quoted\" \\ help\n") == "a \"quoted\" \\\\ help\\n");

    const std::vector<MetricFamily> families = {
        {"self_e_vm_readers", "Readers.", MetricType::gauge, {{{{"name", "my \"vm\"\\\nx"}}, 1}}}};
    CHECK(render_exposition(families) ==
          "# HELP self_e_vm_readers Readers.\n# TYPE self_e_vm_readers gauge\n"
          "self_e_vm_readers{name=\"my \\\"vm\\\"\\\\\\nx\"} 1\n");
}

TEST_CASE("values: integers in full, NaN and infinities as the format spells them", "[export]")
{
    CHECK(format_metric_value(0) == "0");
    CHECK(format_metric_value(4096) == "4096");
    CHECK(format_metric_value(-12) == "-12");
    CHECK(format_metric_value(123456789012345.0) == "123456789012345");
    CHECK(format_metric_value(0.25) == "0.25");
    CHECK(format_metric_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
    CHECK(format_metric_value(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(format_metric_value(-std::numeric_limits<double>::infinity()) == "-Inf");
}

TEST_CASE("a sample with the module: per-VM pages by class add up, counters, health, host KSM", "[export]")
{
    VmSample s;
    s.module = {true, 2, 3};
    s.ksm.available = true;
    s.ksm.values = {make_named_value("full_scans", "12"), make_named_value("general_profit", "-4096"),
                    make_named_value("max_page_sharing", "256"), make_named_value("pages_shared", "130"),
                    make_named_value("pages_sharing", "322")};
    s.own_dropped = 0;
    VmRow a = row(1, 100, "web");
    a.faults = 5000;
    a.cow_breaks = 7;
    a.ksm_merges = 140;
    a.events = 6000;
    a.dropped = 0;
    a.readers = 1;
    s.vms.push_back(a);
    s.vms.push_back(row(2, 200, "db \"main\""));

    const std::string text = render_exposition(metrics_from_sample(s));
    CHECK(has_line(text, "self_e_module_loaded 1"));
    CHECK(has_line(text, "self_e_module_vms 2"));
    CHECK(has_line(text, "self_e_module_readers 3"));
    CHECK(has_line(text, "self_e_exporter_dropped_events_total 0"));
    CHECK(has_line(text, "self_e_vms 2"));
    CHECK(has_line(text, "self_e_host_ksm_available 1"));
    CHECK(has_line(text, "self_e_host_ksm_shared_pages 130"));
    CHECK(has_line(text, "self_e_host_ksm_sharing_pages 322"));
    CHECK(has_line(text, "self_e_host_ksm_general_profit_bytes -4096"));
    CHECK(has_line(text, "# TYPE self_e_host_ksm_full_scans_total counter"));
    CHECK(has_line(text, "self_e_host_ksm_full_scans_total 12"));
    CHECK(text.find("max_page_sharing") == std::string::npos);
    CHECK(text.find("self_e_host_ksm_unshared_pages") == std::string::npos);  // not in this kernel

    CHECK(has_line(text, "self_e_vm_guest_pages{vm=\"1\",pid=\"100\",name=\"web\"} 1024"));
    CHECK(has_line(text, "self_e_vm_touched_pages{vm=\"1\",pid=\"100\",name=\"web\"} 300"));
    CHECK(has_line(text, "self_e_vm_pages{vm=\"1\",pid=\"100\",name=\"web\",class=\"untouched\"} 724"));
    CHECK(has_line(text, "self_e_vm_pages{vm=\"1\",pid=\"100\",name=\"web\",class=\"ksm_inter\"} 129"));
    CHECK(has_line(text, "self_e_vm_pages{vm=\"2\",pid=\"200\",name=\"db \\\"main\\\"\",class=\"zero\"} 20"));
    CHECK(has_line(text, "self_e_vm_ksm_saved_bytes{vm=\"1\",pid=\"100\",name=\"web\"} 264192"));
    CHECK(has_line(text, "self_e_vm_cow_breaks_total{vm=\"1\",pid=\"100\",name=\"web\"} 7"));
    CHECK(has_line(text, "self_e_vm_faults_total{vm=\"1\",pid=\"100\",name=\"web\"} 5000"));
    CHECK(has_line(text, "self_e_vm_events_total{vm=\"1\",pid=\"100\",name=\"web\"} 6000"));
    CHECK(has_line(text, "self_e_vm_dropped_events_total{vm=\"1\",pid=\"100\",name=\"web\"} 0"));
    // VM 2 has no counters: no point rather than a made-up 0.
    CHECK(text.find("self_e_vm_cow_breaks_total{vm=\"2\"") == std::string::npos);

    // The classes of self_e_vm_pages add up to self_e_vm_guest_pages.
    std::map<std::string, double> sums;
    for (const MetricFamily& f : metrics_from_sample(s))
        if (f.name == "self_e_vm_pages")
            for (const MetricPoint& p : f.points)
                sums[p.labels[0].value] += p.value;
    CHECK(sums == std::map<std::string, double>{{"1", 1024}, {"2", 1024}});

    // Every family is announced once, with HELP before TYPE before its points.
    std::map<std::string, int> types;
    for (const std::string& line : lines_of(text))
        if (line.rfind("# TYPE ", 0) == 0)
            ++types[line.substr(7, line.find(' ', 7) - 7)];
    for (const auto& [name, n] : types) {
        CHECK(n == 1);
        CHECK(name.rfind("self_e_", 0) == 0);
    }
}

TEST_CASE("without the module: module_loaded 0, no vm label, no event counters", "[export]")
{
    VmSample s;
    VmRow r = row(0, 321, "qemu-guest");
    r.vm_id.reset();
    s.vms.push_back(r);
    const std::string text = render_exposition(metrics_from_sample(s));
    CHECK(has_line(text, "self_e_module_loaded 0"));
    CHECK(has_line(text, "self_e_host_ksm_available 0"));
    CHECK(text.find("self_e_module_vms") == std::string::npos);
    CHECK(text.find("_total") == std::string::npos);
    CHECK(text.find("vm=\"") == std::string::npos);
    CHECK(has_line(text, "self_e_vm_pages{pid=\"321\",name=\"qemu-guest\",class=\"private\"} 130"));
}

TEST_CASE("a sampled VM: its working set per window, idle and hot pages", "[export]")
{
    VmSample s;
    s.module = {true, 1, 1};
    VmRow a = row(1, 100, "web");
    WorkingSetSummary ws;
    ws.passes = 70;
    ws.working_set_1 = 8;
    ws.working_set_10 = 9;
    ws.working_set_60 = 40;
    ws.hot_pages = 8;
    ws.idle_pages = 4000;
    a.working_set = ws;
    s.vms.push_back(a);
    s.vms.push_back(row(2, 200, "db"));  // not sampled: no series
    const std::string text = render_exposition(metrics_from_sample(s));
    CHECK(has_line(text, R"(self_e_vm_working_set_pages{vm="1",pid="100",name="web",samplings="1"} 8)"));
    CHECK(has_line(text, R"(self_e_vm_working_set_pages{vm="1",pid="100",name="web",samplings="10"} 9)"));
    CHECK(has_line(text, R"(self_e_vm_working_set_pages{vm="1",pid="100",name="web",samplings="60"} 40)"));
    CHECK(has_line(text, R"(self_e_vm_idle_pages{vm="1",pid="100",name="web"} 4000)"));
    CHECK(has_line(text, R"(self_e_vm_hot_pages{vm="1",pid="100",name="web"} 8)"));
    CHECK(has_line(text, R"(self_e_vm_sampling_passes_total{vm="1",pid="100",name="web"} 70)"));
    CHECK(text.find(R"(vm="2",pid="200",name="db",samplings=)") == std::string::npos);
    CHECK(text.find(R"(self_e_vm_idle_pages{vm="2")") == std::string::npos);
}
