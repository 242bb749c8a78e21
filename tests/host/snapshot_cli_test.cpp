// The self-e command line: help, exit codes and messages for every refusal,
// and the JSON keys on a fake /proc (the hidden --proc-root/--sys-root), which
// can hold what this host cannot produce on demand (swapped pages).
#include <catch2/catch.hpp>

#include <linux/kernel-page-flags.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "fake_tree.hpp"
#include "run_process.hpp"

using namespace self_e::host_test;
using self_e::test::FakeTree;
using self_e::test::flag;
using json = nlohmann::json;

namespace {

RunResult snapshot(std::vector<std::string> args)
{
    args.insert(args.begin(), {SELF_E_BIN, "snapshot"});
    return run(args);
}

std::string self_pid() { return std::to_string(getpid()); }

}  // namespace

TEST_CASE("self-e and each command have --help, bad commands exit 2", "[cli]")
{
    const RunResult top = run({SELF_E_BIN, "--help"});
    CHECK(top.exit_code == 0);
    CHECK_THAT(top.out, Catch::Contains("snapshot"));

    const RunResult help = snapshot({"--help"});
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out, Catch::Contains("--pid") && Catch::Contains("--range") && Catch::Contains("--json") &&
                             Catch::Contains("bit 56"));

    const RunResult version = run({SELF_E_BIN, "--version"});
    CHECK(version.exit_code == 0);
    CHECK_THAT(version.out, Catch::StartsWith("self-e "));

    const RunResult none = run({SELF_E_BIN});
    CHECK(none.exit_code == 2);
    CHECK_THAT(none.err, Catch::Contains("subcommand is required"));

    const RunResult unknown = run({SELF_E_BIN, "snapshots"});
    CHECK(unknown.exit_code == 2);
    CHECK_THAT(unknown.err, Catch::Contains("unknown command 'snapshots'"));
}

TEST_CASE("snapshot refuses a missing or non-numeric pid with exit 2", "[cli]")
{
    const RunResult missing = snapshot({"--json"});
    CHECK(missing.exit_code == 2);
    CHECK_THAT(missing.err, Catch::Contains("--pid") && Catch::Contains("required"));

    for (const char* bad : {"abc", "12x", "-3", "0", ""}) {
        const RunResult r = snapshot({"--pid", bad});
        INFO("--pid '" << bad << "': " << r.err);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains("--pid"));
    }
    CHECK_THAT(snapshot({"--pid", "abc"}).err, Catch::Contains("'abc' is not a process id"));
}

TEST_CASE("snapshot of a pid that does not exist exits 1 naming it", "[cli]")
{
    std::ifstream in("/proc/sys/kernel/pid_max");
    long pid_max = 4194304;
    in >> pid_max;
    const std::string pid = std::to_string(pid_max + 1);  // never a live pid
    const RunResult r = snapshot({"--pid", pid});
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("no process with pid " + pid));
    CHECK(r.out.empty());
}

TEST_CASE("snapshot refuses bad ranges with exit 2 quoting them", "[cli]")
{
    const struct {
        const char* range;
        const char* says;
    } cases[] = {
        {"0x2000-0x1000", "start must be below end"},
        {"0x1001-0x2000", "not aligned"},
        {"4096-8192", "0x prefix"},
        {"0x1000", "expected 0xSTART-0xEND"},
        {"0x1000-0xzz", "not a hex number"},
    };
    for (const auto& c : cases) {
        const RunResult r = snapshot({"--pid", self_pid(), "--range", c.range});
        INFO(c.range << ": " << r.err);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains(std::string("'") + c.range + "'") && Catch::Contains(c.says) &&
                              Catch::Contains("--range"));
    }
    const RunResult overlap =
        snapshot({"--pid", self_pid(), "--range", "0x1000-0x3000", "--range", "0x2000-0x4000"});
    CHECK(overlap.exit_code == 2);
    CHECK_THAT(overlap.err, Catch::Contains("overlap"));
}

