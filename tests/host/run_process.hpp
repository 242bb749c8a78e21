// Running the real self-e binary and the subject process from the host tests.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "self_e/unique_fd.hpp"

namespace self_e::host_test {

struct RunResult {
    int exit_code = -1;  // -1 when killed by a signal
    std::string out;
    std::string err;
};

// Runs argv[0] with argv, stdin from /dev/null, and waits for it. With
// as_user >= 0 the child drops root to that uid/gid first (for "need root").
RunResult run(const std::vector<std::string>& argv, int as_user = -1);

// snapshot_subject, started and waiting; killed when this goes away.
class Subject {
public:
    explicit Subject(const std::vector<std::string>& args);
    Subject(const Subject&) = delete;
    Subject& operator=(const Subject&) = delete;
    ~Subject();

    pid_t pid() const noexcept { return pid_; }
    // The regions it printed, by name: [start, end).
    const std::map<std::string, std::pair<std::uint64_t, std::uint64_t>>& regions() const noexcept
    {
        return regions_;
    }
    std::pair<std::uint64_t, std::uint64_t> region(const std::string& name) const;

private:
    pid_t pid_ = -1;
    UniqueFd stdin_;  // closing it lets the subject exit
    std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> regions_;
};

}  // namespace self_e::host_test
