#include "run_process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace self_e::host_test {

namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv)
{
    std::vector<char*> out;
    for (const std::string& a : argv)
        out.push_back(const_cast<char*>(a.c_str()));
    out.push_back(nullptr);
    return out;
}

int wait_exit_code(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// An unlinked temporary file to collect a child's output.
UniqueFd temp_file()
{
    char name[] = "/tmp/self_e_host_test.XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0)
        throw std::runtime_error(std::string("mkstemp: ") + std::strerror(errno));
    unlink(name);
    return UniqueFd(fd);
}

std::string read_all(const UniqueFd& fd)
{
    std::string text;
    char buf[4096];
    ssize_t n;
    std::uint64_t off = 0;
    while ((n = pread(fd.get(), buf, sizeof buf, static_cast<off_t>(off))) > 0) {
        text.append(buf, static_cast<std::size_t>(n));
        off += static_cast<std::uint64_t>(n);
    }
    return text;
}

}  // namespace

RunResult run(const std::vector<std::string>& argv, int as_user)
{
    const UniqueFd out = temp_file();
    const UniqueFd err = temp_file();
    const UniqueFd null(open("/dev/null", O_RDONLY | O_CLOEXEC));
    auto args = c_argv(argv);
    pid_t pid;
    if (as_user < 0) {
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, null.get(), 0);
        posix_spawn_file_actions_adddup2(&actions, out.get(), 1);
        posix_spawn_file_actions_adddup2(&actions, err.get(), 2);
        const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0)
            throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
    } else {
        // posix_spawn cannot change users: fork, then only async-signal-safe calls.
        pid = fork();
        if (pid < 0)
            throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
        if (pid == 0) {
            dup2(null.get(), 0);
            dup2(out.get(), 1);
            dup2(err.get(), 2);
            const auto id = static_cast<uid_t>(as_user);
            if (setgroups(0, nullptr) || setgid(id) || setuid(id))
                _exit(126);
            execv(args[0], args.data());
            _exit(127);
        }
    }
    RunResult result;
    result.exit_code = wait_exit_code(pid);
    result.out = read_all(out);
    result.err = read_all(err);
    return result;
}

Subject::Subject(const std::vector<std::string>& args)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    stdin_.reset(in[1]);
    const UniqueFd child_in(in[0]), child_out(out[1]), from_child(out[0]);

    std::vector<std::string> argv{SUBJECT_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    auto cargs = c_argv(argv);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, child_in.get(), 0);
    posix_spawn_file_actions_adddup2(&actions, child_out.get(), 1);
    const int rc = posix_spawn(&pid_, cargs[0], &actions, nullptr, cargs.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0)
        throw std::runtime_error(std::string("posix_spawn " SUBJECT_BIN ": ") + std::strerror(rc));

    // Read its report up to "ready" (it flushes once, after setting up).
    std::string text;
    char buf[4096];
    while (text.find("ready\n") == std::string::npos) {
        const ssize_t n = read(from_child.get(), buf, sizeof buf);
        if (n <= 0)
            throw std::runtime_error("snapshot_subject exited before it was ready: " + text);
        text.append(buf, static_cast<std::size_t>(n));
    }
    std::istringstream lines(text);
    std::string word, name, start, end;
    while (lines >> word && word == "region" && lines >> name >> start >> end)
        regions_[name] = {std::stoull(start, nullptr, 16), std::stoull(end, nullptr, 16)};
}

Subject::~Subject()
{
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        try {
            wait_exit_code(pid_);
        } catch (...) {
        }
    }
}

std::pair<std::uint64_t, std::uint64_t> Subject::region(const std::string& name) const
{
    const auto it = regions_.find(name);
    if (it == regions_.end())
        throw std::runtime_error("snapshot_subject reported no region " + name);
    return it->second;
}

}  // namespace self_e::host_test
