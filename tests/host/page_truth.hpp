// The tests' own reading of a process's pages: one pagemap entry and one
// kpageflags word at a time, deliberately simple and separate from libself,
// with the class rules written out again. It also reads /proc/kpagecount to
// check that pagemap's "exclusive" bit, which the rules use, says what
// kpagecount says.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace self_e::host_test {

using Range = std::pair<std::uint64_t, std::uint64_t>;  // [start, end)

struct Truth {
    std::map<std::string, std::uint64_t> pages;  // the JSON "pages" keys
    std::uint64_t ksm_frames = 0;                // distinct KSM pfns
    // private/shared pages where (pagemap bit 56) != (kpagecount == 1)
    std::uint64_t exclusive_disagrees_with_kpagecount = 0;
    friend bool operator==(const Truth&, const Truth&) = default;
};

Truth read_truth(pid_t pid, const std::vector<Range>& ranges);

}  // namespace self_e::host_test
