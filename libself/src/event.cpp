#include "self_e/event.hpp"

#include "self_e/error.hpp"
#include "self_e_names.h"
#include "self_e_text.h"

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

std::uint64_t parse_event_mask(std::span<const std::string> names)
{
    std::uint64_t mask = 0;
    for (const std::string& name : names) {
        const auto type = parse_event_type(name);
        // "none" names no event a reader can receive.
        if (!type || *type == SELF_E_EV_NONE)
            throw Error(ErrorKind::invalid_argument,
                        "unknown event type '" + name + "' (types: " + event_type_names() + ")");
        mask |= SELF_E_EVENT_MASK(*type);
    }
    return mask;
}

std::string event_type_names()
{
    std::string out;
    for (std::uint8_t t = SELF_E_EV_NONE + 1; t < SELF_E_NR_EVENT_NAMES; ++t) {
        if (!out.empty())
            out += ", ";
        out += self_e_event_names[t];
    }
    return out;
}

std::string format_event_line(const Event& ev, std::uint64_t hva)
{
    char line[SELF_E_TEXT_MAX];
    const int n = self_e_format_event(line, &ev, hva);
    return std::string(line, static_cast<std::size_t>(n));
}

}  // namespace self_e
