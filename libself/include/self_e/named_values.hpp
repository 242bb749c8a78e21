// Name/value pairs read from the kernel's counter files (/proc/PID/ksm_stat,
// /sys/kernel/mm/ksm/*), kept as the kernel wrote them: which names exist
// depends on the kernel version, so nothing here insists on a fixed set.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace self_e {

struct NamedValue {
    std::string name;
    std::string text;                   // the value as written, trimmed
    std::optional<std::int64_t> number; // set when text is a whole decimal number

    friend bool operator==(const NamedValue&, const NamedValue&) = default;
};

using NamedValues = std::vector<NamedValue>;

NamedValue make_named_value(std::string name, std::string_view text);

// Lines of "name value" or "name: value" (both occur in /proc/PID/ksm_stat).
// Blank lines are skipped; a line without a value throws self_e::Error
// (bad_format) naming source and the line.
NamedValues parse_named_values(std::string_view text, const std::string& source);

// The number called name, if present and numeric.
std::optional<std::int64_t> find_number(const NamedValues& values, std::string_view name);

}  // namespace self_e
