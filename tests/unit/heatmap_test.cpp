// The heatmap: its address axis, its bins (exact counts from synthetic
// events), and the pictures drawn from them.
#include <catch2/catch.hpp>
#include <png.h>

#include <string>

#include "aggregator_events.hpp"
#include "heatmap_image.hpp"
#include "self_e/error.hpp"
#include "self_e/heatmap.hpp"

using namespace self_e;
using namespace self_e::test;
using self_e::tool::Rgb;

namespace {

std::vector<Memslot> one_slot(std::uint64_t pages)
{
    return {{0, pages, 0x7f0000000000, 0, 0}};
}

// A decoded PNG: width, height and RGB pixels.
struct Decoded {
    int width = 0, height = 0;
    std::vector<std::uint8_t> rgb;
    Rgb at(int x, int y) const
    {
        const std::size_t i = (static_cast<std::size_t>(y) * width + x) * 3;
        return {rgb[i], rgb[i + 1], rgb[i + 2]};
    }
};

Decoded decode_png(const std::string& bytes)
{
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    REQUIRE(png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()));
    image.format = PNG_FORMAT_RGB;
    Decoded d;
    d.width = static_cast<int>(image.width);
    d.height = static_cast<int>(image.height);
    d.rgb.resize(PNG_IMAGE_SIZE(image));
    REQUIRE(png_image_finish_read(&image, nullptr, d.rgb.data(), 0, nullptr));
    return d;
}

std::size_t count(const std::string& s, const std::string& what)
{
    std::size_t n = 0;
    for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1))
        ++n;
    return n;
}

}  // namespace

TEST_CASE("the heatmap's address axis stacks guest RAM and collapses the gaps", "[heatmap]")
{
    const std::vector<Memslot> slots = {
        {0x100000, 16, 0x7f2000000000, 3, 0},
        {0, 256, 0x7f0000000000, 0, 0},
        {0, 256, 0x7f0000000000, 1u << 15, 0},  // SMM's alias: not guest RAM
        {0x80, 256, 0x7f0000080000, 1, 0},      // overlaps the first: merged
    };
    const HeatmapLayout layout(slots);
    REQUIRE(layout.segments().size() == 2);
    CHECK(layout.segments()[0].base_gfn == 0);
    CHECK(layout.segments()[0].npages == 0x180);
    CHECK(layout.segments()[1].base_gfn == 0x100000);
    CHECK(layout.segments()[1].first_page == 0x180);
    CHECK(layout.total_pages() == 0x190);
    CHECK(layout.index_of(0x17f) == 0x17fu);
    CHECK_FALSE(layout.index_of(0x180));
    CHECK(layout.index_of(0x100005) == 0x185u);
    CHECK_FALSE(layout.index_of(0x100010));
    CHECK(layout.gfn_at(0x185) == 0x100005);
}

TEST_CASE("events fall into exact bins", "[heatmap]")
{
    // 1024 pages on 8 rows (128 pages each), 1000 ns on 10 columns (100 ns each).
    Heatmap map(HeatmapLayout(one_slot(1024)), 1, 0, 1000, 10, 8);
    REQUIRE(map.rows() == 8);
    map.add(fault(1, 0, 0, 0x10));
    map.add(fault(1, 999, 1023, 0x11));
    map.add(fault(1, 999, 1000, 0x12));
    map.add(access(1, 500, 128, 0b1011));  // 3 pages of row 1
    map.add(access(1, 550, 192, ~0ull));   // 64 pages of row 1
    map.add(access(1, 560, 1000, ~0ull));  // 24 in guest RAM (1000..1023), 40 outside
    map.add(merge(1, 100, 300, 0x500));
    map.add(zero_merge(1, 150, 310, 0));
    map.add(cow_break(1, 200, 700, 0x500));
    map.add(fault(2, 0, 0, 0x10));  // another VM
    map.add(fault(1, 10, 5, 0x13, SELF_E_F_PREFETCH | SELF_E_F_WRITABLE));  // no access
    map.add(fault(1, 10, 5, 0x13, SELF_E_F_SMM | SELF_E_F_WRITE));          // not guest RAM
    map.add(fault(1, 20, 4096, 0x14));                                     // outside the slots
    map.add(fault(1, 300, 0, 0x200, SELF_E_F_WRITE | (1 << SELF_E_F_LEVEL_SHIFT)));  // 2M: rows 0-3
    map.add(fault(1, 5000, 0, 0x15));  // after the end: the last column

    CHECK(map.accesses(0, 0) == 1);
    CHECK(map.accesses(9, 7) == 2);
    CHECK(map.accesses(5, 1) == 67);
    CHECK(map.accesses(5, 7) == 24);
    for (std::uint32_t row = 0; row < 4; ++row)
        CHECK(map.accesses(3, row) == 1);
    CHECK(map.accesses(3, 4) == 0);
    CHECK(map.accesses(9, 0) == 1);
    CHECK(map.merges(1, 2) == 2);  // KSM merge and zero-page merge
    CHECK(map.cow_breaks(2, 5) == 1);
    CHECK(map.max_accesses() == 67);
    CHECK(map.totals().accesses == 1 + 2 + 3 + 64 + 24 + 4 + 1);
    CHECK(map.totals().merges == 2);
    CHECK(map.totals().cow_breaks == 1);
    CHECK(map.totals().outside == 40 + 1);
    std::uint64_t sum = 0;
    for (std::uint32_t r = 0; r < map.rows(); ++r)
        for (std::uint32_t c = 0; c < map.columns(); ++c)
            sum += map.accesses(c, r);
    CHECK(sum == map.totals().accesses);
}

