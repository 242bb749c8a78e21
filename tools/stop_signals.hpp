// SIGINT and SIGTERM as a request to stop: commands that run until told
// (trace, list --watch) finish cleanly, flushing output and printing counts.
#pragma once

namespace self_e::tool {

// Installs the handlers, without SA_RESTART, so a blocked poll() returns
// with EINTR at once.
void catch_stop_signals();

// True once SIGINT or SIGTERM arrived. A signal that lands between this
// check and the next poll() is seen when that poll's timeout ends.
bool stop_requested() noexcept;

}  // namespace self_e::tool
