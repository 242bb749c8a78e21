#include "heatmap_image.hpp"

#include <fmt/core.h>
#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>

#include "bitmap_font.hpp"
#include "self_e/error.hpp"

namespace self_e::tool {

namespace {

constexpr Rgb kInk{30, 30, 30};
constexpr Rgb kGrid{150, 150, 150};
constexpr Rgb kFrameColour{90, 90, 90};
constexpr int kMarginLeft = 96, kMarginRight = 150, kMarginTop = 46, kMarginBottom = 44;

struct Tick {
    int pos = 0;  // pixel, in the picture
    std::string label;
};

struct Axes {
    std::vector<Tick> x, y;
    std::vector<Tick> gaps;  // y of a collapsed gap, and what it says
    std::string x_title, y_title;
};

struct Marker {
    int x = 0, y = 0;  // centre, in the picture
    bool merge = false;  // else a COW break
};

Rgb mix(Rgb a, Rgb b, double t) noexcept
{
    const auto m = [t](std::uint8_t u, std::uint8_t v) {
        return static_cast<std::uint8_t>(std::lround(u + (v - u) * t));
    };
    return {m(a.r, b.r), m(a.g, b.g), m(a.b, b.b)};
}

std::string hex_colour(Rgb c) { return fmt::format("#{:02x}{:02x}{:02x}", c.r, c.g, c.b); }

// The pixel line (from the plot's bottom) where axis index p starts.
int y_of_index(const Heatmap& map, const HeatmapFrame& f, std::uint64_t p)
{
    const auto up = static_cast<int>(static_cast<unsigned __int128>(p) * f.plot_height / map.layout().total_pages());
    return f.plot_y + f.plot_height - 1 - up;
}

Axes make_axes(const Heatmap& map, const HeatmapFrame& f)
{
    Axes axes;
    // Time: a round step giving about 8 ticks.
    const double seconds = static_cast<double>(map.t1_ns() - map.t0_ns()) / 1e9;
    static constexpr double steps[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10,
                                       15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400};
    double step = steps[std::size(steps) - 1];
    for (double s : steps)
        if (seconds / s <= 8) {
            step = s;
            break;
        }
    for (int i = 0; i * step <= seconds + 1e-9; ++i) {
        const int x = f.plot_x + static_cast<int>(std::lround(i * step / seconds * (f.plot_width - 1)));
        axes.x.push_back({x, time_label(i * step, step)});
    }
    axes.x_title = step >= 60 ? "time since the recording started (min)" : "time since the recording started (s)";

    // Address: a power-of-two step giving about 8 ticks over all of guest RAM,
    // ticks at its multiples inside each range, and each range's start.
    const std::uint64_t total = map.layout().total_pages();
    std::uint64_t step_pages = 1;
    while (total / step_pages > 8)
        step_pages *= 2;
    int last_label = 1 << 30;
    for (std::size_t i = 0; i < map.layout().segments().size(); ++i) {
        const HeatmapSegment& s = map.layout().segments()[i];
        if (i > 0) {
            const HeatmapSegment& prev = map.layout().segments()[i - 1];
            const std::uint64_t gap = s.base_gfn - (prev.base_gfn + prev.npages);
            axes.gaps.push_back({y_of_index(map, f, s.first_page),
                                 fmt::format("gap of {} collapsed", address_label(gap * 4096))});
        }
        for (std::uint64_t g = s.base_gfn; g < s.base_gfn + s.npages;
             g = (g / step_pages + 1) * step_pages) {
            const int y = y_of_index(map, f, s.first_page + (g - s.base_gfn));
            if (std::abs(last_label - y) < 12 && g != s.base_gfn)
                continue;
            if (std::abs(last_label - y) < 12)
                axes.y.pop_back();  // a range's start wins over a tick just before it
            axes.y.push_back({y, address_label(g * 4096)});
            last_label = y;
        }
    }
    axes.y_title = "guest-physical address";
    return axes;
}

std::vector<Marker> make_markers(const Heatmap& map, const HeatmapFrame& f)
{
    const int bw = (f.plot_width + kMarkerCell - 1) / kMarkerCell;
    const int bh = (f.plot_height + kMarkerCell - 1) / kMarkerCell;
    std::vector<std::uint8_t> blocks(static_cast<std::size_t>(bw) * bh, 0);  // bit 0 merge, bit 1 COW
    for (std::uint32_t row = 0; row < map.rows(); ++row) {
        const int lo = static_cast<int>(static_cast<std::uint64_t>(row) * f.plot_height / map.rows());
        const int hi = static_cast<int>(static_cast<std::uint64_t>(row + 1) * f.plot_height / map.rows());
        const int y = f.plot_height - 1 - (lo + hi) / 2;
        for (std::uint32_t col = 0; col < map.columns(); ++col) {
            const std::uint8_t bits = (map.merges(col, row) ? 1 : 0) | (map.cow_breaks(col, row) ? 2 : 0);
            if (!bits)
                continue;
            const int x = static_cast<int>((static_cast<std::uint64_t>(col) * 2 + 1) * f.plot_width /
                                           (2 * map.columns()));
            blocks[static_cast<std::size_t>(std::clamp(y, 0, f.plot_height - 1) / kMarkerCell) * bw +
                   static_cast<std::size_t>(x / kMarkerCell)] |= bits;
        }
    }
    std::vector<Marker> markers;
    for (int by = 0; by < bh; ++by)
        for (int bx = 0; bx < bw; ++bx) {
            const std::uint8_t bits = blocks[static_cast<std::size_t>(by) * bw + bx];
            const int x = f.plot_x + std::min(bx * kMarkerCell + kMarkerCell / 2, f.plot_width - 1);
            const int y = f.plot_y + std::min(by * kMarkerCell + kMarkerCell / 2, f.plot_height - 1);
            if (bits & 1)
                markers.push_back({x, y, true});
            if (bits & 2)
                markers.push_back({x, y, false});
        }
    return markers;
}

// Legend: counts shown on the colour bar (1, 10, 100, ..., max).
// A power of ten is left out when it would sit on max's label (within 1/4
// of a decade on the log scale).
std::vector<std::uint32_t> legend_counts(std::uint32_t max)
{
    std::vector<std::uint32_t> counts{1};
    for (std::uint64_t c = 10; c * 1.78 < max; c *= 10)
        counts.push_back(static_cast<std::uint32_t>(c));
    if (max > 1)
        counts.push_back(max);
    return counts;
}

struct Legend {
    int x = 0, y = 0, bar_height = 0;
};
Legend legend_place(const HeatmapFrame& f)
{
    return {f.plot_x + f.plot_width + 22, f.plot_y + 16, std::clamp(f.plot_height - 130, 40, 220)};
}
// The bar's y for count c (max at the top).
int legend_y(const Legend& l, std::uint32_t c, std::uint32_t max)
{
    const double t = max > 1 ? std::log(static_cast<double>(c)) / std::log(static_cast<double>(max)) : 1.0;
    return l.y + l.bar_height - 1 - static_cast<int>(std::lround(t * (l.bar_height - 1)));
}

void draw_marker(Raster& r, const Marker& m)
{
    const Rgb c = m.merge ? kMergeColour : kCowColour;
    for (int d = -3; d <= 3; ++d)
        for (int w = 0; w < 2; ++w) {
            if (m.merge) {
                r.set(m.x + d, m.y + w, c);
                r.set(m.x + w, m.y + d, c);
            } else {
                r.set(m.x + d + w, m.y + d, c);
                r.set(m.x + d + w, m.y - d, c);
            }
        }
}

void png_write_to_string(png_structp png, png_bytep data, png_size_t length)
{
    static_cast<std::string*>(png_get_io_ptr(png))->append(reinterpret_cast<const char*>(data), length);
}

void png_error_jump(png_structp png, png_const_charp)
{
    png_longjmp(png, 1);
}

// C-style, so that longjmp skips no destructor: returns false on a libpng error.
bool write_png(std::string* out, const std::uint8_t* pixels, int width, int height)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, png_error_jump, nullptr);
    if (!png)
        return false;
    png_infop info = png_create_info_struct(png);
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return false;
    }
    png_set_write_fn(png, out, png_write_to_string, nullptr);
    png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; ++y)
        png_write_row(png, pixels + static_cast<std::size_t>(y) * width * 3);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return true;
}

