// What libself's module clients do without the module: the errors that tell
// a user to load it, event masks from --type names, memslot arithmetic and
// QEMU's -name.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "self_e/device.hpp"
#include "self_e/error.hpp"
#include "self_e/event.hpp"
#include "self_e/memslot.hpp"
#include "self_e/qemu.hpp"
#include "self_e/text_stream.hpp"

using namespace self_e;

TEST_CASE("a missing device says the module is not loaded and snapshot works without it", "[device]")
{
    const std::string path = "/nonexistent/self-e";
    const auto expect_module_hint = [&](const Error& e) {
        CHECK(e.kind() == ErrorKind::unsupported);
        CHECK_THAT(e.what(), Catch::Contains(path) && Catch::Contains("module is not loaded") &&
                                 Catch::Contains("self-e snapshot"));
    };
    try {
        open_device(path);
        FAIL("open_device succeeded");
    } catch (const Error& e) {
        expect_module_hint(e);
    }
    try {
        DeviceSession session(AttachTarget::process(1), {}, path);
        FAIL("attach succeeded");
    } catch (const Error& e) {
        expect_module_hint(e);
    }
    try {
        TextStream stream(0, path);
        FAIL("text stream opened");
    } catch (const Error& e) {
        expect_module_hint(e);
    }
}

TEST_CASE("attach targets name themselves in messages", "[device]")
{
    CHECK(AttachTarget::vm(3).describe() == "VM 3");
    CHECK(AttachTarget::process(1234).describe() == "pid 1234");
}

TEST_CASE("event masks from type names", "[event]")
{
    const std::vector<std::string> none;
    CHECK(parse_event_mask(none) == 0);  // 0: every type
    const std::vector<std::string> two{"fault", "memslot"};
    CHECK(parse_event_mask(two) == (SELF_E_EVENT_MASK(SELF_E_EV_FAULT) | SELF_E_EVENT_MASK(SELF_E_EV_MEMSLOT)));
    const std::vector<std::string> twice{"fault", "fault"};
    CHECK(parse_event_mask(twice) == SELF_E_EVENT_MASK(SELF_E_EV_FAULT));

    for (const std::string bad : {"faults", "", "none", "FAULT"}) {
        const std::vector<std::string> names{"fault", bad};
        try {
            parse_event_mask(names);
            FAIL("accepted '" << bad << "'");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::invalid_argument);
            CHECK_THAT(e.what(), Catch::Contains("'" + bad + "'") && Catch::Contains("ksm_merge"));
        }
    }
    CHECK_THAT(event_type_names(), Catch::StartsWith("lost, vm_create") && Catch::EndsWith("access, sample") &&
                                       !Catch::Contains("none"));
}

TEST_CASE("guest memory counts address space 0 only; hvas follow the slots", "[memslot]")
{
    const std::vector<Memslot> slots{
        {0, 256, 0x7f0000000000, 0, 0},                // 1 MiB at gfn 0
        {0x100, 512, 0x7f1000000000, 1, 0},            // 2 MiB at gfn 0x100
        {0, 256, 0x7f0000000000, (1u << 15) | 0, 0},  // SMM's alias of slot 0
    };
    CHECK(guest_memory_bytes(slots) == 3 * 1024 * 1024);
    CHECK(slots[2].address_space() == 1);
    CHECK(slots[2].slot() == 0);
    CHECK(gfn_to_hva(slots, 0x10) == 0x7f0000000000 + 0x10 * 4096);
    CHECK(gfn_to_hva(slots, 0x101) == 0x7f1000000000 + 4096);
    CHECK_FALSE(gfn_to_hva(slots, 0x300).has_value());
    CHECK_FALSE(gfn_to_hva(slots, SELF_E_GFN_NONE).has_value());
}

TEST_CASE("QEMU's -name in its spellings", "[qemu]")
{
    using Args = std::vector<std::string>;
    CHECK(is_qemu_command(Args{"/usr/bin/qemu-system-x86_64", "-m", "1G"}));
    CHECK(is_qemu_command(Args{"qemu-kvm"}));
    CHECK_FALSE(is_qemu_command(Args{"/rig/bin/minivmm"}));
    CHECK_FALSE(is_qemu_command(Args{}));

    CHECK(qemu_guest_name(Args{"qemu-system-x86_64", "-name", "web1"}) == "web1");
    CHECK(qemu_guest_name(Args{"qemu", "-name", "guest=db,debug-threads=on"}) == "db");
    CHECK(qemu_guest_name(Args{"qemu", "-name", "db,process=qemu:db"}) == "db");
    CHECK(qemu_guest_name(Args{"qemu", "--name", "a,,b"}) == "a,b");  // ",," is a comma
    CHECK(qemu_guest_name(Args{"qemu", "-name", "first", "-name", "second"}) == "second");
    CHECK_FALSE(qemu_guest_name(Args{"qemu", "-m", "1G"}).has_value());
    CHECK_FALSE(qemu_guest_name(Args{"qemu", "-name"}).has_value());  // no value
    CHECK_FALSE(qemu_guest_name(Args{"qemu", "-name", "debug-threads=on"}).has_value());
}
