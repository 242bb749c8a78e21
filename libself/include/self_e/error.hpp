// The one exception type libself throws. Its message names what failed: the
// process or VM, the file and the call ("pid 42: pread /proc/42/pagemap at
// offset 0x1000: Input/output error"), so a caller can print it as it is.
#pragma once

#include <stdexcept>
#include <string>

namespace self_e {

enum class ErrorKind {
    no_such_process,   // the pid (or VM) is gone or never existed
    permission,        // needs root / CAP_SYS_ADMIN
    invalid_argument,  // a request that can never succeed (bad range, ...)
    unsupported,       // the kernel lacks what is needed (no /proc/kpageflags, ...)
    bad_format,        // a kernel file did not look as expected
    io,                // any other failed call
};

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message, int sys_errno = 0)
        : std::runtime_error(message), kind_(kind), errno_(sys_errno)
    {
    }

    ErrorKind kind() const noexcept { return kind_; }
    // The errno of the failed call, or 0 when no call failed.
    int sys_errno() const noexcept { return errno_; }

private:
    ErrorKind kind_;
    int errno_;
};

// An Error for a failed system call: "<what>: <strerror(err)>", its kind
// chosen from err (ENOENT/ESRCH: no_such_process, EACCES/EPERM: permission).
Error system_error(const std::string& what, int err);

}  // namespace self_e
