// A temporary directory of fake /proc and /sys files, for feeding libself's
// readers (ProcFs{tree.proc()}, SysFs{tree.sys()}) inputs a host cannot make
// on demand: swapped pages, missing files, pagemaps without frame numbers.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "self_e/page_class.hpp"

namespace self_e::test {

class FakeTree {
public:
    FakeTree()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "self_e_fake.XXXXXX").string();
        if (!::mkdtemp(pattern.data()))
            throw std::runtime_error("mkdtemp " + pattern + " failed");
        dir_ = pattern;
        std::filesystem::create_directories(proc());
        std::filesystem::create_directories(sys() / "kernel/mm/ksm");
    }
    FakeTree(FakeTree&& other) noexcept : dir_(std::exchange(other.dir_, {})) {}
    FakeTree& operator=(FakeTree&&) = delete;
    ~FakeTree()
    {
        std::error_code ec;
        if (!dir_.empty())
            std::filesystem::remove_all(dir_, ec);
    }

    std::filesystem::path proc() const { return dir_ / "proc"; }
    std::filesystem::path sys() const { return dir_ / "sys"; }

    // Writes text to proc()/rel (or any path under the tree), creating dirs.
    void write(const std::filesystem::path& path, std::string_view text) const
    {
        std::filesystem::create_directories(path.parent_path());
        std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    }

    // Writes one 64-bit word at word index `index` (files stay sparse).
    void write_word(const std::filesystem::path& path, std::uint64_t index, std::uint64_t word) const
    {
        std::filesystem::create_directories(path.parent_path());
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            throw std::runtime_error("open " + path.string());
        const bool ok = ::pwrite(fd, &word, sizeof word, static_cast<off_t>(index * sizeof word)) ==
                        static_cast<ssize_t>(sizeof word);
        ::close(fd);
        if (!ok)
            throw std::runtime_error("pwrite " + path.string());
    }

    // A process with a comm and maps; its pagemap covers [0, pagemap_end).
    void add_process(int pid, std::string_view comm, std::string_view maps,
                     std::uint64_t pagemap_end) const
    {
        const auto dir = proc() / std::to_string(pid);
        write(dir / "comm", std::string(comm) + "\n");
        write(dir / "maps", maps);
        write(dir / "pagemap", "");
        std::filesystem::resize_file(dir / "pagemap", pagemap_end / 4096 * 8);
    }

    void set_pagemap(int pid, std::uint64_t address, std::uint64_t entry) const
    {
        write_word(proc() / std::to_string(pid) / "pagemap", address / 4096, entry);
    }

    // A present page at address on frame pfn (its kpageflags set separately),
    // mapped only here (exclusive) or not, plain anonymous or a file page.
    void map_page(int pid, std::uint64_t address, std::uint64_t pfn, bool exclusive = true,
                  bool file = false) const
    {
        set_pagemap(pid, address,
                    (std::uint64_t{1} << pagemap::kPresentBit) |
                        (exclusive ? std::uint64_t{1} << pagemap::kExclusiveBit : 0) |
                        (file ? std::uint64_t{1} << pagemap::kFileBit : 0) | pfn);
    }

    void set_frame(std::uint64_t pfn, std::uint64_t kpageflags) const
    {
        write_word(proc() / "kpageflags", pfn, kpageflags);
    }

    // kpageflags covers frames [0, nr_frames).
    void set_frame_count(std::uint64_t nr_frames) const
    {
        if (!std::filesystem::exists(proc() / "kpageflags"))
            write(proc() / "kpageflags", "");
        std::filesystem::resize_file(proc() / "kpageflags", nr_frames * 8);
    }

private:
    std::filesystem::path dir_;
};

inline constexpr std::uint64_t flag(int kpf_bit) { return std::uint64_t{1} << kpf_bit; }

}  // namespace self_e::test
