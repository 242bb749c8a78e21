// `self-e trace --json`: one JSON object per event, made from the event's
// text line, so the two outputs name the same fields the same way whether
// the line came from the module's read() or from libself's formatter.
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

namespace self_e::tool {

// {"ts":..., "vm":..., "type":"fault", "vcpu":0, "gfn":256, ...}: every
// key=value field of the line, in its order. Decimal and 0x-hex values are
// JSON numbers; words (type, access, level, change) stay strings.
nlohmann::ordered_json event_line_to_json(std::string_view line);

}  // namespace self_e::tool
