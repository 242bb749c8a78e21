#include "self_e/named_values.hpp"

#include <charconv>

#include "self_e/error.hpp"

namespace self_e {

namespace {

std::string_view trim(std::string_view s)
{
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos)
        return {};
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

}  // namespace

NamedValue make_named_value(std::string name, std::string_view text)
{
    NamedValue v{std::move(name), std::string(trim(text)), std::nullopt};
    std::int64_t n = 0;
    const char* end = v.text.data() + v.text.size();
    const auto [ptr, ec] = std::from_chars(v.text.data(), end, n);
    if (!v.text.empty() && ec == std::errc() && ptr == end)
        v.number = n;
    return v;
}

NamedValues parse_named_values(std::string_view text, const std::string& source)
{
    NamedValues values;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (line.empty())
            continue;
        const auto sep = line.find_first_of(" \t");
        if (sep == std::string_view::npos)
            throw Error(ErrorKind::bad_format,
                        source + ": line '" + std::string(line) + "' has no value");
        std::string_view name = line.substr(0, sep);
        if (name.ends_with(':'))
            name.remove_suffix(1);
        values.push_back(make_named_value(std::string(name), line.substr(sep + 1)));
    }
    return values;
}

std::optional<std::int64_t> find_number(const NamedValues& values, std::string_view name)
{
    for (const NamedValue& v : values)
        if (v.name == name)
            return v.number;
    return std::nullopt;
}

}  // namespace self_e
