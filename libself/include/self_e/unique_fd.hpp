// A file descriptor that closes itself, and the reads libself needs on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

namespace self_e {

class UniqueFd {
public:
    UniqueFd() noexcept = default;
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept
    {
        if (this != &other)
            reset(std::exchange(other.fd_, -1));
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    void reset(int fd = -1) noexcept;

private:
    int fd_ = -1;
};

// Opens path read-only (O_CLOEXEC); throws self_e::Error naming the path.
UniqueFd open_read_only(const std::string& path);

// Reads up to size bytes at offset, retrying short reads and EINTR, and
// returns how many it got: less than size only at end of file. Throws
// self_e::Error naming path (the file fd was opened from) on failure.
std::size_t pread_fully(const UniqueFd& fd, void* buf, std::size_t size, std::uint64_t offset,
                        const std::string& path);

// The whole content of a small text file (/proc/PID/maps, sysfs files).
std::string read_text_file(const std::string& path);

}  // namespace self_e
