// How `self-e heatmap` draws a Heatmap (self_e/heatmap.hpp): the same
// picture as a PNG (libpng; text in bitmap_font.hpp's capitals) or an SVG
// (the cells as an embedded PNG, everything else as vector shapes and text).
//
// Picture: the plot (time left to right, guest-physical address bottom to
// top, guest-RAM ranges stacked with the gaps between them collapsed and a
// dashed line with a label where one was), a title with the VM and the
// recording's wall-clock start, axis ticks in s/min and KiB/MiB/GiB, and a
// legend: the colour of 1..max accesses per cell on a log scale, and the
// markers of KSM merges (green +) and COW breaks (red x), drawn on a grid
// of kMarkerCell pixels so that their number is bounded by the picture.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "self_e/heatmap.hpp"

namespace self_e::tool {

struct Rgb {
    std::uint8_t r = 0, g = 0, b = 0;
    friend bool operator==(const Rgb&, const Rgb&) = default;
};

inline constexpr Rgb kEmptyColour{255, 255, 255};
inline constexpr Rgb kMergeColour{0, 170, 60};
inline constexpr Rgb kCowColour{220, 20, 30};
inline constexpr int kMarkerCell = 8;

// The colour of a cell with count accesses when the busiest has max: empty
// for 0, else light to dark blue by log(count) / log(max).
Rgb heat_colour(std::uint32_t count, std::uint32_t max) noexcept;

// An RGB picture.
class Raster {
public:
    Raster(int width, int height, Rgb background);
    int width() const noexcept { return width_; }
    int height() const noexcept { return height_; }
    Rgb at(int x, int y) const noexcept;
    void set(int x, int y, Rgb c) noexcept;  // ignores points outside
    void fill(int x, int y, int w, int h, Rgb c) noexcept;
    // Text in the bitmap font, top-left at (x, y), scaled by scale.
    void text(int x, int y, const std::string& s, Rgb c, int scale = 1) noexcept;
    const std::vector<std::uint8_t>& pixels() const noexcept { return pixels_; }  // RGB rows

private:
    int width_, height_;
    std::vector<std::uint8_t> pixels_;
};

int text_width(const std::string& s, int scale = 1) noexcept;

// The picture's layout for a total size: where the plot goes. The Heatmap
// to draw is made with plot_width columns and plot_height rows.
struct HeatmapFrame {
    int width = 0, height = 0;
    int plot_x = 0, plot_y = 0, plot_width = 0, plot_height = 0;
};
// Throws self_e::Error (invalid_argument) below 320 x 200.
HeatmapFrame heatmap_frame(int width, int height);

struct HeatmapText {
    std::string title;               // "VM 1 (pid 153, minivmm): 16 MiB of guest RAM"
    std::string subtitle;            // when and where it was recorded
    std::vector<std::string> notes;  // under the legend: the totals
};

// The plot's pixel (x, y) from its top-left of the grid, without markers.
Raster plot_raster(const Heatmap& map, const HeatmapFrame& frame);

Raster render_heatmap_raster(const Heatmap& map, const HeatmapFrame& frame, const HeatmapText& text);
std::string encode_png(const Raster& raster);  // the PNG file's bytes
// A PNG file's pixels (for checking what was written); throws self_e::Error.
Raster decode_png(const std::string& bytes);
std::string render_heatmap_svg(const Heatmap& map, const HeatmapFrame& frame, const HeatmapText& text);

// Axis labels: "512 MiB", "1.5 GiB"; "30 s", "2 min".
std::string address_label(std::uint64_t bytes);
std::string time_label(double seconds, double step);

}  // namespace self_e::tool