std::string base64(const std::string& in)
{
    static constexpr char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const std::uint32_t v = (std::uint8_t(in[i]) << 16) | (std::uint8_t(in[i + 1]) << 8) | std::uint8_t(in[i + 2]);
        out += digits[v >> 18];
        out += digits[(v >> 12) & 63];
        out += digits[(v >> 6) & 63];
        out += digits[v & 63];
    }
    if (i < in.size()) {
        const std::uint32_t v = (std::uint8_t(in[i]) << 16) | (i + 1 < in.size() ? std::uint8_t(in[i + 1]) << 8 : 0);
        out += digits[v >> 18];
        out += digits[(v >> 12) & 63];
        out += i + 1 < in.size() ? digits[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string xml_escape(const std::string& s)
{
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        default: out += c;
        }
    }
    return out;
}

}  // namespace

Rgb heat_colour(std::uint32_t count, std::uint32_t max) noexcept
{
    // Even one access is a clear blue on the white of no access.
    static constexpr Rgb stops[] = {{130, 180, 225}, {66, 146, 198}, {33, 113, 181}, {8, 48, 107}, {40, 0, 70}};
    if (count == 0)
        return kEmptyColour;
    const double t = max > 1 ? std::log(static_cast<double>(count)) / std::log(static_cast<double>(max)) : 1.0;
    const double at = std::clamp(t, 0.0, 1.0) * (std::size(stops) - 1);
    const auto i = std::min(static_cast<std::size_t>(at), std::size(stops) - 2);
    return mix(stops[i], stops[i + 1], at - static_cast<double>(i));
}

