#include "self_e/text_stream.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

#include "self_e/error.hpp"

namespace self_e {

TextStream::TextStream(std::uint64_t event_mask, const std::string& path)
    : path_(path), fd_(open_device(path))
{
    // Before the first read, which starts the stream with this mask.
    std::uint64_t mask = event_mask ? event_mask : SELF_E_EVENT_MASK_ALL;
    if (::ioctl(fd_.get(), SELF_E_IOC_SET_MASK, &mask) != 0)
        throw system_error(path_ + ": ioctl SELF_E_IOC_SET_MASK", errno);
}

std::vector<std::string> TextStream::read_lines(std::chrono::milliseconds timeout)
{
    std::vector<std::string> lines;
    pollfd pfd{fd_.get(), POLLIN, 0};
    const int n = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
    if (n < 0 && errno != EINTR)
        throw system_error("poll " + path_, errno);
    if (n <= 0)
        return lines;
    if (pfd.revents & (POLLERR | POLLNVAL))
        throw Error(ErrorKind::io, "poll " + path_ + " reported an error (the text stream could not start)");

    char buf[65536];
    const ssize_t got = ::read(fd_.get(), buf, sizeof buf);
    if (got < 0) {
        if (errno == EINTR || errno == EAGAIN)
            return lines;
        throw system_error("read " + path_, errno);
    }
    append_lines(partial_, std::string_view(buf, static_cast<std::size_t>(got)), lines);
    return lines;
}

void append_lines(std::string& partial, std::string_view data, std::vector<std::string>& lines)
{
    partial.append(data);
    std::size_t start = 0;
    for (std::size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1)
        lines.push_back(partial.substr(start, nl + 1 - start));
    partial.erase(0, start);
}

ReaderStats TextStream::stats() const { return read_reader_stats(fd_, "the text stream of " + path_); }

}  // namespace self_e
