// Recordings: what the writer writes the reader reads back; replaying a
// recording gives the aggregator the state live feeding gave it; truncated
// and corrupt files give errors that say what and where, never a crash.
#include <catch2/catch.hpp>
#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "aggregator_events.hpp"
#include "fake_tree.hpp"
#include "report_output.hpp"
#include "self_e/aggregate_report.hpp"
#include "self_e/error.hpp"
#include "self_e/record_file.hpp"
#include "self_e/replay.hpp"

using namespace self_e;
using namespace self_e::test;

namespace {

std::string slurp(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

std::span<const std::uint8_t> bytes_of(const std::string& s)
{
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

RecordedVm test_vm(std::uint16_t id, pid_t pid)
{
    RecordedVm vm;
    vm.vm_id = id;
    vm.pid = pid;
    vm.nr_vcpus = 2;
    vm.attached_ns = 1000 + id;
    vm.comm = "minivmm";
    vm.name = id == 1 ? "guest-one" : "";
    vm.memslots = {{0, 64, 0x7f0000000000, 0, 0}, {0, 64, 0x7f0000000000, 1u << 15, 0},
                   {0x100, 16, 0x7f1000000000, 3, 1}};
    return vm;
}

PageInfo page(PageClass c, std::uint64_t pfn, bool thp = false, bool file = false)
{
    PageInfo p;
    p.page_class = c;
    p.pfn = pfn;
    p.thp = thp;
    p.file = file;
    return p;
}

// A small recording of two VMs written the way the recorder writes one:
// header, a drain, seeds, drains, a VM added later, the end.
struct Sample {
    RecordHeader header;
    std::vector<Event> first_drain, second_drain, third_drain;
    SeedStart seed1, seed2;
    std::vector<PageInfo> pages1, pages2;
    RecordEnd end;
};

Sample sample()
{
    Sample s;
    s.header.start_mono_ns = 5'000'000'000;
    s.header.start_real_ns = 1'790'000'000'000'000'000;
    s.header.page_size = 4096;
    s.header.event_mask = 0;
    s.header.sample_interval_ms = 250;
    s.header.sample_budget_pages = 4096;
    s.header.kernel_release = "6.1.0-test";
    s.header.hostname = "host";
    s.header.vms = {test_vm(1, 101), test_vm(2, 102)};
    s.first_drain = {fault(1, 5'000'000'100, 3, 0x900)};
    s.seed1 = {1, 101, true, {{0, 0, 64, 0x7f0000000000}, {3, 0x100, 16, 0x7f1000000000}}};
    s.seed2 = {2, 102, true, {{0, 0, 64, 0x7f0000000000}}};
    for (std::uint64_t i = 0; i < 64; ++i) {
        s.pages1.push_back(i < 8 ? page(PageClass::ksm, 0x500 + i) : page(PageClass::not_present, 0));
        s.pages2.push_back(i < 8 ? page(PageClass::ksm, 0x500 + i) : i == 9 ? page(PageClass::private_page, 0x77, true, true)
                                                                           : page(PageClass::not_present, 0));
    }
    s.second_drain = {cow_break(1, 5'100'000'000, 2, 0x502), fault(2, 5'050'000'000, 20, 0x901),
                      memslot(1, 5'060'000'000, SELF_E_MEMSLOT_CREATE, 4, 0x200, 8)};
    s.third_drain = {merge(2, 5'200'000'000, 20, 0x600, true), merge(1, 5'210'000'000, 20, 0x600),
                     access(1, 5'300'000'000, 0, 0xf0), vm_destroy(3, 5'400'000'000)};
    s.end = {5'000'001'000, 5'500'000'000, 1'790'000'000'500'000'000, {{1, 9, 0, true}, {2, 3, 1, false}}};
    return s;
}

void write_sample(const std::string& path, const Sample& s, bool finish = true)
{
    RecordWriter w(path, s.header);
    w.write_events(s.first_drain);
    w.write_seed(s.seed1);
    w.write_pages(1, 0x7f0000000000, s.pages1);
    w.write_seed(s.seed2);
    w.write_pages(2, 0x7f0000000000, s.pages2);
    w.flush();
    w.write_memslots(1, test_vm(1, 101).memslots);
    w.write_events(s.second_drain);
    w.write_vm(test_vm(3, 103));
    w.write_events(s.third_drain);
    CHECK(w.events_written() == 8);
    if (finish)
        w.finish(s.end);
}

bool same_events(const std::vector<Event>& a, const std::vector<Event>& b)
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].type != b[i].type || a[i].flags != b[i].flags || a[i].vcpu != b[i].vcpu ||
            a[i].vm_id != b[i].vm_id || a[i].ts_ns != b[i].ts_ns || a[i].gfn != b[i].gfn || a[i].arg != b[i].arg)
            return false;
    return true;
}

bool same_slots(const std::vector<Memslot>& a, const std::vector<Memslot>& b)
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].base_gfn != b[i].base_gfn || a[i].npages != b[i].npages || a[i].hva != b[i].hva ||
            a[i].id != b[i].id || a[i].flags != b[i].flags)
            return false;
    return true;
}

// The error message of parsing bytes, or "" when it parsed.
std::string parse_error(const std::string& bytes)
{
    try {
        read_recording(bytes_of(bytes), "rec");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::bad_format);
        return e.what();
    }
    return "";
}

