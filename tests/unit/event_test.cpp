// Event type names: the text stream and the command line depend on them.
#include <catch2/catch.hpp>

#include "self_e/event.hpp"

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