Raster::Raster(int width, int height, Rgb background)
    : width_(width), height_(height), pixels_(static_cast<std::size_t>(width) * height * 3)
{
    fill(0, 0, width, height, background);
}

Rgb Raster::at(int x, int y) const noexcept
{
    if (x < 0 || y < 0 || x >= width_ || y >= height_)
        return {};
    const std::size_t i = (static_cast<std::size_t>(y) * width_ + x) * 3;
    return {pixels_[i], pixels_[i + 1], pixels_[i + 2]};
}

void Raster::set(int x, int y, Rgb c) noexcept
{
    if (x < 0 || y < 0 || x >= width_ || y >= height_)
        return;
    const std::size_t i = (static_cast<std::size_t>(y) * width_ + x) * 3;
    pixels_[i] = c.r;
    pixels_[i + 1] = c.g;
    pixels_[i + 2] = c.b;
}

void Raster::fill(int x, int y, int w, int h, Rgb c) noexcept
{
    for (int j = std::max(y, 0); j < std::min(y + h, height_); ++j)
        for (int i = std::max(x, 0); i < std::min(x + w, width_); ++i)
            set(i, j, c);
}

void Raster::text(int x, int y, const std::string& s, Rgb c, int scale) noexcept
{
    for (char ch : s) {
        const auto rows = glyph(ch);
        for (int r = 0; r < kGlyphHeight; ++r)
            for (int i = 0; i < kGlyphWidth; ++i)
                if (rows[r] & (1u << (kGlyphWidth - 1 - i)))
                    fill(x + i * scale, y + r * scale, scale, scale, c);
        x += kGlyphAdvance * scale;
    }
}

int text_width(const std::string& s, int scale) noexcept
{
    return s.empty() ? 0 : (static_cast<int>(s.size()) * kGlyphAdvance - 1) * scale;
}

HeatmapFrame heatmap_frame(int width, int height)
{
    if (width < 320 || height < 200)
        throw Error(ErrorKind::invalid_argument,
                    fmt::format("a heatmap needs at least 320 x 200 pixels, not {} x {}", width, height));
    HeatmapFrame f;
    f.width = width;
    f.height = height;
    f.plot_x = kMarginLeft;
    f.plot_y = kMarginTop;
    f.plot_width = width - kMarginLeft - kMarginRight;
    f.plot_height = height - kMarginTop - kMarginBottom;
    return f;
}

