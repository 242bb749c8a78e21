#include "self_e/address_range.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

#include "hex.hpp"
#include "self_e/error.hpp"

namespace self_e {

namespace {

Error bad_range(std::string_view text, const std::string& why)
{
    return Error(ErrorKind::invalid_argument,
                 "bad range '" + std::string(text) + "': " + why, 0);
}

// One "0x..." address of the range text whole.
std::uint64_t parse_hex_address(std::string_view text, std::string_view whole, const char* which)
{
    if (text.size() < 3 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
        throw bad_range(whole, std::string(which) + " address '" + std::string(text) +
                                   "' must be hex with a 0x prefix (expected 0xSTART-0xEND)");
    const std::string_view digits = text.substr(2);
    std::uint64_t value = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
    if (ec == std::errc::result_out_of_range)
        throw bad_range(whole, std::string(which) + " address '" + std::string(text) +
                                   "' does not fit in 64 bits");
    if (ec != std::errc() || ptr != digits.data() + digits.size())
        throw bad_range(whole, std::string(which) + " address '" + std::string(text) +
                                   "' is not a hex number (expected 0xSTART-0xEND)");
    return value;
}

}  // namespace

AddressRange parse_address_range(std::string_view text, std::uint64_t page_size)
{
    const auto dash = text.find('-');
    if (dash == std::string_view::npos)
        throw bad_range(text, "expected 0xSTART-0xEND");
    AddressRange r;
    r.start = parse_hex_address(text.substr(0, dash), text, "start");
    r.end = parse_hex_address(text.substr(dash + 1), text, "end");
    if (r.start >= r.end)
        throw bad_range(text, "start must be below end (end is exclusive)");
    if (r.start % page_size || r.end % page_size) {
        const std::uint64_t start = r.start / page_size * page_size;
        const std::uint64_t end =
            r.end % page_size ? r.end + (page_size - r.end % page_size) : r.end;
        throw bad_range(text, "not aligned to the " + std::to_string(page_size) +
                                  "-byte page size; the pages that cover it are " +
                                  to_string({start, end}));
    }
    return r;
}

void check_no_overlap(std::span<const AddressRange> ranges)
{
    std::vector<AddressRange> sorted(ranges.begin(), ranges.end());
    std::sort(sorted.begin(), sorted.end(),
              [](const AddressRange& a, const AddressRange& b) { return a.start < b.start; });
    for (std::size_t i = 1; i < sorted.size(); ++i)
        if (sorted[i].start < sorted[i - 1].end)
            throw Error(ErrorKind::invalid_argument,
                        "ranges " + to_string(sorted[i - 1]) + " and " + to_string(sorted[i]) +
                            " overlap (their pages would be counted twice)");
}

std::string to_string(const AddressRange& range)
{
    return detail::hex(range.start) + "-" + detail::hex(range.end);
}

}  // namespace self_e
