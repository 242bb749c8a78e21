#include "self_e/qemu.hpp"

#include <string_view>
#include <vector>

namespace self_e {

namespace {

// QEMU option values are comma-separated key=value lists; ",," escapes a comma.
std::vector<std::string> split_option_list(std::string_view text)
{
    std::vector<std::string> parts(1);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != ',') {
            parts.back() += text[i];
        } else if (i + 1 < text.size() && text[i + 1] == ',') {
            parts.back() += ',';
            ++i;
        } else {
            parts.emplace_back();
        }
    }
    return parts;
}

}  // namespace

bool is_qemu_command(std::span<const std::string> argv)
{
    if (argv.empty())
        return false;
    std::string_view prog = argv.front();
    if (const auto slash = prog.rfind('/'); slash != std::string_view::npos)
        prog.remove_prefix(slash + 1);
    return prog.starts_with("qemu");
}

std::optional<std::string> qemu_guest_name(std::span<const std::string> argv)
{
    std::optional<std::string> name;
    for (std::size_t i = 1; i + 1 < argv.size(); ++i) {
        // QEMU takes -name and --name; the last one wins, as in QEMU.
        if (argv[i] != "-name" && argv[i] != "--name")
            continue;
        const std::vector<std::string> parts = split_option_list(argv[i + 1]);
        for (std::size_t p = 0; p < parts.size(); ++p) {
            if (parts[p].starts_with("guest="))
                name = parts[p].substr(6);
            else if (p == 0 && parts[p].find('=') == std::string::npos)
                name = parts[p];  // the implied "guest=" of the first element
        }
        ++i;
    }
    if (name && name->empty())
        name.reset();
    return name;
}

}  // namespace self_e
