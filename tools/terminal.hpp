// The terminal of `self-e top`, with plain ANSI escape sequences and termios:
// a Terminal puts it in raw mode on the alternate screen with the cursor
// hidden, and puts everything back when it goes (also when the command ends
// by SIGINT/SIGTERM, which only set a flag, or by an exception).
#pragma once

#include <termios.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace self_e::tool {

struct TerminalSize {
    std::size_t columns = 80;
    std::size_t rows = 24;
};

class Terminal {
public:
    // Throws std::runtime_error when stdin or stdout is no terminal.
    Terminal();
    ~Terminal();
    Terminal(const Terminal&) = delete;
    Terminal& operator=(const Terminal&) = delete;

    TerminalSize size() const;
    // True once after each SIGWINCH.
    bool resized() noexcept;
    // A key pressed within timeout, if any; escape sequences (arrows) are read
    // and dropped.
    std::optional<char> read_key(std::chrono::milliseconds timeout);
    // Replaces the screen with lines (already cut to the width); the line at
    // inverse (if any) in reverse video.
    void draw(const std::vector<std::string>& lines, std::optional<std::size_t> inverse);

private:
    termios saved_{};
};

}  // namespace self_e::tool
