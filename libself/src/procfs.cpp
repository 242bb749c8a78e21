#include "self_e/procfs.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>

#include "self_e/error.hpp"

namespace self_e {

namespace {

// Splits off the next space-separated field of line.
std::string_view next_field(std::string_view& line)
{
    const auto start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) {
        line = {};
        return {};
    }
    line.remove_prefix(start);
    const auto end = line.find(' ');
    const std::string_view field = line.substr(0, end);
    line = end == std::string_view::npos ? std::string_view{} : line.substr(end);
    return field;
}

bool parse_number(std::string_view text, int base, std::uint64_t& out)
{
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
    return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

Error bad_maps_line(const std::string& source, std::string_view line)
{
    return Error(ErrorKind::bad_format, source + ": cannot parse line '" + std::string(line) + "'");
}

Mapping parse_maps_line(std::string_view line, const std::string& source)
{
    std::string_view rest = line;
    const std::string_view range = next_field(rest);
    const std::string_view perms = next_field(rest);
    const std::string_view offset = next_field(rest);
    const std::string_view device = next_field(rest);
    const std::string_view inode = next_field(rest);

    Mapping m;
    const auto dash = range.find('-');
    if (dash == std::string_view::npos || !parse_number(range.substr(0, dash), 16, m.range.start) ||
        !parse_number(range.substr(dash + 1), 16, m.range.end) || m.range.start > m.range.end ||
        perms.size() != 4 || !parse_number(offset, 16, m.offset) || device.empty() ||
        !parse_number(inode, 10, m.inode))
        throw bad_maps_line(source, line);
    m.perms = std::string(perms);
    m.device = std::string(device);
    const auto path_start = rest.find_first_not_of(' ');
    if (path_start != std::string_view::npos)
        m.path = std::string(rest.substr(path_start));
    return m;
}

std::string pid_prefix(pid_t pid) { return "pid " + std::to_string(pid) + ": "; }

// The same error, with the pid in front and what to do when it is about rights.
Error for_pid(const Error& e, pid_t pid)
{
    std::string msg = pid_prefix(pid) + e.what();
    if (e.kind() == ErrorKind::permission)
        msg += " (need root: reading another process's memory map needs ptrace access)";
    return Error(e.kind(), msg, e.sys_errno());
}

// Reads a file that may be missing on kernels without the feature.
std::optional<std::string> read_optional(const std::string& path, pid_t pid)
{
    try {
        return read_text_file(path);
    } catch (const Error& e) {
        if (e.sys_errno() == ENOENT)
            return std::nullopt;
        throw for_pid(e, pid);
    }
}

}  // namespace

bool Mapping::private_anonymous() const
{
    if (inode != 0 || perms.size() != 4 || perms[3] != 'p')
        return false;
    return path.empty() || path == "[heap]" || path == "[stack]" || path.starts_with("[stack:") ||
           path.starts_with("[anon:");
}

std::vector<Mapping> parse_maps(std::string_view text, const std::string& source)
{
    std::vector<Mapping> maps;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (!line.empty())
            maps.push_back(parse_maps_line(line, source));
    }
    return maps;
}

std::string ProcFs::path(std::string_view file) const { return (root_ / file).string(); }

std::string ProcFs::path(pid_t pid, std::string_view file) const
{
    return (root_ / std::to_string(pid) / file).string();
}

void ProcFs::require_process(pid_t pid) const
{
    const std::string dir = (root_ / std::to_string(pid)).string();
    struct stat st;
    if (pid <= 0 || ::stat(dir.c_str(), &st) != 0)
        throw Error(ErrorKind::no_such_process,
                    "no process with pid " + std::to_string(pid) + " (" + dir + " does not exist)",
                    pid <= 0 ? 0 : ENOENT);
}

std::string ProcFs::comm(pid_t pid) const
{
    std::string name = read_text_file(path(pid, "comm"));
    while (!name.empty() && (name.back() == '\n' || name.back() == ' '))
        name.pop_back();
    return name;
}

std::vector<std::string> ProcFs::cmdline(pid_t pid) const
{
    const std::string text = read_text_file(path(pid, "cmdline"));
    std::vector<std::string> args;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\0', start);
        if (end == std::string::npos)
            end = text.size();
        args.emplace_back(text, start, end - start);
        start = end + 1;
    }
    return args;
}

std::vector<Mapping> ProcFs::maps(pid_t pid) const
{
    const std::string file = path(pid, "maps");
    std::string text;
    try {
        text = read_text_file(file);
    } catch (const Error& e) {
        throw for_pid(e, pid);
    }
    return parse_maps(text, file);
}

std::optional<NamedValues> ProcFs::ksm_stat(pid_t pid) const
{
    const std::string file = path(pid, "ksm_stat");
    const auto text = read_optional(file, pid);
    if (!text)
        return std::nullopt;
    return parse_named_values(*text, file);
}

std::optional<std::int64_t> ProcFs::ksm_merging_pages(pid_t pid) const
{
    const std::string file = path(pid, "ksm_merging_pages");
    const auto text = read_optional(file, pid);
    if (!text)
        return std::nullopt;
    const NamedValue v = make_named_value(file, *text);
    if (!v.number)
        throw Error(ErrorKind::bad_format, file + ": expected a number, read '" + v.text + "'");
    return v.number;
}

UniqueFd ProcFs::open_pagemap(pid_t pid) const
{
    try {
        return open_read_only(path(pid, "pagemap"));
    } catch (const Error& e) {
        throw for_pid(e, pid);
    }
}

namespace {

UniqueFd open_kpage_file(const std::string& file)
{
    try {
        return open_read_only(file);
    } catch (const Error& e) {
        if (e.kind() == ErrorKind::permission)
            throw Error(e.kind(), std::string(e.what()) + " (need root: CAP_SYS_ADMIN)",
                        e.sys_errno());
        if (e.sys_errno() == ENOENT)
            throw Error(ErrorKind::unsupported,
                        std::string(e.what()) + " (kernel built without CONFIG_PROC_PAGE_MONITOR?)",
                        e.sys_errno());
        throw;
    }
}

}  // namespace

UniqueFd ProcFs::open_kpageflags() const { return open_kpage_file(path("kpageflags")); }

}  // namespace self_e