TEST_CASE("a guest smaller than the picture gets one row per page", "[heatmap]")
{
    Heatmap map(HeatmapLayout(one_slot(16)), 1, 0, 10, 4, 600);
    CHECK(map.rows() == 16);
    map.add(fault(1, 0, 15, 1));
    CHECK(map.accesses(0, 15) == 1);
    CHECK(map.first_page_of_row(15) == 15);
    CHECK_THROWS_AS(Heatmap(HeatmapLayout(std::vector<Memslot>{}), 1, 0, 10, 4, 4), Error);
}

TEST_CASE("the PNG has the asked size, accessed cells coloured, idle ones white, markers", "[heatmap]")
{
    const tool::HeatmapFrame frame = tool::heatmap_frame(640, 400);
    const std::uint64_t pages = 4096;
    Heatmap map(HeatmapLayout(one_slot(pages)), 1, 0, 1'000'000'000, frame.plot_width, frame.plot_height);
    // The first quarter of guest RAM written in the first half of the time,
    // many times; one KSM merge and one COW break late, high up.
    for (int round = 0; round < 10; ++round)
        for (std::uint64_t g = 0; g < pages / 4; g += 64)
            map.add(access(1, 10'000'000 + round * 40'000'000, g, ~0ull));
    map.add(merge(1, 900'000'000, 3000, 0x500));
    map.add(cow_break(1, 950'000'000, 3900, 0x500));

    const std::string png = tool::encode_png(tool::render_heatmap_raster(map, frame, {"VM 1", "test", {}}));
    const Decoded d = decode_png(png);
    CHECK(d.width == 640);
    CHECK(d.height == 400);
    // The bottom of the plot (address 0) at the first sample's time has
    // accesses; the middle right (high addresses, late) has none.
    const int bottom = frame.plot_y + frame.plot_height - 1;
    const Rgb busy = d.at(frame.plot_x + static_cast<int>(map.column_of(10'000'000)), bottom);
    CHECK_FALSE(busy == tool::kEmptyColour);
    CHECK(busy == tool::heat_colour(map.max_accesses(), map.max_accesses()));
    CHECK(d.at(frame.plot_x + frame.plot_width * 3 / 4, frame.plot_y + frame.plot_height / 2) == tool::kEmptyColour);
    // Inside the plot, the merge and COW-break markers' colours are there.
    std::size_t merge_px = 0, cow_px = 0;
    for (int y = frame.plot_y; y < frame.plot_y + frame.plot_height; ++y)
        for (int x = frame.plot_x; x < frame.plot_x + frame.plot_width; ++x) {
            merge_px += d.at(x, y) == tool::kMergeColour;
            cow_px += d.at(x, y) == tool::kCowColour;
        }
    CHECK(merge_px > 0);
    CHECK(cow_px > 0);
    CHECK(png.size() < 64 * 1024);

    CHECK_THROWS_AS(tool::heatmap_frame(100, 100), Error);
}

TEST_CASE("the SVG embeds the cells and draws axes, gaps, markers and legend as elements", "[heatmap]")
{
    const tool::HeatmapFrame frame = tool::heatmap_frame(800, 500);
    const std::vector<Memslot> slots = {{0, 256 * 1024, 0x7f0000000000, 0, 0},   // 1 GiB at 0
                                        {0x100000, 256 * 1024, 0x7f8000000000, 1, 0}};  // 1 GiB at 4 GiB
    Heatmap map(HeatmapLayout(slots), 1, 0, 1200'000'000'000, frame.plot_width, frame.plot_height);
    map.add(fault(1, 1'000'000'000, 0x100, 1));
    map.add(merge(1, 60'000'000'000, 0x100010, 0x500));
    map.add(cow_break(1, 61'000'000'000, 0x100010, 0x500));
    const std::string svg = tool::render_heatmap_svg(map, frame, {"VM 1 <test>", "sub", {"3 accesses"}});
    CHECK(svg.starts_with("<svg "));
    CHECK(svg.find("width=\"800\" height=\"500\"") != std::string::npos);
    CHECK(count(svg, "<image class=\"cells\"") == 1);
    CHECK(svg.find("data:image/png;base64,iVBORw0KGgo") != std::string::npos);
    CHECK(count(svg, "class=\"merges\"") == 1);
    CHECK(count(svg, "class=\"cow-breaks\"") == 1);
    CHECK(count(svg, "class=\"gap\"") == 1);
    CHECK(svg.find("gap of 3 GiB collapsed") != std::string::npos);
    CHECK(svg.find(">4 GiB</text>") != std::string::npos);
    CHECK(svg.find(">0</text>") != std::string::npos);
    CHECK(svg.find(">10 min</text>") != std::string::npos);
    CHECK(svg.find("VM 1 &lt;test&gt;") != std::string::npos);
    CHECK(svg.find("KSM merge") != std::string::npos);
    CHECK(svg.find("COW break") != std::string::npos);
    CHECK(svg.find(">3 accesses</text>") != std::string::npos);
    CHECK(svg.size() < 64 * 1024);
}

TEST_CASE("axis labels in human units", "[heatmap]")
{
    CHECK(tool::address_label(0) == "0");
    CHECK(tool::address_label(512ull << 20) == "512 MiB");
    CHECK(tool::address_label(3ull << 29) == "1.5 GiB");
    CHECK(tool::time_label(30, 10) == "30 s");
    CHECK(tool::time_label(0.5, 0.1) == "0.5 s");
    CHECK(tool::time_label(600, 300) == "10 min");
}
