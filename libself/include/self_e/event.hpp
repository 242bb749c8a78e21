// Event records as libself sees them: the ABI's struct plus names for types.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "uapi/self_e.h"

namespace self_e {

using Event = self_e_event;

// The name used in the text stream and on the command line ("fault", ...),
// or "unknown" for a type this build does not know.
std::string_view event_type_name(std::uint8_t type) noexcept;

// The type with this name, if there is one.
std::optional<std::uint8_t> parse_event_type(std::string_view name) noexcept;

// The event mask (SELF_E_EVENT_MASK() bits) of these type names, e.g. from
// --type fault,memslot. Throws self_e::Error (invalid_argument) naming the
// first name that is no event type, and listing the names there are.
std::uint64_t parse_event_mask(std::span<const std::string> names);

// Every type name a mask may hold, comma-separated ("lost, vm_create, ...").
std::string event_type_names();

// The event as one line of the text stream, '\n' included: the very line the
// module's read() gives (kmod/self_e_text.h). hva is the host virtual address
// of ev.gfn, or 0 when unknown (then the line has no hva field).
std::string format_event_line(const Event& ev, std::uint64_t hva = 0);

}  // namespace self_e
