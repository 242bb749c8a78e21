#include "event_json.hpp"

#include <charconv>
#include <cstdint>
#include <string>

namespace self_e::tool {

namespace {

bool parse_number(std::string_view text, std::uint64_t& value)
{
    int base = 10;
    if (text.starts_with("0x")) {
        text.remove_prefix(2);
        base = 16;
    }
    if (text.empty())
        return false;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

nlohmann::ordered_json event_line_to_json(std::string_view line)
{
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    while (!line.empty() && (line.back() == '\n' || line.back() == ' '))
        line.remove_suffix(1);
    while (!line.empty()) {
        const std::size_t space = line.find(' ');
        const std::string_view field = line.substr(0, space);
        line.remove_prefix(space == std::string_view::npos ? line.size() : space + 1);
        const std::size_t eq = field.find('=');
        if (eq == std::string_view::npos || eq == 0)
            continue;  // not key=value: the format has none, skip rather than guess
        const std::string key(field.substr(0, eq));
        const std::string_view value = field.substr(eq + 1);
        std::uint64_t number = 0;
        if (parse_number(value, number))
            out[key] = number;
        else
            out[key] = std::string(value);
    }
    return out;
}

}  // namespace self_e::tool
