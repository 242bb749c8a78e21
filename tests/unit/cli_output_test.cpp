// What self-e list and self-e trace print: JSON shapes that scripts rely on,
// the table's units, and trace --json made from the module's text line.
#include <catch2/catch.hpp>

#include "event_json.hpp"
#include "list_output.hpp"
#include "notification_output.hpp"
#include "self_e/event.hpp"

using namespace self_e;
using namespace self_e::tool;

TEST_CASE("trace --json has the text line's fields, numbers as numbers", "[cli]")
{
    Event ev{};
    ev.type = SELF_E_EV_FAULT;
    ev.flags = SELF_E_F_WRITE | SELF_E_F_WRITABLE;
    ev.vcpu = 0;
    ev.vm_id = 3;
    ev.ts_ns = 123456789;
    ev.gfn = 0x100;
    ev.arg = 0xabcde;
    const std::string line = format_event_line(ev, 0x7f0000100000);
    REQUIRE(line == "ts=123456789 vm=3 type=fault vcpu=0 gfn=0x100 hva=0x7f0000100000 pfn=0xabcde "
                    "access=write writable=1 level=4k\n");
    const auto j = event_line_to_json(line);
    CHECK(j.dump() ==
          R"({"ts":123456789,"vm":3,"type":"fault","vcpu":0,"gfn":256,"hva":139637977776128,)"
          R"("pfn":703710,"access":"write","writable":1,"level":"4k"})");

    Event lost{};
    lost.type = SELF_E_EV_LOST;
    lost.vcpu = SELF_E_VCPU_NONE;
    lost.vm_id = 1;
    lost.ts_ns = 5;
    lost.gfn = SELF_E_GFN_NONE;
    lost.arg = 17;
    CHECK(event_line_to_json(format_event_line(lost)).dump() == R"({"ts":5,"vm":1,"type":"lost","count":17})");
    // 64-bit values survive (a KSM free has gfn = ~0).
    CHECK(event_line_to_json("ts=1 vm=1 type=ksm_free gfn=0xffffffffffffffff pfn=0x1\n")["gfn"] ==
          UINT64_MAX);
}

TEST_CASE("list --json keys and memory", "[cli]")
{
    ListedVm a;
    a.vm.vm_id = 2;
    a.vm.pid = 4242;
    a.vm.comm = "qemu-system-x86";
    a.vm.nr_vcpus = 4;
    a.vm.readers = 1;
    a.vm.events = 100;
    a.vm.dropped = 3;
    a.vm.memslots = {{0, 262144, 0x7f0000000000, 0, 0}, {0, 262144, 0x7f0000000000, 1u << 15, 0}};
    a.guest_name = "web1";
    ListedVm b;
    b.vm.vm_id = 5;
    b.vm.pid = 77;
    b.vm.comm = "minivmm";
    const auto j = list_to_json({a, b});
    REQUIRE(j["vms"].size() == 2);
    const auto& vm = j["vms"][0];
    std::vector<std::string> keys;
    for (auto it = vm.begin(); it != vm.end(); ++it)
        keys.push_back(it.key());
    CHECK(keys == std::vector<std::string>{"vm_id", "pid", "comm", "guest_name", "nr_vcpus", "memory_bytes",
                                           "readers", "events", "dropped", "sampling", "memslots"});
    CHECK(vm["memory_bytes"] == 1024ull * 1024 * 1024);  // SMM's alias not counted
    CHECK(vm["guest_name"] == "web1");
    CHECK(vm["memslots"][1]["as"] == 1);
    CHECK(vm["memslots"][1]["slot"] == 0);
    CHECK(j["vms"][1]["guest_name"].is_null());
    CHECK(j["vms"][1]["memslots"].empty());
    CHECK(list_to_json({}).dump() == R"({"vms":[]})");

    const std::string table = list_to_text({a, b});
    CHECK_THAT(table, Catch::StartsWith("   VM      PID NAME"));
    CHECK_THAT(table, Catch::Contains("4242 qemu-system-x86 web1") && Catch::Contains("1 GiB"));
    CHECK_THAT(table, Catch::Contains("77 minivmm         -"));
    CHECK_THAT(list_to_text({}), Catch::StartsWith("no VMs"));
}

TEST_CASE("byte counts with binary units", "[cli]")
{
    CHECK(format_bytes(0) == "0 B");
    CHECK(format_bytes(1000) == "1000 B");
    CHECK(format_bytes(4096) == "4 KiB");
    CHECK(format_bytes(32ull << 20) == "32 MiB");
    CHECK(format_bytes(1536) == "1.50 KiB");
    CHECK(format_bytes((10ull << 20) + (1ull << 19)) == "10.5 MiB");
    CHECK(format_bytes(4ull << 30) == "4 GiB");
    CHECK(format_bytes((1ull << 30) * 1000) == "1000 GiB");
}

TEST_CASE("list --watch prints each notification as one key=value line or JSON object", "[cli]")
{
    CHECK(notification_to_text(VmCreated{3, 120, "minivmm"}) == "vm_new vm=3 pid=120 comm=minivmm\n");
    CHECK(notification_to_text(VmDestroyed{3, 120, "minivmm"}) == "vm_del vm=3 pid=120 comm=minivmm\n");
    const MemslotChanged slot{3, SELF_E_MEMSLOT_CREATE, {0, 8192, 0x7f0000000000, 1u << 15, 0}};
    CHECK(notification_to_text(slot) ==
          "memslot vm=3 slot=0 as=1 gfn=0x0 pages=8192 hva=0x7f0000000000 change=create\n");
    CHECK(notification_to_text(RingOverflow{3, 17}) == "overflow vm=3 dropped=17\n");

    CHECK(notification_to_json(VmCreated{3, 120, "minivmm"}).dump() ==
          R"({"note":"vm_new","vm":3,"pid":120,"comm":"minivmm"})");
    CHECK(notification_to_json(slot).dump() ==
          R"({"note":"memslot","vm":3,"slot":0,"as":1,"gfn":0,"pages":8192,"hva":139637976727552,"change":"create"})");
    CHECK(notification_to_json(RingOverflow{0, 5}).dump() == R"({"note":"overflow","vm":0,"dropped":5})");
}