std::string compress(const std::string& body)
{
    std::string out(ZSTD_compressBound(body.size()), '\0');
    out.resize(ZSTD_compress(out.data(), out.size(), body.data(), body.size(), 1));
    return out;
}

void put_u32(std::string& b, std::uint32_t v)
{
    for (int i = 0; i < 4; ++i)
        b.push_back(static_cast<char>(v >> (8 * i)));
}

}  // namespace

TEST_CASE("a recording reads back as written", "[record]")
{
    FakeTree dir;
    const std::string path = (dir.proc() / "rec.bin").string();
    const Sample s = sample();
    write_sample(path, s);
    const Recording rec = read_recording(bytes_of(slurp(path)), path);

    CHECK(rec.header.version == kRecordFormatVersion);
    CHECK(rec.header.start_mono_ns == s.header.start_mono_ns);
    CHECK(rec.header.start_real_ns == s.header.start_real_ns);
    CHECK(rec.header.page_size == 4096);
    CHECK(rec.header.abi_version == SELF_E_ABI_VERSION);
    CHECK(rec.header.sample_interval_ms == 250);
    CHECK(rec.header.sample_budget_pages == 4096);
    CHECK(rec.header.kernel_release == "6.1.0-test");
    CHECK(rec.header.hostname == "host");
    REQUIRE(rec.header.vms.size() == 2);
    CHECK(rec.header.vms[0].vm_id == 1);
    CHECK(rec.header.vms[0].pid == 101);
    CHECK(rec.header.vms[0].nr_vcpus == 2);
    CHECK(rec.header.vms[0].attached_ns == 1001);
    CHECK(rec.header.vms[0].comm == "minivmm");
    CHECK(rec.header.vms[0].name == "guest-one");
    CHECK(rec.header.vms[1].name.empty());
    CHECK(same_slots(rec.header.vms[0].memslots, test_vm(1, 101).memslots));

    REQUIRE(rec.items.size() == 10);
    CHECK(same_events(std::get<EventBatch>(rec.items[0]).events, s.first_drain));
    const auto& seed = std::get<SeedStart>(rec.items[1]);
    CHECK(seed.vm_id == 1);
    CHECK(seed.pid == 101);
    CHECK(seed.ksm_flag_trusted);
    CHECK(seed.slots == s.seed1.slots);
    const auto& pages = std::get<SeedPages>(rec.items[4]);
    CHECK(pages.vm_id == 2);
    CHECK(pages.first_hva == 0x7f0000000000);
    REQUIRE(pages.pages.size() == 64);
    CHECK(pages.pages[3].page_class == PageClass::ksm);
    CHECK(pages.pages[3].pfn == 0x503);
    CHECK(pages.pages[9].page_class == PageClass::private_page);
    CHECK(pages.pages[9].thp);
    CHECK(pages.pages[9].file);
    CHECK_FALSE(pages.pages[9].hugetlb);
    const auto& update = std::get<MemslotUpdate>(rec.items[5]);
    CHECK(update.vm_id == 1);
    CHECK(same_slots(update.memslots, test_vm(1, 101).memslots));
    CHECK(same_events(std::get<EventBatch>(rec.items[6]).events, s.second_drain));
    CHECK(std::get<VmAdded>(rec.items[7]).vm.vm_id == 3);
    CHECK(same_events(std::get<EventBatch>(rec.items[8]).events, s.third_drain));
    const auto& end = std::get<RecordEnd>(rec.items[9]);
    CHECK(end.seeded_mono_ns == s.end.seeded_mono_ns);
    CHECK(end.end_mono_ns == s.end.end_mono_ns);
    CHECK(end.end_real_ns == s.end.end_real_ns);
    REQUIRE(end.vms.size() == 2);
    CHECK(end.vms[1].vm_id == 2);
    CHECK(end.vms[1].produced == 3);
    CHECK(end.vms[1].dropped == 1);
    CHECK(end.vms[0].ended);
    CHECK_FALSE(end.vms[1].ended);
}

