// self-e top's output: --batch text line by line, the table cut to 80
// columns, sort keys, rates between samples, --json keys.
#include <catch2/catch.hpp>

#include <sstream>

#include "top_view.hpp"

using namespace self_e;
using namespace self_e::tool;

namespace {

VmRow row(std::uint32_t id, pid_t pid, std::string name, std::uint64_t touched, std::uint64_t inter)
{
    VmRow r;
    r.vm_id = id;
    r.pid = pid;
    r.name = std::move(name);
    r.total = 4096;
    r.touched = touched;
    r.ksm_inter = inter;
    r.ksm_intra = 3;
    r.zero = 1;
    r.private_pages = touched - inter - 4;
    r.faults = touched;
    r.cow_breaks = 2;
    r.events = 100;
    r.dropped = 0;
    return r;
}

VmSample sample_at(double t)
{
    VmSample s;
    s.time = std::chrono::system_clock::from_time_t(1795763523);  // 2026-11-27 07:12:03 UTC
    s.monotonic_s = t;
    s.module = {true, 2, 2};
    s.ksm.available = true;
    s.ksm.values = {make_named_value("general_profit", "1052672"), make_named_value("pages_shared", "130"),
                    make_named_value("pages_sharing", "322"), make_named_value("pages_unshared", "5"),
                    make_named_value("run", "1")};
    s.vms.push_back(row(1, 153, "minivmm", 131, 129));
    s.vms.push_back(row(2, 159, "a-guest-with-a-very-long-name-indeed", 1200, 129));
    return s;
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

}  // namespace

TEST_CASE("top --batch: the first snapshot, exactly", "[top]")
{
    const TopFrame frame = make_top_frame(sample_at(10), nullptr, 2);
    const TopSort sort{*find_top_column("touched"), false};
    CHECK(lines_of(top_batch_text(frame, sort)) ==
          std::vector<std::string>{
              "self-e top  2026-11-27 07:12:03 UTC  every 2 s  sort touched",
              "self_e.ko: 2 VMs, 2 readers; 2 VMs shown",
              "KSM: pages_shared 130 pages_sharing 322 pages_unshared 5 general_profit 1052672 (running)",
              "   VM     PID NAME                     TOUCH/s  TOUCHED   INTRA   INTER   ZERO  COW/s   DROP",
              "    2     159 a-guest-with-a-very-lon~       -     1200       3     129      1      -      0",
              "    1     153 minivmm                        -      131       3     129      1      -      0",
              "",
          });
}

TEST_CASE("top: rates from the sample before, per second", "[top]")
{
    VmSample before = sample_at(10);
    VmSample now = sample_at(12);
    now.vms[0].faults = 131 + 50;  // 25/s
    now.vms[0].cow_breaks = 2 + 3;  // 1.5/s
    now.vms[1].faults = 1200 + 2000;  // 1000/s
    now.vms[1].pid = 999;             // another process: no rate
    const TopFrame frame = make_top_frame(now, &before, 2);
    REQUIRE(frame.rates.size() == 2);
    CHECK(*frame.rates[0].faults_per_s == Approx(25));
    CHECK(*frame.rates[0].cow_breaks_per_s == Approx(1.5));
    CHECK_FALSE(frame.rates[1].faults_per_s);
    const auto lines = top_table_lines(frame, {*find_top_column("touch"), false}, 0);
    REQUIRE(lines.size() == 3);
    CHECK(lines[1] == "    1     153 minivmm                     25.0      131       3     129      1    1.5      0");
    CHECK(lines[2] == "    2     999 a-guest-with-a-very-lon~       -     1200       3     129      1      -      0");
}

TEST_CASE("top: at 80 columns NAME shrinks, and narrower terminals drop columns from the right", "[top]")
{
    const TopFrame frame = make_top_frame(sample_at(10), nullptr, 2);
    const TopSort sort{*find_top_column("vm"), false};
    const auto at80 = top_table_lines(frame, sort, 80);
    CHECK(at80 == std::vector<std::string>{
                      "   VM     PID NAME         TOUCH/s  TOUCHED   INTRA   INTER   ZERO  COW/s   DROP",
                      "    1     153 minivmm            -      131       3     129      1      -      0",
                      "    2     159 a-guest-wit~       -     1200       3     129      1      -      0",
                  });
    CHECK(at80[0].size() == 80);  // NAME took all the room there is
    for (const std::string& line : at80)
        CHECK(line.size() <= 80);

    const auto at40 = top_table_lines(frame, sort, 40);
    CHECK(at40 == std::vector<std::string>{
                      "   VM     PID NAME      TOUCH/s  TOUCHED",
                      "    1     153 minivmm         -      131",
                      "    2     159 a-guest-~       -     1200",
                  });
    // Too narrow even for the ids: lines are cut.
    for (const std::string& line : top_table_lines(frame, sort, 10))
        CHECK(line.size() <= 10);
    CHECK(top_table_lines(frame, sort, 10)[1] == "    1    ~");
}

TEST_CASE("top: sort keys, hotkeys, reverse", "[top]")
{
    CHECK(find_top_column("cow"));
    CHECK_FALSE(find_top_column("bogus"));
    CHECK(top_column_for_hotkey('k') == find_top_column("intra"));
    CHECK_FALSE(top_column_for_hotkey('q'));
    const TopFrame frame = make_top_frame(sample_at(10), nullptr, 2);
    auto first_pid = [&](const TopSort& sort) { return top_table_lines(frame, sort, 0)[1].substr(5, 8); };
    CHECK(first_pid({*find_top_column("vm"), false}) == "     153");
    CHECK(first_pid({*find_top_column("vm"), true}) == "     159");
    CHECK(first_pid({*find_top_column("touched"), false}) == "     159");
    CHECK(first_pid({*find_top_column("name"), false}) == "     159");  // "a-guest..." < "minivmm"
}

TEST_CASE("top --json: one object with the documented keys", "[top]")
{
    VmSample s = sample_at(10);
    s.vms[1].vm_id.reset();
    s.vms[1].faults.reset();
    const auto j = top_json(make_top_frame(s, nullptr, 2));
    CHECK(j["time"] == "2026-11-27T07:12:03Z");
    CHECK(j["module_loaded"] == true);
    CHECK(j["ksm"]["pages_sharing"] == 322);
    REQUIRE(j["vms"].size() == 2);
    CHECK(j["vms"][0]["vm"] == 1);
    CHECK(j["vms"][0]["ksm_inter"] == 129);
    CHECK(j["vms"][0]["faults_per_s"].is_null());
    CHECK(j["vms"][1]["vm"].is_null());
    CHECK(j["vms"][1]["faults"].is_null());
    CHECK(j.dump().find('\n') == std::string::npos);
}

TEST_CASE("top: the working-set columns appear once a VM is sampled", "[top]")
{
    VmSample s = sample_at(10);
    WorkingSetSummary ws;
    ws.passes = 70;
    ws.working_set_10 = 9;
    ws.idle_pages = 4087;
    s.vms[0].working_set = ws;
    const TopFrame frame = make_top_frame(s, nullptr, 2);
    const std::vector<std::string> lines = top_table_lines(frame, {*find_top_column("vm"), false}, 0);
    CHECK(lines[0] ==
          "   VM     PID NAME                     TOUCH/s  TOUCHED    WSET   INTRA   INTER   ZERO  COW/s   DROP    IDLE");
    CHECK(lines[1] ==
          "    1     153 minivmm                        -      131       9       3     129      1      -      0    4087");
    CHECK(lines[2] ==
          "    2     159 a-guest-with-a-very-lon~       -     1200       -       3     129      1      -      0       -");
    const auto json = top_json(frame);
    CHECK(json["vms"][0]["working_set_pages"]["10"] == 9);
    CHECK(json["vms"][0]["idle_pages"] == 4087);
    CHECK(json["vms"][1]["working_set_pages"].is_null());
}
