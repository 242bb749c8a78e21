// self-e: the operator's command. Subcommands arrive with the library
// features they show; each has --help.
#include <fmt/core.h>

#include <cstdio>
#include <string_view>

#include "uapi/self_e.h"

namespace {

constexpr std::string_view kUsage =
    "usage: self-e [--help] [--version] <command> [options]\n"
    "\n"
    "SELF-e shows, live, how each KVM virtual machine on this host uses its memory.\n"
    "\n"
    "options:\n"
    "  --help      show this help\n"
    "  --version   show the version and the ABI version\n";

}  // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        fmt::print(stderr, "self-e: no command given\n{}", kUsage);
        return 2;
    }
    const std::string_view arg = argv[1];
    if (arg == "--help" || arg == "-h") {
        fmt::print("{}", kUsage);
        return 0;
    }
    if (arg == "--version") {
        fmt::print("self-e {} (ABI {})\n", SELF_E_VERSION, SELF_E_ABI_VERSION);
        return 0;
    }
    fmt::print(stderr, "self-e: unknown command '{}'\n{}", arg, kUsage);
    return 2;
}
