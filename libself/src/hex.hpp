// "0x..." for messages; libself does not depend on fmt.
#pragma once

#include <cstdint>
#include <string>

namespace self_e::detail {

inline std::string hex(std::uint64_t value)
{
    static constexpr char digits[] = "0123456789abcdef";
    char buf[16];
    int n = 0;
    do {
        buf[n++] = digits[value & 0xf];
        value >>= 4;
    } while (value);
    std::string out = "0x";
    while (n)
        out += buf[--n];
    return out;
}

}  // namespace self_e::detail
