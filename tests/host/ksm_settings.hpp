// Saves the host's KSM knobs the tests change and puts them back, even when
// a test fails (destructor). The tests write run=1 with a fast scan, then
// run=0 to freeze what merged while they compare.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace self_e::host_test {

class KsmSettings {
public:
    static constexpr const char* kDir = "/sys/kernel/mm/ksm/";

    // Why KSM cannot be driven here, or "" when it can (root, writable run).
    static std::string unavailable_reason()
    {
        const std::string run = std::string(kDir) + "run";
        const int fd = ::open(run.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            return "cannot open " + run + " for writing: " + std::strerror(errno);
        ::close(fd);
        return {};
    }

    KsmSettings()
    {
        // Restored in reverse: run last, once the knobs it runs with are back.
        for (const char* name : {"run", "use_zero_pages", "pages_to_scan", "sleep_millisecs"})
            saved_.emplace_back(name, read(name));
    }
    KsmSettings(const KsmSettings&) = delete;
    KsmSettings& operator=(const KsmSettings&) = delete;
    ~KsmSettings()
    {
        for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
            try {
                write(it->first, it->second);
            } catch (...) {
                // Nothing better to do in a destructor; the next knob still gets restored.
            }
        }
    }

    static std::string read(const std::string& name)
    {
        std::ifstream in(kDir + name);
        std::string value;
        if (!(in >> value))
            throw std::runtime_error("cannot read " + std::string(kDir) + name);
        return value;
    }

    static void write(const std::string& name, const std::string& value)
    {
        const std::string path = kDir + name;
        const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            throw std::runtime_error("open " + path + ": " + std::strerror(errno));
        const bool ok = ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
        const int err = errno;
        ::close(fd);
        if (!ok)
            throw std::runtime_error("write " + value + " to " + path + ": " + std::strerror(err));
    }

private:
    std::vector<std::pair<std::string, std::string>> saved_;
};

}  // namespace self_e::host_test
