// Event records as libself sees them: the ABI's struct plus names for types.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "uapi/self_e.h"

namespace self_e {

using Event = self_e_event;

// The name used in the text stream and on the command line ("fault", ...),
// or "unknown" for a type this build does not know.
std::string_view event_type_name(std::uint8_t type) noexcept;

// The type with this name, if there is one.
std::optional<std::uint8_t> parse_event_type(std::string_view name) noexcept;

}  // namespace self_e
