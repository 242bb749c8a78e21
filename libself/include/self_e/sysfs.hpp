// The /sys files libself reads, under a root tests can replace:
// SysFs{"/sys"} on a host, SysFs{tmpdir} in a test.
#pragma once

#include <filesystem>
#include <optional>

#include "self_e/named_values.hpp"

namespace self_e {

class SysFs {
public:
    explicit SysFs(std::filesystem::path root = "/sys") : root_(std::move(root)) {}

    const std::filesystem::path& root() const noexcept { return root_; }

    // Every readable file of <root>/kernel/mm/ksm, sorted by name (run,
    // pages_shared, pages_sharing, ...: the set depends on the kernel).
    // "advisor_mode"'s "[none] scan-time" is reduced to the selected "none".
    // nullopt when the directory does not exist (kernel without KSM);
    // a file that cannot be read throws self_e::Error naming it.
    std::optional<NamedValues> ksm() const;

private:
    std::filesystem::path root_;
};

}  // namespace self_e
