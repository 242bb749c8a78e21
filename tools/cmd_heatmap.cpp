// self-e heatmap: a picture of a recorded VM's memory accesses over time.
#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "command.hpp"
#include "heatmap_image.hpp"
#include "list_output.hpp"
#include "self_e/error.hpp"
#include "self_e/heatmap.hpp"
#include "self_e/record_file.hpp"

namespace self_e::tool {

namespace {

constexpr const char* kFooter =
    "Reads a recording (`self-e record -o FILE`) and draws one VM: time since the\n"
    "recording started left to right, guest-physical address bottom to top (the\n"
    "guest-RAM memslots stacked, gaps between them collapsed and marked), each\n"
    "cell coloured by how many accesses fell in it on a log scale: a guest page\n"
    "fault is one access, a working-set sample (`access` event) one per page it\n"
    "marks. KSM merges are green +, COW breaks red x. The output's extension\n"
    "chooses the format: .png or .svg. --width and --height are the whole\n"
    "picture's; the plot gets what the labels leave, one cell per pixel (a\n"
    "column no shorter than the sampling interval of a `record --sample-interval`).\n"
    "Exit status: 0 success, 1 failure (unreadable recording, no such VM in it,\n"
    "cannot write), 2 bad command line.";

struct RecordedVmInfo {
    RecordedVm vm;
    std::vector<Memslot> slots_seen;  // every memslot it had while recorded
};

std::string wall_time(std::uint64_t real_ns)
{
    const std::time_t t = static_cast<std::time_t>(real_ns / 1'000'000'000u);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

class HeatmapCommand final : public Command {
public:
    void declare(CLI::App& app) override
    {
        app.add_option("FILE", input_, "the recording")->required();
        app.add_option("-o,--output", output_, "the picture to write: NAME.png or NAME.svg")->required();
        app.add_option("--vm", vm_id_, "the VM to draw (needed when the recording holds several)")
            ->check(CLI::Range(1, 65535));
        app.add_option("--width", width_, "picture width in pixels (default 1200)")->check(CLI::Range(320, 4096));
        app.add_option("--height", height_, "picture height in pixels (default 800)")->check(CLI::Range(200, 4096));
        // For tests: after writing a PNG, read it back and print the colour of
        // these pixels ("probe X,Y #rrggbb"), so a script without an image
        // decoder can check the file.
        app.add_option("--probe", probes_)->group("");
        app.footer(kFooter);
    }

    int run() override
    {
        const bool png = output_.ends_with(".png");
        if (!png && !output_.ends_with(".svg"))
            throw UsageError("-o " + output_ + ": the name must end in .png or .svg");
        const HeatmapFrame frame = heatmap_frame(width_, height_);

        // Pass 1: the VMs, their memslots over the whole recording, its end.
        std::map<std::uint16_t, RecordedVmInfo> vms;
        RecordHeader header;
        RecordEnd end;
        {
            const auto in = open_recording(input_);
            RecordReader reader(*in, input_);
            header = reader.header();
            for (const RecordedVm& vm : header.vms)
                vms[vm.vm_id] = {vm, vm.memslots};
            while (auto item = reader.next()) {
                if (auto* added = std::get_if<VmAdded>(&*item))
                    vms[added->vm.vm_id] = {added->vm, added->vm.memslots};
                else if (auto* update = std::get_if<MemslotUpdate>(&*item)) {
                    auto& seen = vms[update->vm_id].slots_seen;
                    seen.insert(seen.end(), update->memslots.begin(), update->memslots.end());
                } else if (auto* e = std::get_if<RecordEnd>(&*item))
                    end = *e;
            }
        }
        std::string ids;
        for (const auto& [id, vm] : vms)
            ids += (ids.empty() ? "" : ", ") + std::to_string(id);
        if (!vm_id_) {
            if (vms.size() != 1)
                throw UsageError(fmt::format("{} holds {} VMs ({}): choose one with --vm", input_,
                                             vms.size(), ids.empty() ? "none" : ids));
            vm_id_ = vms.begin()->first;
        }
        const auto found = vms.find(static_cast<std::uint16_t>(*vm_id_));
        if (found == vms.end())
            throw Error(ErrorKind::no_such_process,
                        fmt::format("{}: no VM {} in the recording (it has {})", input_, *vm_id_, ids));
        const RecordedVmInfo& info = found->second;
        HeatmapLayout layout(info.slots_seen);
        if (layout.total_pages() == 0)
            throw Error(ErrorKind::invalid_argument,
                        fmt::format("{}: VM {} has no guest-RAM memslots to draw", input_, *vm_id_));

        // Pass 2: the events into the grid.
        // One column a pixel, but none shorter than the sampling interval: a
        // sample then lands in every column, not in one of many.
        std::uint32_t columns = static_cast<std::uint32_t>(frame.plot_width);
        if (header.sample_interval_ms && end.end_mono_ns > header.start_mono_ns) {
            const std::uint64_t interval_ns = std::uint64_t{header.sample_interval_ms} * 1'000'000;
            const std::uint64_t by_interval = (end.end_mono_ns - header.start_mono_ns + interval_ns - 1) / interval_ns;
            columns = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(by_interval, 1, columns));
        }
        Heatmap map(layout, info.vm.vm_id, header.start_mono_ns, end.end_mono_ns, columns,
                    static_cast<std::uint32_t>(frame.plot_height));
        {
            const auto in = open_recording(input_);
            RecordReader reader(*in, input_);
            while (auto item = reader.next())
                if (auto* batch = std::get_if<EventBatch>(&*item))
                    for (const Event& ev : batch->events)
                        map.add(ev);
        }

        HeatmapText text;
        text.title = fmt::format("VM {} (pid {}, {}{}): {} of guest RAM", info.vm.vm_id, info.vm.pid,
                                 info.vm.comm.empty() ? "?" : info.vm.comm,
                                 info.vm.name.empty() ? "" : " " + info.vm.name,
                                 format_bytes(layout.total_pages() * 4096));
        const double seconds = static_cast<double>(end.end_mono_ns - std::min(end.end_mono_ns, header.start_mono_ns)) / 1e9;
        text.subtitle = fmt::format("recorded {} on {} ({}), {:.1f} s", wall_time(header.start_real_ns),
                                    header.hostname, header.kernel_release, seconds);
        text.notes = {fmt::format("{} accesses", map.totals().accesses),
                      fmt::format("{} KSM merges", map.totals().merges),
                      fmt::format("{} COW breaks", map.totals().cow_breaks)};
        const std::string bytes = png ? encode_png(render_heatmap_raster(map, frame, text))
                                      : render_heatmap_svg(map, frame, text);
        std::ofstream out(output_, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.close();
        if (!out)
            throw Error(ErrorKind::io, "cannot write " + output_);
        fmt::print(stderr, "self-e heatmap: {}: VM {}, {}x{}, plot at {},{} {}x{}, {} cells of {} time x {} per cell; "
                           "{} accesses (busiest cell {}), {} KSM merges, {} COW breaks\n",
                   output_, info.vm.vm_id, width_, height_, frame.plot_x, frame.plot_y, frame.plot_width,
                   frame.plot_height, map.columns() * std::uint64_t{map.rows()},
                   fmt::format("{:.3g} s", seconds / map.columns()),
                   format_bytes(layout.total_pages() * 4096 / map.rows()), map.totals().accesses,
                   map.max_accesses(), map.totals().merges, map.totals().cow_breaks);
        if (!probes_.empty())
            print_probes(png);
        return kExitOk;
    }

private:
    void print_probes(bool png) const
    {
        if (!png)
            throw UsageError("--probe reads back PNG files only");
        std::ifstream in(output_, std::ios::binary);
        const std::string bytes{std::istreambuf_iterator<char>(in), {}};
        const Raster picture = decode_png(bytes);
        for (const std::string& p : probes_) {
            int x = -1, y = -1;
            if (std::sscanf(p.c_str(), "%d,%d", &x, &y) != 2 || x < 0 || y < 0 || x >= picture.width() ||
                y >= picture.height())
                throw UsageError("--probe " + p + ": not X,Y inside the picture");
            const Rgb c = picture.at(x, y);
            fmt::print("probe {},{} #{:02x}{:02x}{:02x}\n", x, y, c.r, c.g, c.b);
        }
    }

    std::vector<std::string> probes_;
    std::string input_;
    std::string output_;
    std::optional<std::uint32_t> vm_id_;
    int width_ = 1200;
    int height_ = 800;
};

}  // namespace

std::unique_ptr<Command> make_heatmap_command() { return std::make_unique<HeatmapCommand>(); }

}  // namespace self_e::tool
