#include "vm_processes.hpp"

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>

namespace self_e::tool {

namespace {

bool all_digits(const std::string& s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool holds_kvm_vm(const std::filesystem::path& fd_dir)
{
    std::error_code ec;
    std::filesystem::directory_iterator it(fd_dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        std::error_code link_ec;
        const auto target = std::filesystem::read_symlink(it->path(), link_ec);
        if (!link_ec && target.native() == "anon_inode:kvm-vm")
            return true;
    }
    return false;
}

}  // namespace

std::vector<pid_t> find_vm_processes(const ProcFs& proc)
{
    std::vector<pid_t> pids;
    std::error_code ec;
    std::filesystem::directory_iterator it(proc.root(), ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (all_digits(name) && name.size() <= 9 && holds_kvm_vm(it->path() / "fd"))
            pids.push_back(static_cast<pid_t>(std::stol(name)));
    }
    std::sort(pids.begin(), pids.end());
    return pids;
}

}  // namespace self_e::tool
