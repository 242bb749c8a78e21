#include "self_e/unique_fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "self_e/error.hpp"

namespace self_e {

void UniqueFd::reset(int fd) noexcept
{
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = fd;
}

UniqueFd open_read_only(const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw system_error("open " + path, errno);
    return UniqueFd(fd);
}

std::size_t pread_fully(const UniqueFd& fd, void* buf, std::size_t size, std::uint64_t offset,
                        const std::string& path)
{
    auto* out = static_cast<unsigned char*>(buf);
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::pread(fd.get(), out + done, size - done,
                                  static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw system_error("pread " + path + " at offset " + std::to_string(offset + done), errno);
        }
        if (n == 0)
            break;
        done += static_cast<std::size_t>(n);
    }
    return done;
}

std::string read_text_file(const std::string& path)
{
    const UniqueFd fd = open_read_only(path);
    std::string text;
    char buf[16384];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            throw system_error("read " + path, errno);
        }
        if (n == 0)
            break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    return text;
}

}  // namespace self_e
