// libFuzzer: the text stream of /dev/self-e as user space reads it. The input
// is what read() returned, cut into reads of varying sizes (the first byte
// picks them): append_lines() must give back exactly the input, line by
// line, and every line goes through `self-e trace --json`'s parser and its
// JSON output.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "event_json.hpp"
#include "json_text.hpp"
#include "self_e/text_stream.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    const std::size_t chunk = 1 + data[0] % 64;
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    std::string partial, joined;
    std::vector<std::string> lines;
    for (std::size_t off = 0; off < input.size(); off += chunk)
        self_e::append_lines(partial, input.substr(off, chunk), lines);
    for (const std::string& line : lines) {
        if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1)
            std::abort();  // a line is whole and one line
        joined += line;
        // as `self-e trace --json` prints it
        (void)self_e::tool::json_text(self_e::tool::event_line_to_json(line));
    }
    if (joined + partial != input || partial.find('\n') != std::string::npos)
        std::abort();  // nothing lost, nothing made up
    return 0;
}
