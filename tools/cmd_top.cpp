// self-e top: a live view of every VM, one row each, refreshed every
// --interval seconds; --batch and --json print plain snapshots for scripts.
#include <fmt/core.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "command.hpp"
#include "sampling_options.hpp"
#include "sampler.hpp"
#include "stop_signals.hpp"
#include "terminal.hpp"
#include "top_view.hpp"

namespace self_e::tool {

namespace {

constexpr const char* kFooter =
    "Columns (counts are 4 KiB guest pages, now; /s figures are per second over the\n"
    "last interval):\n"
    "  VM, PID, NAME  the module's VM id, the VM process, QEMU's -name or the process name\n"
    "  TOUCH/s        guest pages KVM mapped on a guest access (fault events) per second\n"
    "  TOUCHED        pages with a host page now or since watching started\n"
    "  INTRA, INTER   KSM-shared pages on a KSM page only this VM maps / others map too\n"
    "  ZERO           pages KSM merged with the zero page (use_zero_pages=1)\n"
    "  COW/s          COW breaks of shared pages per second\n"
    "  DROP           events of the VM its readers' full rings dropped (module's count)\n"
    "The header shows the host's KSM figures (/sys/kernel/mm/ksm: pages_shared,\n"
    "pages_sharing, pages_unshared, general_profit where the kernel has it).\n"
    "Keys: q quit; sort by v VM, p PID, n NAME, t TOUCH/s, w TOUCHED, k INTRA,\n"
    "x INTER, z ZERO, c COW/s, d DROP; < > the column left/right; r reverse.\n"
    "With self_e.ko, VMs are followed live (attached, seeded from /proc, events); VMs\n"
    "come and go as they are created and destroyed. Without it, each interval takes a\n"
    "page snapshot of every process holding a KVM VM (its private anonymous mappings):\n"
    "no fault or COW-break figures then (shown as -).\n"
    "--batch prints the header and table every interval without escape sequences;\n"
    "--json one object per snapshot (keys in tools/top_view.hpp). Needs root.\n"
    "Exit status: 0 success, 1 failure (need root, module error), 2 bad command line.";

std::chrono::steady_clock::duration to_duration(double seconds)
{
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
}

class TopCommand final : public Command {
public:
    void declare(CLI::App& app) override
    {
        sampling_.declare(app, ", with self_e.ko, for the WSET and IDLE columns");
        app.add_option("--interval", interval_s_, "seconds between refreshes (default 2)")
            ->check(CLI::Range(0.1, 3600.0));
        app.add_option("--sort", sort_key_,
                       "sort by: vm, pid, name, touch, touched, intra, inter, zero, cow, dropped "
                       "(default touched)")
            ->check([](const std::string& key) -> std::string {
                if (find_top_column(key))
                    return {};
                return "unknown sort key '" + key + "'";
            });
        app.add_flag("--batch", batch_, "print plain snapshots, no full screen (for scripts)");
        app.add_option("--count", count_, "with --batch or --json: stop after N snapshots")
            ->check(CLI::PositiveNumber);
        app.add_flag("--json", json_, "print one JSON object per snapshot (implies --batch)");
        app.footer(kFooter);
    }

    int run() override
    {
        if (json_)
            batch_ = true;
        if (count_ && !batch_)
            throw UsageError("--count needs --batch or --json");
        sort_.column = *find_top_column(sort_key_);
        catch_stop_signals();
        if (batch_) {
            run_batch(*make_sampler(sampling_.settings()));
        } else {
            // The terminal first: without one there is nothing to attach for.
            Terminal terminal;
            run_screen(terminal, *make_sampler(sampling_.settings()));
        }
        return kExitOk;
    }

private:
    SamplingOptions sampling_;
    // Follows events until the deadline, a key (screen) or a stop signal.
    template <typename OnIdle>
    void wait_until(Sampler& sampler, std::chrono::steady_clock::time_point deadline, OnIdle&& on_idle)
    {
        using namespace std::chrono;
        while (!stop_requested()) {
            const auto now = steady_clock::now();
            if (now >= deadline)
                return;
            sampler.advance(std::min(duration_cast<milliseconds>(deadline - now) + milliseconds(1),
                                     milliseconds(100)));
            if (on_idle())
                return;
        }
    }

