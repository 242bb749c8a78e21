// A program started in the background for a host test (the exporter, a real
// Prometheus): its stdout and stderr go to files; it is ended (SIGTERM, then
// SIGKILL after a grace period) when the object goes away.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace self_e::host_test {

class BackgroundProcess {
public:
    // Starts argv[0] (a path) with argv, stdin from /dev/null, output into
    // files in dir. Throws std::runtime_error when it cannot be started.
    BackgroundProcess(const std::vector<std::string>& argv, const std::filesystem::path& dir,
                      const std::string& tag);
    BackgroundProcess(const BackgroundProcess&) = delete;
    BackgroundProcess& operator=(const BackgroundProcess&) = delete;
    ~BackgroundProcess();

    pid_t pid() const noexcept { return pid_; }
    std::string out() const;
    std::string err() const;
    // Still running?
    bool running();
    // SIGTERM, and its exit code once it exits within grace (-1: killed by a
    // signal; nullopt: it did not exit and got SIGKILL).
    std::optional<int> terminate(std::chrono::milliseconds grace = std::chrono::seconds(10));

private:
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
    std::filesystem::path out_, err_;
};

// Polls check every 100 ms until it returns true or timeout passes.
template <typename Check>
bool wait_for(Check&& check, std::chrono::milliseconds timeout)
{
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (check())
            return true;
        if (std::chrono::steady_clock::now() >= end)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick).
int free_loopback_port();

}  // namespace self_e::host_test
