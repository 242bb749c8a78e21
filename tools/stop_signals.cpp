#include "stop_signals.hpp"

#include <signal.h>

#include <csignal>

namespace self_e::tool {

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_stop_signal(int) { g_stop = 1; }

}  // namespace

void catch_stop_signals()
{
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() noexcept { return g_stop != 0; }

}  // namespace self_e::tool