TEST_CASE("snapshot failures on a live process exit 1 with the reason", "[cli]")
{
    if (geteuid() != 0 || access("/proc/kpageflags", R_OK) != 0) {
        WARN("skipped: needs root and /proc/kpageflags");
        return;
    }
    // Past the top of the user address space (x86-64: 47 bits).
    const RunResult past = snapshot({"--pid", self_pid(), "--range", "0x7ffffffff000-0x800000001000"});
    CHECK(past.exit_code == 1);
    CHECK_THAT(past.err, Catch::Contains("address space"));

    // pid 2 is kthreadd on Linux: no memory of its own.
    std::ifstream comm("/proc/2/comm");
    std::string name;
    if (comm >> name && name == "kthreadd") {
        const RunResult kthread = snapshot({"--pid", "2"});
        CHECK(kthread.exit_code == 1);
        CHECK_THAT(kthread.err, Catch::Contains("no anonymous memory mappings"));
    }

    // Not root: as nobody, the frame files and other processes are closed.
    const RunResult nobody = run({SELF_E_BIN, "snapshot", "--pid", self_pid()}, 65534);
    if (nobody.exit_code == 126 || nobody.exit_code == 127) {
        WARN("skipped the not-root case: could not run self-e as uid 65534 (exit " << nobody.exit_code << ")");
    } else {
        CHECK(nobody.exit_code == 1);
        CHECK_THAT(nobody.err, Catch::Contains("need root"));
    }
}

TEST_CASE("snapshot --json has the documented keys and counts, swapped pages included", "[cli]")
{
    FakeTree tree;
    constexpr int pid = 4242;
    tree.add_process(pid, "fakevmm", "10000000-10004000 rw-p 00000000 00:00 0\n", 0x10010000);
    tree.set_frame_count(64);
    tree.set_pagemap(pid, 0x10000000, std::uint64_t{1} << 62);  // swapped
    tree.map_page(pid, 0x10001000, 9, false);
    tree.set_frame(9, flag(KPF_ANON) | flag(KPF_KSM));
    tree.map_page(pid, 0x10002000, 10);
    tree.set_frame(10, flag(KPF_ANON));
    tree.write(tree.proc() / "4242/ksm_merging_pages", "1\n");
    tree.write(tree.sys() / "kernel/mm/ksm/run", "1\n");
    tree.write(tree.sys() / "kernel/mm/ksm/advisor_mode", "[none] scan-time\n");

    const RunResult r = snapshot({"--pid", std::to_string(pid), "--json", "--proc-root", tree.proc().string(),
                                  "--sys-root", tree.sys().string()});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const json snap = json::parse(r.out);
    // The top-level keys in the order printed (indented by 2 in dump(2)).
    std::vector<std::string> keys;
    const std::regex top_key("\n  \"([a-z_]+)\":");
    for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), top_key); it != std::sregex_iterator(); ++it)
        keys.push_back((*it)[1]);
    CHECK(keys == std::vector<std::string>{"pid", "comm", "page_size", "range_origin", "ranges", "pages",
                                           "ksm_process", "ksm_system"});
    CHECK(snap["pid"] == pid);
    CHECK(snap["comm"] == "fakevmm");
    CHECK(snap["range_origin"] == "anonymous_mappings");
    CHECK(snap["ranges"] == json::parse(R"([{"start": 268435456, "end": 268451840}])"));
    CHECK(snap["pages"] == json::parse(R"({"total": 4, "present": 2, "private": 1, "shared": 0, "ksm": 1,
        "zero": 0, "thp": 0, "hugetlb": 0, "file": 0, "swapped": 1, "not_present": 1})"));
    CHECK(snap["ksm_process"] == json::parse(R"({"frames_in_ranges": 1, "ksm_flag_trusted": true, "merging_pages": 1, "stat": null})"));
    CHECK(snap["ksm_system"] == json::parse(R"({"advisor_mode": "none", "run": 1})"));

    const RunResult text = snapshot({"--pid", std::to_string(pid), "--proc-root", tree.proc().string(),
                                     "--sys-root", tree.sys().string(), "-v"});
    REQUIRE(text.exit_code == 0);
    CHECK_THAT(text.out, Catch::Contains("swapped") && Catch::Contains("0x10000000-0x10004000"));
}