std::string address_label(std::uint64_t bytes)
{
    static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (bytes == 0)
        return "0";
    double v = static_cast<double>(bytes);
    std::size_t u = 0;
    while (v >= 1024 && u + 1 < std::size(units)) {
        v /= 1024;
        ++u;
    }
    return fmt::format("{:g} {}", std::round(v * 100) / 100, units[u]);
}

std::string time_label(double seconds, double step)
{
    if (step >= 60)
        return fmt::format("{:g} min", std::round(seconds / 60 * 100) / 100);
    return fmt::format("{:g} s", std::round(seconds * 1000) / 1000);
}

Raster plot_raster(const Heatmap& map, const HeatmapFrame& f)
{
    Raster plot(f.plot_width, f.plot_height, kEmptyColour);
    const std::uint32_t max = map.max_accesses();
    for (int py = 0; py < f.plot_height; ++py) {
        const auto row = static_cast<std::uint32_t>(static_cast<std::uint64_t>(f.plot_height - 1 - py) *
                                                    map.rows() / f.plot_height);
        for (int px = 0; px < f.plot_width; ++px) {
            const auto col = static_cast<std::uint32_t>(static_cast<std::uint64_t>(px) * map.columns() / f.plot_width);
            const std::uint32_t n = map.accesses(col, row);
            if (n)
                plot.set(px, py, heat_colour(n, max));
        }
    }
    return plot;
}

Raster render_heatmap_raster(const Heatmap& map, const HeatmapFrame& f, const HeatmapText& text)
{
    Raster r(f.width, f.height, {255, 255, 255});
    const Raster plot = plot_raster(map, f);
    for (int y = 0; y < plot.height(); ++y)
        for (int x = 0; x < plot.width(); ++x)
            r.set(f.plot_x + x, f.plot_y + y, plot.at(x, y));
    const Axes axes = make_axes(map, f);
    for (const Marker& m : make_markers(map, f))
        draw_marker(r, m);
    for (const Tick& g : axes.gaps) {
        for (int x = f.plot_x; x < f.plot_x + f.plot_width; x += 6)
            r.fill(x, g.pos, 3, 1, kInk);
        r.fill(f.plot_x + 2, g.pos - 12, text_width(g.label) + 4, 11, {255, 255, 255});
        r.text(f.plot_x + 4, g.pos - 10, g.label, kInk);
    }
    // Frame, ticks, labels.
    r.fill(f.plot_x - 1, f.plot_y - 1, f.plot_width + 2, 1, kFrameColour);
    r.fill(f.plot_x - 1, f.plot_y + f.plot_height, f.plot_width + 2, 1, kFrameColour);
    r.fill(f.plot_x - 1, f.plot_y - 1, 1, f.plot_height + 2, kFrameColour);
    r.fill(f.plot_x + f.plot_width, f.plot_y - 1, 1, f.plot_height + 2, kFrameColour);
    for (const Tick& t : axes.x) {
        r.fill(t.pos, f.plot_y + f.plot_height + 1, 1, 4, kInk);
        r.text(std::clamp(t.pos - text_width(t.label) / 2, 0, f.width - text_width(t.label)),
               f.plot_y + f.plot_height + 8, t.label, kInk);
    }
    r.text(f.plot_x + (f.plot_width - text_width(axes.x_title)) / 2, f.height - 14, axes.x_title, kInk);
    for (const Tick& t : axes.y) {
        r.fill(f.plot_x - 5, t.pos, 4, 1, kInk);
        r.text(f.plot_x - 8 - text_width(t.label), t.pos - 3, t.label, kInk);
    }
    r.text(4, f.plot_y - 12, axes.y_title, kInk);
    r.text(4, 6, text.title, kInk, 2);
    r.text(4, 24, text.subtitle, kInk);
    // Legend.
    const Legend l = legend_place(f);
    const std::uint32_t max = std::max<std::uint32_t>(map.max_accesses(), 1);
    r.text(l.x, l.y - 12, "accesses/cell", kInk);
    for (int y = 0; y < l.bar_height; ++y) {
        const double t = 1.0 - static_cast<double>(y) / std::max(l.bar_height - 1, 1);
        const auto c = static_cast<std::uint32_t>(std::lround(std::pow(static_cast<double>(max), t)));
        r.fill(l.x, l.y + y, 14, 1, heat_colour(std::max<std::uint32_t>(c, 1), max));
    }
    for (std::uint32_t c : legend_counts(max)) {
        const int y = legend_y(l, c, max);
        r.fill(l.x + 14, y, 3, 1, kInk);
        r.text(l.x + 20, y - 3, std::to_string(c), kInk);
    }
    const int ly = l.y + l.bar_height + 14;
    r.fill(l.x, ly - 4, 14, 9, kFrameColour);
    r.fill(l.x + 1, ly - 3, 12, 7, kEmptyColour);
    r.text(l.x + 20, ly - 3, "no access", kInk);
    draw_marker(r, {l.x + 7, ly + 16, true});
    r.text(l.x + 20, ly + 13, "KSM merge", kInk);
    draw_marker(r, {l.x + 7, ly + 32, false});
    r.text(l.x + 20, ly + 29, "COW break", kInk);
    for (std::size_t i = 0; i < text.notes.size(); ++i)
        r.text(l.x, ly + 52 + 12 * static_cast<int>(i), text.notes[i], kInk);
    return r;
}

