// libFuzzer: `self-e` with arbitrary arguments. The input is argv[1..],
// NUL-separated. The dispatcher parses them (CLI11, every command's options)
// without running a command; it must not crash and must exit 0, 1 or 2.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size > 4096)
        return 0;
    std::vector<std::string> args{"self-e"};
    std::string cur;
    for (std::size_t i = 0; i < size; i++) {
        if (data[i] == '\0') {
            args.push_back(cur);
            cur.clear();
        } else {
            cur += static_cast<char>(data[i]);
        }
    }
    if (!cur.empty())
        args.push_back(cur);
    std::vector<char*> argv;
    for (std::string& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = self_e::tool::dispatch(static_cast<int>(args.size()), argv.data(),
                                          self_e::tool::DispatchMode::parse_only);
    if (rc != 0 && rc != 1 && rc != 2)
        std::abort();
    return 0;
}
