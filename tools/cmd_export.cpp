// self-e export: a Prometheus exporter. One thread samples (and, with the
// module, follows every VM's events); it renders the exposition text every
// --interval and publishes it whole to the HTTP threads.
#include <fmt/core.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "command.hpp"
#include "sampling_options.hpp"
#include "metrics.hpp"
#include "metrics_server.hpp"
#include "sampler.hpp"
#include "stop_signals.hpp"

namespace self_e::tool {

namespace {

constexpr const char* kDefaultListen = "127.0.0.1:9860";

constexpr const char* kFooter =
    "Serves GET /metrics in the Prometheus text format (0.0.4). Per VM (labels vm,\n"
    "pid, name): self_e_vm_pages{class=untouched|private|ksm_intra|ksm_inter|\n"
    "ksm_alone|zero|unmapped} (adding up to self_e_vm_guest_pages),\n"
    "self_e_vm_touched_pages, self_e_vm_ksm_saved_bytes, self_e_vm_exact and, with\n"
    "self_e.ko, self_e_vm_faults_total, self_e_vm_cow_breaks_total,\n"
    "self_e_vm_ksm_merges_total, self_e_vm_events_total,\n"
    "self_e_vm_dropped_events_total, self_e_vm_readers; the module's health\n"
    "(self_e_module_loaded, _vms, _readers); the host's KSM (self_e_host_ksm_*).\n"
    "The full table is in README.md. Without self_e.ko the figures come from a page\n"
    "snapshot of every process holding a KVM VM, each interval, and\n"
    "self_e_module_loaded is 0.\n"
    "Port 9860 is the default (Prometheus' list of exporter ports is full, so it\n"
    "may be another exporter's there: pick another with --listen). Runs until\n"
    "SIGINT or SIGTERM. Needs root.\n"
    "Exit status: 0 stopped by a signal, 1 failure (cannot listen, need root), 2 bad command line.";

class ExportCommand final : public Command {
public:
    void declare(CLI::App& app) override
    {
        app.add_option("--listen", listen_, fmt::format("ADDR:PORT to serve on (default {}; [::1]:PORT for "
                                                        "IPv6, :PORT for every address)",
                                                        kDefaultListen))
            ->check([](const std::string& text) -> std::string {
                try {
                    parse_listen_address(text);
                    return {};
                } catch (const std::invalid_argument& e) {
                    return e.what();
                }
            });
        sampling_.declare(app, ", with self_e.ko, for the working-set metrics");
        app.add_option("--interval", interval_s_, "seconds between samples (default 5)")
            ->check(CLI::Range(0.1, 3600.0));
        app.footer(kFooter);
    }

    int run() override
    {
        catch_stop_signals();
        const ListenAddress address = parse_listen_address(listen_);
        std::unique_ptr<Sampler> sampler = make_sampler(sampling_.settings());
        MetricsServer server(address);
        server.publish(render(sampler->sample()));
        server.start();
        fmt::print(stderr, "self-e export: serving http://{}/metrics\n",
                   ListenAddress{address.host, server.port()}.describe());
        std::fflush(stderr);

        using namespace std::chrono;
        const auto interval = duration_cast<steady_clock::duration>(duration<double>(interval_s_));
        auto next = steady_clock::now() + interval;
        while (!stop_requested()) {
            const auto now = steady_clock::now();
            if (now >= next) {
                server.publish(render(sampler->sample()));
                next = now + interval;
                continue;
            }
            sampler->advance(std::min(duration_cast<milliseconds>(next - now) + milliseconds(1), milliseconds(200)));
        }
        server.stop();
        fmt::print(stderr, "self-e export: stopped\n");
        return kExitOk;
    }

private:
    SamplingOptions sampling_;
    static std::string render(const VmSample& sample)
    {
        const std::vector<MetricFamily> families = metrics_from_sample(sample);
        return render_exposition(families);
    }

    std::string listen_ = kDefaultListen;
    double interval_s_ = 5.0;
};

}  // namespace

std::unique_ptr<Command> make_export_command() { return std::make_unique<ExportCommand>(); }

}  // namespace self_e::tool