std::string encode_png(const Raster& raster)
{
    std::string out;
    if (!write_png(&out, raster.pixels().data(), raster.width(), raster.height()))
        throw Error(ErrorKind::io, "libpng could not encode the image");
    return out;
}

Raster decode_png(const std::string& bytes)
{
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
        throw Error(ErrorKind::bad_format, std::string("not a PNG: ") + image.message);
    image.format = PNG_FORMAT_RGB;
    std::vector<std::uint8_t> rgb(PNG_IMAGE_SIZE(image));
    if (!png_image_finish_read(&image, nullptr, rgb.data(), 0, nullptr))
        throw Error(ErrorKind::bad_format, std::string("bad PNG: ") + image.message);
    Raster r(static_cast<int>(image.width), static_cast<int>(image.height), {});
    for (int y = 0; y < r.height(); ++y)
        for (int x = 0; x < r.width(); ++x) {
            const std::size_t i = (static_cast<std::size_t>(y) * r.width() + x) * 3;
            r.set(x, y, {rgb[i], rgb[i + 1], rgb[i + 2]});
        }
    return r;
}

std::string render_heatmap_svg(const Heatmap& map, const HeatmapFrame& f, const HeatmapText& text)
{
    std::string s = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
        "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n",
        f.width, f.height);
    s += fmt::format("<text x=\"4\" y=\"16\" font-size=\"15\" font-weight=\"bold\">{}</text>\n", xml_escape(text.title));
    s += fmt::format("<text x=\"4\" y=\"30\">{}</text>\n", xml_escape(text.subtitle));
    // The cells, one pixel each, as an embedded PNG.
    s += fmt::format("<image class=\"cells\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" preserveAspectRatio=\"none\" "
                     "style=\"image-rendering:pixelated\" href=\"data:image/png;base64,{}\"/>\n",
                     f.plot_x, f.plot_y, f.plot_width, f.plot_height, base64(encode_png(plot_raster(map, f))));
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{}\"/>\n",
                     f.plot_x - 0.5, f.plot_y - 0.5, f.plot_width + 1, f.plot_height + 1, hex_colour(kFrameColour));
    const Axes axes = make_axes(map, f);
    std::string merges, cows;
    for (const Marker& m : make_markers(map, f)) {
        if (m.merge)
            merges += fmt::format("M{} {}h7M{} {}v7", m.x - 3, m.y + 0.5, m.x + 0.5, m.y - 3);
        else
            cows += fmt::format("M{} {}l6 6M{} {}l6 -6", m.x - 3, m.y - 3, m.x - 3, m.y + 3);
    }
    if (!merges.empty())
        s += fmt::format("<path class=\"merges\" d=\"{}\" stroke=\"{}\" stroke-width=\"2\"/>\n", merges,
                         hex_colour(kMergeColour));
    if (!cows.empty())
        s += fmt::format("<path class=\"cow-breaks\" d=\"{}\" stroke=\"{}\" stroke-width=\"2\"/>\n", cows,
                         hex_colour(kCowColour));
    for (const Tick& g : axes.gaps)
        s += fmt::format("<line class=\"gap\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#1e1e1e\" stroke-dasharray=\"3 3\"/>"
                         "<text x=\"{}\" y=\"{}\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>\n",
                         f.plot_x, f.plot_x + f.plot_width, g.pos + 0.5, g.pos + 0.5, f.plot_x + 4, g.pos - 3,
                         xml_escape(g.label));
    for (const Tick& t : axes.x)
        s += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#1e1e1e\"/>"
                         "<text class=\"x-tick\" x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
                         t.pos + 0.5, f.plot_y + f.plot_height, f.plot_y + f.plot_height + 5,
                         f.plot_y + f.plot_height + 17, xml_escape(t.label));
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", f.plot_x + f.plot_width / 2,
                     f.height - 6, xml_escape(axes.x_title));
    for (const Tick& t : axes.y)
        s += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#1e1e1e\"/>"
                         "<text class=\"y-tick\" x=\"{3}\" y=\"{4}\" text-anchor=\"end\">{5}</text>\n",
                         f.plot_x - 5, f.plot_x, t.pos + 0.5, f.plot_x - 8, t.pos + 4, xml_escape(t.label));
    s += fmt::format("<text x=\"4\" y=\"{}\">{}</text>\n", f.plot_y - 4, xml_escape(axes.y_title));
    // Legend: a gradient in the colours of 1..max on the same log scale.
    const Legend l = legend_place(f);
    const std::uint32_t max = std::max<std::uint32_t>(map.max_accesses(), 1);
    s += "<defs><linearGradient id=\"heat\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">";
    for (int i = 0; i <= 10; ++i) {
        const auto c = static_cast<std::uint32_t>(std::lround(std::pow(static_cast<double>(max), i / 10.0)));
        s += fmt::format("<stop offset=\"{}\" stop-color=\"{}\"/>", i / 10.0,
                         hex_colour(heat_colour(std::max<std::uint32_t>(c, 1), max)));
    }
    s += "</linearGradient></defs>\n";
    s += fmt::format("<text x=\"{}\" y=\"{}\">accesses per cell</text>\n", l.x, l.y - 5);
    s += fmt::format("<rect class=\"legend\" x=\"{}\" y=\"{}\" width=\"14\" height=\"{}\" fill=\"url(#heat)\"/>\n", l.x,
                     l.y, l.bar_height);
    for (std::uint32_t c : legend_counts(max)) {
        const int y = legend_y(l, c, max);
        s += fmt::format("<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#1e1e1e\"/>"
                         "<text x=\"{3}\" y=\"{4}\">{5}</text>\n",
                         l.x + 14, l.x + 17, y + 0.5, l.x + 20, y + 4, c);
    }
    const int ly = l.y + l.bar_height + 14;
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"13\" height=\"8\" fill=\"#ffffff\" stroke=\"{}\"/>"
                     "<text x=\"{}\" y=\"{}\">no access</text>\n",
                     l.x + 0.5, ly - 3.5, hex_colour(kFrameColour), l.x + 20, ly + 4);
    s += fmt::format("<path d=\"M{} {}h7M{} {}v7\" stroke=\"{}\" stroke-width=\"2\"/><text x=\"{}\" y=\"{}\">KSM merge</text>\n",
                     l.x + 4, ly + 16.5, l.x + 7.5, ly + 13, hex_colour(kMergeColour), l.x + 20, ly + 20);
    s += fmt::format("<path d=\"M{} {}l6 6M{} {}l6 -6\" stroke=\"{}\" stroke-width=\"2\"/><text x=\"{}\" y=\"{}\">COW break</text>\n",
                     l.x + 4, ly + 29, l.x + 4, ly + 35, hex_colour(kCowColour), l.x + 20, ly + 36);
    for (std::size_t i = 0; i < text.notes.size(); ++i)
        s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", l.x, ly + 58 + 14 * static_cast<int>(i),
                         xml_escape(text.notes[i]));
    s += "</svg>\n";
    return s;
}

}  // namespace self_e::tool
