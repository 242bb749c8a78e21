// self-e export on this host, without self_e.ko, the way a fleet uses it:
// /metrics passes `promtool check metrics`, and a real Prometheus on loopback
// scraping it every second gets the self_e_ series. Both run on ports the
// kernel picked; both are ended at the end (SIGTERM; the exporter must exit 0).
#include <catch2/catch.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include "background_process.hpp"
#include "run_process.hpp"

using namespace self_e::host_test;
namespace fs = std::filesystem;

namespace {

bool module_loaded()
{
    struct stat st;
    return ::stat("/sys/module/self_e", &st) == 0;
}

std::optional<std::string> find_program(const std::string& name)
{
    for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
        const fs::path path = fs::path(dir) / name;
        if (::access(path.c_str(), X_OK) == 0)
            return path.string();
    }
    return std::nullopt;
}

struct TempDir {
    fs::path path;
    TempDir()
    {
        char name[] = "/tmp/self_e_export_test.XXXXXX";
        if (!mkdtemp(name))
            throw std::runtime_error("mkdtemp failed");
        path = name;
    }
    ~TempDir()
    {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

// The exporter on 127.0.0.1 and a port the kernel picks; returns the port
// it printed ("serving http://127.0.0.1:PORT/metrics").
int exporter_port(BackgroundProcess& exporter)
{
    int port = 0;
    const std::regex serving(R"(serving http://127\.0\.0\.1:([0-9]+)/metrics)");
    wait_for(
        [&] {
            std::smatch m;
            const std::string err = exporter.err();
            if (std::regex_search(err, m, serving))
                port = std::stoi(m[1]);
            return port != 0 || !exporter.running();
        },
        std::chrono::seconds(30));
    return port;
}

}  // namespace

TEST_CASE("export has --help and refuses bad addresses with exit 2", "[export]")
{
    const RunResult help = run({SELF_E_BIN, "export", "--help"});
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out, Catch::Contains("--listen") && Catch::Contains("9860") &&
                             Catch::Contains("self_e_vm_pages"));
    for (const char* bad : {"127.0.0.1", "127.0.0.1:99999", "127.0.0.1:http", "::1:9860", "[::1]9860"}) {
        const RunResult r = run({SELF_E_BIN, "export", "--listen", bad});
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains("--listen"));
    }
    const RunResult interval = run({SELF_E_BIN, "export", "--interval", "0"});
    CHECK(interval.exit_code == 2);
}

TEST_CASE("export cannot listen on a port in use: exit 1, naming the address", "[export]")
{
    TempDir dir;
    BackgroundProcess first({SELF_E_BIN, "export", "--listen", "127.0.0.1:0"}, dir.path, "first");
    const int port = exporter_port(first);
    REQUIRE(port != 0);
    const std::string address = "127.0.0.1:" + std::to_string(port);
    // A second exporter that did listen would run until killed: bound it.
    const RunResult second = run({"/usr/bin/timeout", "20", SELF_E_BIN, "export", "--listen", address});
    CHECK(second.exit_code == 1);
    CHECK_THAT(second.err, Catch::Contains("cannot listen on " + address));
    CHECK(first.terminate() == std::optional<int>(0));
}

