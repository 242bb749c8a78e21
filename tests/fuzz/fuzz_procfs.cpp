// libFuzzer: what `self-e snapshot` and `self-e list` parse from /proc and
// the command line: /proc/PID/maps lines, /proc/PID/ksm_stat (name/value)
// lines, a process's argv (QEMU's -name), address ranges and event-type
// lists. The first byte picks the parser. Errors must be self_e::Error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "self_e/address_range.hpp"
#include "self_e/error.hpp"
#include "self_e/event.hpp"
#include "self_e/named_values.hpp"
#include "self_e/procfs.hpp"
#include "self_e/qemu.hpp"

namespace {

std::vector<std::string> split(std::string_view text, char sep)
{
    std::vector<std::string> out;
    for (std::size_t start = 0;;) {
        const std::size_t end = text.find(sep, start);
        out.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
        if (end == std::string_view::npos)
            return out;
        start = end + 1;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        switch (data[0] % 5) {
        case 0:
            for (const self_e::Mapping& m : self_e::parse_maps(text, "maps"))
                (void)m.private_anonymous();
            break;
        case 1: {
            const auto values = self_e::parse_named_values(text, "ksm_stat");
            (void)self_e::find_number(values, "ksm_merging_pages");
            break;
        }
        case 2: {
            const auto argv = split(text, '\0');
            (void)self_e::is_qemu_command(argv);
            (void)self_e::qemu_guest_name(argv);
            break;
        }
        case 3: {
            std::vector<self_e::AddressRange> ranges;
            for (const std::string& r : split(text, ','))
                ranges.push_back(self_e::parse_address_range(r, 4096));
            self_e::check_no_overlap(ranges);
            for (const auto& r : ranges)
                (void)self_e::to_string(r);
            break;
        }
        default:
            (void)self_e::parse_event_mask(split(text, ','));
            break;
        }
    } catch (const self_e::Error&) {
        // refused with a message: what bad input must get
    }
    return 0;
}
