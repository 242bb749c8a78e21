#include "page_truth.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>

#include "self_e/unique_fd.hpp"

namespace self_e::host_test {

namespace {

std::uint64_t read_word(const UniqueFd& fd, std::uint64_t index, const std::string& what)
{
    std::uint64_t word = 0;
    if (pread(fd.get(), &word, 8, static_cast<off_t>(index * 8)) != 8)
        throw std::runtime_error("pread " + what + " at word " + std::to_string(index) + ": " +
                                 std::strerror(errno));
    return word;
}

UniqueFd open_or_throw(const std::string& path)
{
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw std::runtime_error("open " + path + ": " + std::strerror(errno));
    return UniqueFd(fd);
}

}  // namespace

Truth read_truth(pid_t pid, const std::vector<Range>& ranges)
{
    const std::string pagemap_path = "/proc/" + std::to_string(pid) + "/pagemap";
    const UniqueFd pagemap = open_or_throw(pagemap_path);
    const UniqueFd kpageflags = open_or_throw("/proc/kpageflags");
    const UniqueFd kpagecount = open_or_throw("/proc/kpagecount");
    const std::uint64_t page_size = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));

    Truth t;
    for (const char* key : {"total", "present", "private", "shared", "ksm", "zero", "thp", "hugetlb",
                            "file", "swapped", "not_present"})
        t.pages[key] = 0;
    std::set<std::uint64_t> ksm_frames;
    for (const auto& [start, end] : ranges) {
        for (std::uint64_t addr = start; addr < end; addr += page_size) {
            ++t.pages["total"];
            const std::uint64_t entry = read_word(pagemap, addr / page_size, pagemap_path);
            if (!(entry >> 63)) {
                ++t.pages[(entry >> 62) & 1 ? "swapped" : "not_present"];
                continue;
            }
            ++t.pages["present"];
            const std::uint64_t pfn = entry & ((std::uint64_t{1} << 55) - 1);
            const std::uint64_t flags = read_word(kpageflags, pfn, "/proc/kpageflags");
            const std::uint64_t count = read_word(kpagecount, pfn, "/proc/kpagecount");
            if ((flags >> 24) & 1) {
                ++t.pages["zero"];
            } else if ((flags >> 21) & 1) {
                ++t.pages["ksm"];
                ksm_frames.insert(pfn);
            } else {
                const bool exclusive = (entry >> 56) & 1;
                ++t.pages[exclusive ? "private" : "shared"];
                t.exclusive_disagrees_with_kpagecount += exclusive != (count == 1);
            }
            t.pages["thp"] += (flags >> 22) & 1;
            t.pages["hugetlb"] += (flags >> 17) & 1;
            t.pages["file"] += (entry >> 61) & 1;
        }
    }
    t.ksm_frames = ksm_frames.size();
    return t;
}

}  // namespace self_e::host_test
