// The HTTP side of `self-e export` (cpp-httplib): GET /metrics answers with
// the text last published, / with a pointer to it. The sampling thread
// publishes a whole rendered exposition at a time under a mutex, so a scrape
// always sees one consistent sample.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace self_e::tool {

struct ListenAddress {
    std::string host;  // "127.0.0.1", "::1", "0.0.0.0"
    int port = 0;
    std::string describe() const;  // "127.0.0.1:9860", "[::1]:9860"
};

// "ADDR:PORT", "[IPV6]:PORT" or ":PORT" (every address); throws
// std::invalid_argument saying what is wrong.
ListenAddress parse_listen_address(const std::string& text);

class MetricsServer {
public:
    // Binds (throws std::runtime_error naming the address when it cannot);
    // serves nothing until start().
    explicit MetricsServer(const ListenAddress& address);
    ~MetricsServer();  // stops and joins
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // The port bound (the one asked for, or the kernel's pick for port 0).
    int port() const noexcept;
    // Replaces what /metrics answers.
    void publish(std::string exposition);
    // Serves on threads of its own, with SIGINT and SIGTERM blocked there
    // (the caller's thread keeps handling them).
    void start();
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace self_e::tool