TEST_CASE("replaying a recording gives the report feeding the aggregator live gave", "[record]")
{
    FakeTree dir;
    const std::string path = (dir.proc() / "rec.bin").string();
    const Sample s = sample();
    write_sample(path, s);

    // Live: what Watcher does with the same drains and seeds.
    Aggregator live;
    for (const Event& ev : s.first_drain)
        live.push(ev);
    live.release();
    live.seed_vm(1, 101, s.seed1.slots);
    live.seed_pages(1, 0x7f0000000000, s.pages1);
    live.seed_vm(2, 102, s.seed2.slots);
    live.seed_pages(2, 0x7f0000000000, s.pages2);
    for (const auto* drain : {&s.second_drain, &s.third_drain}) {
        for (const Event& ev : *drain)
            live.push(ev);
        live.release();
    }
    live.flush();

    const auto in = open_recording(path);
    RecordReader reader(*in, path);
    Aggregator replayed;
    const ReplayResult result = replay(reader, replayed);
    CHECK(result.events == 8);
    CHECK(result.vm_ids == std::vector<std::uint16_t>{1, 2, 3});
    CHECK(result.end.vms.size() == 2);

    const tool::ReportContext context{0.5, 1};
    const auto want = tool::report_to_json(make_report(live), context);
    const auto got = tool::report_to_json(make_report(replayed), context);
    CHECK(got.dump() == want.dump());
    // The sample does something: a KSM page shared across, a COW break.
    CHECK(got.at("vms").at(0).at("cow_breaks") == 1);
    CHECK(got.at("total").at("ksm_pages").get<int>() > 0);

    // One VM: as if only it had been watched.
    const auto in2 = open_recording(path);
    RecordReader reader2(*in2, path);
    Aggregator only2;
    const ReplayResult r2 = replay(reader2, only2, std::uint16_t{2});
    CHECK(r2.vm_ids == std::vector<std::uint16_t>{2});
    CHECK(r2.events == 2);
    REQUIRE(make_report(only2).vms.size() == 1);
    CHECK(make_report(only2).vms[0].vm_id == 2);
}

TEST_CASE("a truncated recording is an error naming what is missing and where", "[record]")
{
    FakeTree dir;
    const std::string path = (dir.proc() / "rec.bin").string();
    write_sample(path, sample());
    const std::string whole = slurp(path);
    REQUIRE(parse_error(whole).empty());
    for (std::size_t n = 0; n < whole.size(); ++n) {
        const std::string msg = parse_error(whole.substr(0, n));
        INFO("prefix of " << n << " bytes: " << msg);
        REQUIRE_FALSE(msg.empty());
        CHECK(msg.find("truncated") != std::string::npos);
        CHECK(msg.find("offset") != std::string::npos);
    }
    CHECK(parse_error(whole.substr(0, 10)).find("less than a header") != std::string::npos);
}

TEST_CASE("a recording whose writer did not finish says it has no END", "[record]")
{
    FakeTree dir;
    const std::string path = (dir.proc() / "rec.bin").string();
    write_sample(path, sample(), false);
    const std::string msg = parse_error(slurp(path));
    CHECK(msg.find("no END record") != std::string::npos);
}

TEST_CASE("a corrupt recording is an error, whatever byte is wrong", "[record]")
{
    FakeTree dir;
    const std::string path = (dir.proc() / "rec.bin").string();
    write_sample(path, sample());
    const std::string whole = slurp(path);

    std::string bad = whole;
    bad[0] = 'X';
    CHECK(parse_error(bad).find("not a self-e recording") != std::string::npos);
    bad = whole;
    bad[8] = 2;
    CHECK(parse_error(bad).find("format version 2") != std::string::npos);
    bad = whole;
    bad.replace(12, 4, std::string("\x03\0\0\0", 4));  // header length 3
    CHECK(parse_error(bad).find("header length") != std::string::npos);

    // Every single flipped byte: an error or (in a field no check covers,
    // e.g. a name) a recording, never anything else.
    std::size_t errors = 0;
    for (std::size_t i = 0; i < whole.size(); ++i) {
        bad = whole;
        bad[i] = static_cast<char>(bad[i] ^ 0x5a);
        errors += !parse_error(bad).empty();
    }
    CHECK(errors > whole.size() / 2);
}

TEST_CASE("a body record that lies about its size or kind is refused with its offset", "[record]")
{
    FakeTree dir;
    const std::string path = (dir.proc() / "rec.bin").string();
    RecordHeader header;
    header.kernel_release = "k";
    {
        RecordWriter w(path, header);
        w.finish({});
    }
    const std::string whole = slurp(path);
    const std::size_t header_bytes = std::uint8_t(whole[12]) | std::uint8_t(whole[13]) << 8;
    const std::string head = whole.substr(0, header_bytes);

    std::string body;
    put_u32(body, 99);
    put_u32(body, 0);
    CHECK(parse_error(head + compress(body)).find("unknown record tag 99 (a newer format version, or corrupt) (body offset 0") !=
          std::string::npos);

    body.clear();
    put_u32(body, 2);
    put_u32(body, 0xffffffff);
    CHECK(parse_error(head + compress(body)).find("record length 4294967295 exceeds") != std::string::npos);

    body.clear();
    put_u32(body, 6);  // END
    put_u32(body, 28);
    body += std::string(24, '\0');
    put_u32(body, 5);  // 5 VMs of 19 bytes in 0 bytes
    CHECK(parse_error(head + compress(body)).find("truncated: END record VMs: 5 items of 19 bytes") !=
          std::string::npos);

    body.clear();
    put_u32(body, 2);  // EVENTS, 1 event claimed, 31 bytes given
    put_u32(body, 35);
    put_u32(body, 1);
    body += std::string(31, '\0');
    CHECK(parse_error(head + compress(body)).find("EVENTS record") != std::string::npos);

    CHECK(parse_error(head + "garbage that is no zstd frame").find("corrupt compressed body") != std::string::npos);
    CHECK(parse_error(whole + compress(std::string(8, '\0'))).find("data after the END record") != std::string::npos);
}
