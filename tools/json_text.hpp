// JSON as self-e prints it. Strings from outside (a process's name, QEMU's
// -name, text-stream values) need not be UTF-8, which JSON text must be:
// invalid bytes become U+FFFD instead of an exception that ends the command.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace self_e::tool {

inline std::string json_text(const nlohmann::ordered_json& value, int indent = -1)
{
    return value.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace self_e::tool
