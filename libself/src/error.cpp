#include "self_e/error.hpp"

#include <cerrno>
#include <cstring>

namespace self_e {

Error system_error(const std::string& what, int err)
{
    ErrorKind kind = ErrorKind::io;
    if (err == ENOENT || err == ESRCH)
        kind = ErrorKind::no_such_process;
    else if (err == EACCES || err == EPERM)
        kind = ErrorKind::permission;
    return Error(kind, what + ": " + std::strerror(err), err);
}

}  // namespace self_e
