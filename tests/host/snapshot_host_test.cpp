// `self-e snapshot` (the real binary) against this host's kernel: processes
// with memory of known kinds, KSM merging across and within them, and the
// tests' own page-by-page reading of pagemap/kpageflags/kpagecount as the
// ground truth, compared count by count.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "ksm_settings.hpp"
#include "page_truth.hpp"
#include "run_process.hpp"

using namespace self_e::host_test;
using json = nlohmann::json;

namespace {

constexpr std::uint64_t kPage = 4096;
constexpr int kShared = 64, kDup = 32, kUnique = 32, kZeroWritten = 32, kZeroRead = 32,
              kUntouched = 32, kCow = 16, kThpMib = 4;

// Why this host cannot run these tests, or "".
std::string host_unfit_reason()
{
    if (geteuid() != 0)
        return "not root";
    if (access("/proc/kpageflags", R_OK) != 0 || access("/proc/self/pagemap", R_OK) != 0)
        return "no readable /proc/kpageflags or /proc/PID/pagemap";
    return {};
}

std::string hex(std::uint64_t v)
{
    std::ostringstream s;
    s << "0x" << std::hex << v;
    return s.str();
}

Truth truth_from_json(const json& snap)
{
    Truth t;  // exclusive_disagrees_with_kpagecount stays 0: compared separately
    for (const auto& [key, value] : snap.at("pages").items())
        t.pages[key] = value.get<std::uint64_t>();
    t.ksm_frames = snap.at("ksm_process").at("frames_in_ranges").get<std::uint64_t>();
    return t;
}

json snapshot_json(pid_t pid, const std::vector<Range>& ranges)
{
    std::vector<std::string> argv{SELF_E_BIN, "snapshot", "--pid", std::to_string(pid), "--json"};
    for (const auto& [start, end] : ranges) {
        argv.push_back("--range");
        argv.push_back(hex(start) + "-" + hex(end));
    }
    const RunResult r = run(argv);
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out);
}

// Runs self-e between two readings of the truth until both readings agree
// (nothing moved meanwhile), then requires self-e to agree exactly.
json check_against_truth(pid_t pid, const std::vector<Range>& ranges, bool pass_ranges = true)
{
    for (int attempt = 0; attempt < 5; ++attempt) {
        const Truth before = read_truth(pid, ranges);
        json snap = snapshot_json(pid, pass_ranges ? ranges : std::vector<Range>{});
        const Truth after = read_truth(pid, ranges);
        if (before != after)
            continue;
        CHECK(truth_from_json(snap).pages == before.pages);
        CHECK(truth_from_json(snap).ksm_frames == before.ksm_frames);
        CHECK(before.exclusive_disagrees_with_kpagecount == 0);
        return snap;
    }
    FAIL("the pages of pid " << pid << " kept changing between readings");
    return {};
}

Range region(const Subject& s, const std::string& name) { return s.region(name); }

std::map<std::string, std::uint64_t> truth_of(const Subject& s, const std::string& name)
{
    return read_truth(s.pid(), {region(s, name)}).pages;
}

bool thp_enabled()
{
    std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    return !text.empty() && text.find("[never]") == std::string::npos;
}

std::vector<std::string> subject_args(std::uint64_t seed, std::uint64_t salt, bool extras)
{
    std::vector<std::string> args{"--seed", std::to_string(seed), "--salt", std::to_string(salt),
                                  "--shared", std::to_string(kShared), "--dup", std::to_string(kDup),
                                  "--unique", std::to_string(kUnique), "--zero-written",
                                  std::to_string(kZeroWritten), "--zero-read", std::to_string(kZeroRead),
                                  "--untouched", std::to_string(kUntouched)};
    if (extras)
        args.insert(args.end(), {"--cow", std::to_string(kCow), "--thp-mib", std::to_string(kThpMib)});
    return args;
}

}  // namespace

