// Ranges of a process's virtual addresses: what a snapshot covers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace self_e {

// [start, end): end is one past the last byte, as in /proc/PID/maps.
struct AddressRange {
    std::uint64_t start = 0;
    std::uint64_t end = 0;

    std::uint64_t size() const noexcept { return end - start; }
    friend bool operator==(const AddressRange&, const AddressRange&) = default;
};

// "0x7f0000000000-0x7f0000200000": both ends hex with a 0x prefix, end
// exclusive, start < end, and both multiples of page_size. A range that is
// not page aligned is refused (not rounded: counts are per page, and a
// silently widened range would count pages nobody asked for); the message
// names the page-aligned range that covers it. Throws self_e::Error
// (invalid_argument) with a message that quotes text.
AddressRange parse_address_range(std::string_view text, std::uint64_t page_size);

// Refuses ranges given together that overlap (their pages would count
// twice). Throws self_e::Error (invalid_argument) naming both.
void check_no_overlap(std::span<const AddressRange> ranges);

// The form parse_address_range reads.
std::string to_string(const AddressRange& range);

}  // namespace self_e
