// Event type names: the text stream and the command line depend on them.
#include <catch2/catch.hpp>

#include "self_e/event.hpp"
#include "self_e_text.h"

using namespace self_e;

TEST_CASE("every event type has a name that parses back to it", "[event]")
{
    for (std::uint8_t t = 0; t < SELF_E_EV_MAX; ++t) {
        const auto name = event_type_name(t);
        REQUIRE(name != "unknown");
        REQUIRE(parse_event_type(name) == t);
    }
    REQUIRE(event_type_name(SELF_E_EV_FAULT) == "fault");
    REQUIRE(event_type_name(SELF_E_EV_COW_BREAK) == "cow_break");
}

TEST_CASE("unknown event types and names are reported as such", "[event]")
{
    REQUIRE(event_type_name(SELF_E_EV_MAX) == "unknown");
    REQUIRE(event_type_name(255) == "unknown");
    REQUIRE_FALSE(parse_event_type("faults").has_value());
    REQUIRE_FALSE(parse_event_type("").has_value());
}

namespace {

Event make(std::uint8_t type, std::uint8_t flags, std::uint16_t vcpu, std::uint64_t gfn,
           std::uint64_t arg)
{
    Event ev{};
    ev.type = type;
    ev.flags = flags;
    ev.vcpu = vcpu;
    ev.vm_id = 3;
    ev.ts_ns = 123456789;
    ev.gfn = gfn;
    ev.arg = arg;
    return ev;
}

}  // namespace

TEST_CASE("text lines follow the documented format exactly", "[event][text]")
{
    CHECK(format_event_line(make(SELF_E_EV_FAULT, SELF_E_F_WRITE | SELF_E_F_WRITABLE, 0, 0x100,
                                 0x2b93),
                            0x7f0000100000) ==
          "ts=123456789 vm=3 type=fault vcpu=0 gfn=0x100 hva=0x7f0000100000 pfn=0x2b93 "
          "access=write writable=1 level=4k\n");
    CHECK(format_event_line(make(SELF_E_EV_FAULT, SELF_E_F_EXEC | (1 << SELF_E_F_LEVEL_SHIFT), 2,
                                 0x200, 0x400)) ==
          "ts=123456789 vm=3 type=fault vcpu=2 gfn=0x200 pfn=0x400 access=exec writable=0 "
          "level=2m\n");
    CHECK(format_event_line(make(SELF_E_EV_FAULT, SELF_E_F_PREFETCH, 1, 1, 2)) ==
          "ts=123456789 vm=3 type=fault vcpu=1 gfn=0x1 pfn=0x2 access=prefetch writable=0 "
          "level=4k\n");
    CHECK(format_event_line(make(SELF_E_EV_LOST, 0, SELF_E_VCPU_NONE, SELF_E_GFN_NONE, 17)) ==
          "ts=123456789 vm=3 type=lost count=17\n");
    CHECK(format_event_line(make(SELF_E_EV_VM_CREATE, 0, SELF_E_VCPU_NONE, SELF_E_GFN_NONE,
                                 4242)) == "ts=123456789 vm=3 type=vm_create pid=4242\n");
    CHECK(format_event_line(make(SELF_E_EV_VM_DESTROY, 0, SELF_E_VCPU_NONE, SELF_E_GFN_NONE,
                                 0)) == "ts=123456789 vm=3 type=vm_destroy\n");
    CHECK(format_event_line(make(SELF_E_EV_MEMSLOT, SELF_E_MEMSLOT_CREATE, 2 | (1 << 15), 0x0,
                                 4096),
                            0x7f0000000000) ==
          "ts=123456789 vm=3 type=memslot slot=2 as=1 gfn=0x0 pages=4096 hva=0x7f0000000000 "
          "change=create\n");
    CHECK(format_event_line(make(SELF_E_EV_KSM_MERGE, SELF_E_F_KSM_NEW, SELF_E_VCPU_NONE, 0x10,
                                 0x99)) ==
          "ts=123456789 vm=3 type=ksm_merge gfn=0x10 pfn=0x99 new=1\n");
    CHECK(format_event_line(make(SELF_E_EV_ACCESS, 0, SELF_E_VCPU_NONE, 0x40, 0xff)) ==
          "ts=123456789 vm=3 type=access gfn=0x40 bitmap=0xff\n");
    CHECK(format_event_line(make(SELF_E_EV_COW_BREAK, 0, SELF_E_VCPU_NONE, 0x10, 0x99),
                            0x1000) ==
          "ts=123456789 vm=3 type=cow_break gfn=0x10 hva=0x1000 pfn=0x99\n");
}

TEST_CASE("the longest possible line fits the buffer", "[event][text]")
{
    Event ev = make(SELF_E_EV_MEMSLOT, 3, 0xffff, ~0ULL, ~0ULL);
    ev.ts_ns = ~0ULL;
    const auto line = format_event_line(ev, ~0ULL);
    REQUIRE(line.size() < SELF_E_TEXT_MAX);
    REQUIRE(line.back() == '\n');
}