TEST_CASE("snapshot counts match the kernel's tables for two processes that KSM merges", "[host][ksm]")
{
    if (const std::string why = host_unfit_reason(); !why.empty()) {
        WARN("skipped: " << why);
        return;
    }
    std::mt19937_64 rng(std::random_device{}());
    const std::uint64_t seed = rng() | 1, salt_a = rng() | 2, salt_b = rng() | 4;

    const std::string ksm_missing = KsmSettings::unavailable_reason();
    std::optional<KsmSettings> ksm;  // restores the knobs when the test ends, pass or fail
    if (ksm_missing.empty()) {
        ksm.emplace();
        KsmSettings::write("use_zero_pages", "1");
        KsmSettings::write("pages_to_scan", "20000");
        KsmSettings::write("sleep_millisecs", "10");
        KsmSettings::write("run", "1");
    } else {
        WARN("KSM not available (" << ksm_missing << "): checking present, zero and THP pages only");
    }

    const Subject a(subject_args(seed, salt_a, true));
    const Subject b(subject_args(seed, salt_b, false));

    if (ksm) {
        // Merged when every shared and dup page is KSM and every zero-written page is zero.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        std::map<std::string, std::uint64_t> ta, tb;
        for (;;) {
            ta = truth_of(a, "mergeable");
            tb = truth_of(b, "mergeable");
            const bool merged = ta["ksm"] == kShared + kDup && tb["ksm"] == kShared + kDup &&
                                ta["zero"] == kZeroWritten + kZeroRead &&
                                tb["zero"] == kZeroWritten + kZeroRead;
            if (merged)
                break;
            if (std::chrono::steady_clock::now() > deadline)
                FAIL("KSM did not merge the subjects' pages within 15 s: a " << Catch::Detail::stringify(ta)
                                                                         << " b " << Catch::Detail::stringify(tb));
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        KsmSettings::write("run", "0");  // freeze: merged pages stay merged
    }

    // Every count, over all regions together and (for A) region by region.
    for (const Subject* s : {&a, &b}) {
        std::vector<Range> ranges;
        for (const auto& [name, r] : s->regions())
            if (name == "mergeable" || name == "cow" || name == "thp")
                ranges.push_back(r);
        const json snap = check_against_truth(s->pid(), ranges);
        CHECK(snap.at("pid") == s->pid());
        CHECK(snap.at("range_origin") == "given");
        REQUIRE(snap.at("ranges").size() == ranges.size());
        for (std::size_t i = 0; i < ranges.size(); ++i) {
            CHECK(snap["ranges"][i].at("start").get<std::uint64_t>() == ranges[i].first);
            CHECK(snap["ranges"][i].at("end").get<std::uint64_t>() == ranges[i].second);
        }
    }
    for (const auto& [name, r] : a.regions())
        if (r.first != r.second && name != "mergeable")
            check_against_truth(a.pid(), {r});

    // The known kinds of memory land in the expected classes.
    CHECK(truth_of(a, "unique")["private"] == kUnique);
    CHECK(truth_of(a, "zero-read")["zero"] == kZeroRead);
    CHECK(truth_of(a, "untouched")["not_present"] == kUntouched);
    CHECK(truth_of(a, "cow")["shared"] == kCow);
    if (ksm) {
        CHECK(truth_of(a, "shared")["ksm"] == kShared);
        CHECK(truth_of(a, "dup")["ksm"] == kDup);
        CHECK(truth_of(a, "zero-written")["zero"] == kZeroWritten);
        // The dup pages sit on one frame; the shared ones on frames B maps too.
        CHECK(read_truth(a.pid(), {region(a, "dup")}).ksm_frames == 1);
        const json snap = snapshot_json(a.pid(), {region(a, "shared")});
        CHECK(snap.at("ksm_process").at("frames_in_ranges") == kShared);
        CHECK(snap.at("ksm_system").at("run") == 0);
        CHECK(snap.at("ksm_process").at("stat").is_object());
    } else {
        CHECK(truth_of(a, "zero-written")["private"] == kZeroWritten);
    }
    const auto thp = truth_of(a, "thp");
    CHECK(thp.at("present") == kThpMib * 256);
    if (thp_enabled() && thp.at("thp") == 0)
        WARN("THP is enabled but the subject got no transparent huge page (fragmented memory?)");
}

TEST_CASE("snapshot without --range covers exactly the private anonymous mappings", "[host]")
{
    if (const std::string why = host_unfit_reason(); !why.empty()) {
        WARN("skipped: " << why);
        return;
    }
    const Subject s({"--unique", "8", "--zero-read", "4", "--untouched", "4", "--cow", "4"});

    // The rule, read independently: inode 0, private, unnamed or [heap]/[stack]/[anon:...].
    std::vector<Range> expected;
    std::ifstream maps("/proc/" + std::to_string(s.pid()) + "/maps");
    for (std::string line; std::getline(maps, line);) {
        std::istringstream in(line);
        std::string range, perms, offset, dev, inode, path;
        in >> range >> perms >> offset >> dev >> inode;
        std::getline(in >> std::ws, path);
        const bool anonymous = path.empty() || path == "[heap]" || path == "[stack]" || path.rfind("[anon:", 0) == 0;
        if (inode == "0" && perms[3] == 'p' && anonymous) {
            const auto dash = range.find('-');
            expected.emplace_back(std::stoull(range.substr(0, dash), nullptr, 16),
                                  std::stoull(range.substr(dash + 1), nullptr, 16));
        }
    }
    REQUIRE_FALSE(expected.empty());

    const json snap = check_against_truth(s.pid(), expected, /*pass_ranges=*/false);
    CHECK(snap.at("range_origin") == "anonymous_mappings");
    std::vector<Range> got;
    for (const json& r : snap.at("ranges"))
        got.emplace_back(r.at("start").get<std::uint64_t>(), r.at("end").get<std::uint64_t>());
    CHECK(got == expected);
    // The subject's own regions are inside them.
    for (const auto& [name, r] : s.regions()) {
        bool inside = false;
        for (const Range& e : got)
            inside |= e.first <= r.first && r.second <= e.second;
        CHECK(inside);
    }
    // fork() made the subject's pages shared with its child.
    CHECK(snap.at("pages").at("shared").get<std::uint64_t>() >= 4);
}

TEST_CASE("snapshot prints a table with units by default", "[host]")
{
    if (const std::string why = host_unfit_reason(); !why.empty()) {
        WARN("skipped: " << why);
        return;
    }
    const Subject s({"--unique", "256"});
    const auto [start, end] = s.region("unique");
    const RunResult r = run({SELF_E_BIN, "snapshot", "--pid", std::to_string(s.pid()), "--range",
                             hex(start) + "-" + hex(end)});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("pid " + std::to_string(s.pid()) + " (snapshot_subjec)") &&
                          Catch::Contains("1 range given, 1.0 MiB") && Catch::Contains("MiB"));
    CHECK_THAT(r.out, Catch::Matches("(.|\n)*\n  private +256 +1\\.0 +100\\.0\n(.|\n)*"));
}