    void run_batch(Sampler& sampler)
    {
        std::optional<VmSample> before;
        auto next = std::chrono::steady_clock::now();
        for (std::uint64_t n = 0; !stop_requested(); ++n) {
            if (count_ && n == *count_)
                break;
            if (n > 0)
                wait_until(sampler, next, [] { return false; });
            if (stop_requested())
                break;
            next = std::chrono::steady_clock::now() + to_duration(interval_s_);
            VmSample sample = sampler.sample();
            const TopFrame frame = make_top_frame(sample, before ? &*before : nullptr, interval_s_);
            if (json_)
                fmt::print("{}\n", top_json(frame).dump());
            else
                fmt::print("{}", top_batch_text(frame, sort_));
            std::fflush(stdout);
            before = std::move(sample);
        }
    }

    // Returns true when the key asks to quit.
    bool on_key(char key)
    {
        const std::size_t columns = top_columns().size();
        if (key == 'q' || key == 'Q')
            return true;
        if (key == 'r')
            sort_.reverse = !sort_.reverse;
        else if (key == '<')
            sort_.column = (sort_.column + columns - 1) % columns;
        else if (key == '>')
            sort_.column = (sort_.column + 1) % columns;
        else if (const auto c = top_column_for_hotkey(key))
            sort_.column = *c;
        return false;
    }

    std::vector<std::string> screen_lines(const TopFrame& frame, TerminalSize size, std::size_t& title) const
    {
        std::vector<std::string> lines;
        for (const std::string& line : top_header_lines(frame, sort_))
            lines.push_back(fit_text(line, size.columns));
        lines.emplace_back();
        std::vector<std::string> table = top_table_lines(frame, sort_, size.columns);
        title = lines.size();
        const std::string help = fit_text("q quit  v p n t w k x z c d sort  < > column  r reverse", size.columns);
        const std::size_t room = size.rows > lines.size() + 1 ? size.rows - lines.size() - 1 : 0;
        if (table.size() > room && room > 0) {
            const std::size_t hidden = table.size() - (room - 1);
            table.resize(room - 1);
            table.push_back(fit_text(fmt::format("... {} more VMs (a taller terminal shows them)", hidden),
                                     size.columns));
        }
        for (std::string& line : table)
            lines.push_back(std::move(line));
        while (lines.size() + 1 < size.rows)
            lines.emplace_back();
        lines.push_back(help);
        if (lines.size() > size.rows)
            lines.resize(size.rows);
        return lines;
    }

    void run_screen(Terminal& terminal, Sampler& sampler)
    {
        std::optional<VmSample> before;
        bool quit = false;
        while (!quit && !stop_requested()) {
            const auto next = std::chrono::steady_clock::now() + to_duration(interval_s_);
            VmSample sample = sampler.sample();
            const TopFrame frame = make_top_frame(sample, before ? &*before : nullptr, interval_s_);
            before = std::move(sample);
            auto redraw = [&] {
                std::size_t title = 0;
                const auto lines = screen_lines(frame, terminal.size(), title);
                terminal.draw(lines, title);
            };
            redraw();
            wait_until(sampler, next, [&] {
                bool changed = terminal.resized();
                while (const auto key = terminal.read_key(std::chrono::milliseconds(0))) {
                    if (on_key(*key)) {
                        quit = true;
                        return true;
                    }
                    changed = true;
                }
                if (changed)
                    redraw();
                return false;
            });
        }
    }

    double interval_s_ = 2.0;
    std::string sort_key_ = "touched";
    bool batch_ = false;
    bool json_ = false;
    std::optional<std::uint64_t> count_;
    TopSort sort_;
};

}  // namespace

std::unique_ptr<Command> make_top_command() { return std::make_unique<TopCommand>(); }

}  // namespace self_e::tool
