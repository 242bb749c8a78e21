#include "self_e/event.hpp"

#include "self_e_names.h"

namespace self_e {

static_assert(sizeof(Event) == 32, "the ABI fixes events at 32 bytes");
static_assert(SELF_E_NR_EVENT_NAMES == SELF_E_EV_MAX, "every event type needs a name");

std::string_view event_type_name(std::uint8_t type) noexcept
{
    if (type < SELF_E_NR_EVENT_NAMES)
        return self_e_event_names[type];
    return "unknown";
}

std::optional<std::uint8_t> parse_event_type(std::string_view name) noexcept
{
    for (std::uint8_t t = 0; t < SELF_E_NR_EVENT_NAMES; ++t)
        if (name == self_e_event_names[t])
            return t;
    return std::nullopt;
}

}  // namespace self_e
