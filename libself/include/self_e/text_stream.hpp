// The text stream of every VM: read() on /dev/self-e without attaching. The
// module formats the lines (kmod/self_e_text.h) and includes VMs created
// after the stream started, so nothing is missed between "list" and
// "attach". Needs self_e.ko and root.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "self_e/device.hpp"
#include "self_e/unique_fd.hpp"

namespace self_e {

class TextStream {
public:
    // event_mask: SELF_E_EVENT_MASK() bits, 0 = every type.
    explicit TextStream(std::uint64_t event_mask = 0, const std::string& path = kDevicePath);

    // Whole lines ('\n' included) that arrive within timeout; an empty
    // vector on timeout or when a signal interrupted the wait.
    std::vector<std::string> read_lines(std::chrono::milliseconds timeout);

    // The stream's counters (valid once read_lines() has run: the module
    // starts the stream on the first read or poll).
    ReaderStats stats() const;

private:
    std::string path_;
    UniqueFd fd_;
    std::string partial_;  // the start of a line the next read completes
};

// How read_lines() cuts what read() returned into lines: data goes after
// partial (the start of a line an earlier read left), each whole line ('\n'
// included) is appended to lines, and partial keeps the rest.
void append_lines(std::string& partial, std::string_view data, std::vector<std::string>& lines);

}  // namespace self_e
