// The /proc files a snapshot reads, under a root that tests can replace with
// a directory of fake files: ProcFs{"/proc"} on a host, ProcFs{tmpdir} in a
// test. Every error names the pid and the file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "self_e/address_range.hpp"
#include "self_e/named_values.hpp"
#include "self_e/unique_fd.hpp"

namespace self_e {

// One line of /proc/PID/maps.
struct Mapping {
    AddressRange range;
    std::string perms;  // "rw-p"
    std::uint64_t offset = 0;
    std::string device;  // "fd:01"
    std::uint64_t inode = 0;
    std::string path;  // "" when anonymous; "[heap]", "/usr/lib/...", ...

    // Private anonymous memory, the kind KSM merges and QEMU's guest RAM
    // usually is: no backing inode, private, and either unnamed, [heap],
    // [stack] or named by prctl ("[anon:...]"). Not [vdso], [vvar] & co.
    bool private_anonymous() const;
};

// The lines of a maps file; source names it in errors.
std::vector<Mapping> parse_maps(std::string_view text, const std::string& source);

class ProcFs {
public:
    explicit ProcFs(std::filesystem::path root = "/proc") : root_(std::move(root)) {}

    const std::filesystem::path& root() const noexcept { return root_; }
    std::string path(std::string_view file) const;             // <root>/<file>
    std::string path(pid_t pid, std::string_view file) const;  // <root>/<pid>/<file>

    // Throws self_e::Error (no_such_process) when <root>/<pid> does not exist.
    void require_process(pid_t pid) const;

    std::string comm(pid_t pid) const;  // the name in /proc/PID/comm, no newline
    // The arguments in /proc/PID/cmdline (empty for a kernel thread or zombie).
    std::vector<std::string> cmdline(pid_t pid) const;
    std::vector<Mapping> maps(pid_t pid) const;

    // nullopt when the kernel has no such file (no CONFIG_KSM, or older
    // than 6.1); any other failure throws.
    std::optional<NamedValues> ksm_stat(pid_t pid) const;
    std::optional<std::int64_t> ksm_merging_pages(pid_t pid) const;

    UniqueFd open_pagemap(pid_t pid) const;
    UniqueFd open_kpageflags() const;

private:
    std::filesystem::path root_;
};

}  // namespace self_e
