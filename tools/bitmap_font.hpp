// A 5x7 bitmap font of our own for text in PNG images (heatmap axes): digits,
// capital letters and a few signs. Lower-case letters are drawn as capitals;
// other characters as a blank.
#pragma once

#include <array>
#include <cstdint>

namespace self_e::tool {

inline constexpr int kGlyphWidth = 5;
inline constexpr int kGlyphHeight = 7;
inline constexpr int kGlyphAdvance = 6;  // one column of space between glyphs

// Row r (0 = top) of c's glyph: bit 4 is the leftmost column.
std::array<std::uint8_t, kGlyphHeight> glyph(char c) noexcept;

}  // namespace self_e::tool
