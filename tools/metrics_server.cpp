#include "metrics_server.hpp"

#include <fmt/core.h>
#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <mutex>
#include <stdexcept>

#include "metrics.hpp"

namespace self_e::tool {

std::string ListenAddress::describe() const
{
    if (host.find(':') != std::string::npos)
        return fmt::format("[{}]:{}", host, port);
    return fmt::format("{}:{}", host, port);
}

ListenAddress parse_listen_address(const std::string& text)
{
    ListenAddress address;
    std::string port_text;
    if (!text.empty() && text[0] == '[') {
        const auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
            throw std::invalid_argument("'" + text + "' is not [IPV6]:PORT");
        address.host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string::npos)
            throw std::invalid_argument("'" + text + "' has no port (ADDR:PORT)");
        address.host = text.substr(0, colon);
        if (address.host.find(':') != std::string::npos)
            throw std::invalid_argument("'" + text + "': write an IPv6 address in brackets, [::1]:PORT");
        port_text = text.substr(colon + 1);
    }
    if (address.host.empty())
        address.host = "0.0.0.0";
    if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(port_text) > 65535)
        throw std::invalid_argument("'" + text + "': the port must be a number from 0 to 65535");
    address.port = std::stoi(port_text);
    return address;
}

struct MetricsServer::Impl {
    httplib::Server server;
    int port = 0;
    std::mutex mutex;
    std::string exposition;  // guarded by mutex
    std::thread thread;
};

MetricsServer::MetricsServer(const ListenAddress& address) : impl_(std::make_unique<Impl>())
{
    Impl& impl = *impl_;
    impl.server.Get("/metrics", [&impl](const httplib::Request&, httplib::Response& res) {
        std::string body;
        {
            const std::lock_guard lock(impl.mutex);
            body = impl.exposition;
        }
        res.set_content(std::move(body), kExpositionContentType);
    });
    impl.server.Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(
            "<html><head><title>SELF-e exporter</title></head><body><h1>SELF-e exporter</h1>"
            "<p><a href=\"/metrics\">Metrics</a></p></body></html>\n",
            "text/html; charset=utf-8");
    });
    // SO_REUSEADDR only (a restart need not wait out TIME_WAIT): httplib's
    // default adds SO_REUSEPORT, with which a second exporter would share
    // the port silently instead of failing.
    impl.server.set_socket_options([](socket_t sock) {
        const int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    errno = 0;
    if (address.port == 0) {
        impl.port = impl.server.bind_to_any_port(address.host);
        if (impl.port < 0)
            impl.port = 0;
    } else if (impl.server.bind_to_port(address.host, address.port)) {
        impl.port = address.port;
    }
    if (impl.port == 0) {
        const int err = errno;
        throw std::runtime_error(fmt::format("cannot listen on {}{}", address.describe(),
                                             err ? std::string(": ") + std::strerror(err) : std::string()));
    }
}

MetricsServer::~MetricsServer() { stop(); }

int MetricsServer::port() const noexcept { return impl_->port; }

void MetricsServer::publish(std::string exposition)
{
    const std::lock_guard lock(impl_->mutex);
    impl_->exposition = std::move(exposition);
}

void MetricsServer::start()
{
    // The server's threads (and the pool it starts) inherit this mask.
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    ::pthread_sigmask(SIG_BLOCK, &block, &old);
    impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    // stop() before the server runs would not stop it: wait for it to run.
    for (int i = 0; i < 5000 && !impl_->server.is_running(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void MetricsServer::stop()
{
    if (!impl_)
        return;
    impl_->server.stop();
    if (impl_->thread.joinable())
        impl_->thread.join();
}

}  // namespace self_e::tool