TEST_CASE("export without the module: promtool accepts /metrics, a real Prometheus scrapes it", "[export]")
{
    if (module_loaded()) {
        WARN("self_e is loaded here: the module-less exporter test is skipped");
        return;
    }
    TempDir dir;
    BackgroundProcess exporter({SELF_E_BIN, "export", "--listen", "127.0.0.1:0", "--interval", "1"}, dir.path,
                               "exporter");
    const int port = exporter_port(exporter);
    INFO("exporter stderr: " << exporter.err());
    REQUIRE(port != 0);

    httplib::Client client("127.0.0.1", port);
    const auto res = client.Get("/metrics");
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
    const std::string metrics = res->body;
    CHECK_THAT(metrics, Catch::Contains("\nself_e_module_loaded 0\n") &&
                            Catch::Contains("# TYPE self_e_module_loaded gauge\n") &&
                            Catch::Contains("\nself_e_host_ksm_available "));
    if (fs::exists("/sys/kernel/mm/ksm/pages_shared"))
        CHECK_THAT(metrics, Catch::Contains("\nself_e_host_ksm_shared_pages "));
    const auto not_found = client.Get("/nothing");
    REQUIRE(not_found);
    CHECK(not_found->status == 404);

    const auto promtool = find_program("promtool");
    const auto prometheus = find_program("prometheus");
    if (!promtool || !prometheus) {
        WARN("promtool or prometheus is missing (Debian package prometheus; scripts/deps.sh installs it)");
        CHECK(exporter.terminate() == std::optional<int>(0));
        return;
    }
    {
        std::ofstream(dir.path / "metrics.txt") << metrics;
        const RunResult check = run({"/bin/sh", "-c", *promtool + " check metrics < " + (dir.path / "metrics.txt").string()});
        INFO("promtool: " << check.out << check.err);
        CHECK(check.exit_code == 0);
        CHECK(check.out.empty());
        CHECK(check.err.empty());
    }

    // A real Prometheus scraping the exporter every second.
    const std::string target = "127.0.0.1:" + std::to_string(port);
    std::ofstream(dir.path / "prometheus.yml") << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                                                  "scrape_configs:\n  - job_name: self-e\n"
                                                  "    static_configs:\n      - targets: ['"
                                               << target << "']\n";
    std::optional<BackgroundProcess> server;
    int prom_port = 0;
    for (int attempt = 0; attempt < 3 && !server; ++attempt) {
        prom_port = free_loopback_port();
        server.emplace(std::vector<std::string>{*prometheus, "--config.file=" + (dir.path / "prometheus.yml").string(),
                                                "--storage.tsdb.path=" + (dir.path / "data").string(),
                                                "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
                       dir.path, "prometheus");
        httplib::Client ready("127.0.0.1", prom_port);
        const bool up = wait_for(
            [&] {
                const auto r = ready.Get("/-/ready");
                return (r && r->status == 200) || !server->running();
            },
            std::chrono::seconds(60));
        if (!up || !server->running()) {
            WARN("prometheus did not start on port " << prom_port << ": " << server->err());
            server.reset();
        }
    }
    REQUIRE(server);

    httplib::Client api("127.0.0.1", prom_port);
    nlohmann::json answer;
    const bool seen = wait_for(
        [&] {
            const auto r = api.Get("/api/v1/query?query=self_e_module_loaded");
            if (!r || r->status != 200)
                return false;
            answer = nlohmann::json::parse(r->body, nullptr, false);
            return answer.is_object() && answer["status"] == "success" && !answer["data"]["result"].empty();
        },
        std::chrono::seconds(60));
    INFO("last answer: " << answer.dump() << "\nprometheus stderr: " << server->err());
    REQUIRE(seen);
    const auto& series = answer["data"]["result"][0];
    CHECK(series["metric"]["job"] == "self-e");
    CHECK(series["metric"]["instance"] == target);
    CHECK(series["value"][1] == "0");

    // The scrape itself was healthy, and a host KSM series arrived with it.
    const auto up = api.Get("/api/v1/query?query=up%7Bjob%3D%22self-e%22%7D");
    REQUIRE(up);
    CHECK(nlohmann::json::parse(up->body)["data"]["result"][0]["value"][1] == "1");
    const auto ksm = api.Get("/api/v1/query?query=self_e_host_ksm_available");
    REQUIRE(ksm);
    CHECK(nlohmann::json::parse(ksm->body)["data"]["result"].size() == 1);

    server->terminate();
    CHECK(exporter.terminate() == std::optional<int>(0));
    CHECK_THAT(exporter.err(), Catch::Contains("self-e export: stopped"));
}
