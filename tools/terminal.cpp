#include "terminal.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <csignal>
#include <stdexcept>

namespace self_e::tool {

namespace {

volatile std::sig_atomic_t g_resized = 0;

void on_winch(int) { g_resized = 1; }

void write_all(const std::string& text)
{
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(STDOUT_FILENO, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;  // the terminal went away: nothing to draw on
        }
        done += static_cast<std::size_t>(n);
    }
}

constexpr const char* kEnter = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J";  // alternate screen, cursor off
constexpr const char* kLeave = "\x1b[0m\x1b[?25h\x1b[?1049l";           // attributes, cursor, main screen

}  // namespace

Terminal::Terminal()
{
    if (!::isatty(STDIN_FILENO) || !::isatty(STDOUT_FILENO))
        throw std::runtime_error("the full-screen view needs a terminal; use --batch (or --json) for scripts");
    if (::tcgetattr(STDIN_FILENO, &saved_) != 0)
        throw std::runtime_error("tcgetattr on the terminal failed");
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);  // ISIG stays: Ctrl-C is SIGINT
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    ::tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    struct sigaction sa {};
    sa.sa_handler = on_winch;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGWINCH, &sa, nullptr);
    write_all(kEnter);
}

Terminal::~Terminal()
{
    write_all(kLeave);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    signal(SIGWINCH, SIG_DFL);
}

TerminalSize Terminal::size() const
{
    winsize ws{};
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0)
        return {ws.ws_col, ws.ws_row};
    return {};
}

bool Terminal::resized() noexcept
{
    const bool was = g_resized != 0;
    g_resized = 0;
    return was;
}

std::optional<char> Terminal::read_key(std::chrono::milliseconds timeout)
{
    pollfd pfd{STDIN_FILENO, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0)
        return std::nullopt;
    char c = 0;
    if (::read(STDIN_FILENO, &c, 1) != 1)
        return std::nullopt;
    if (c == '\x1b') {  // an escape sequence: drop the rest of it
        char rest[16];
        while (::read(STDIN_FILENO, rest, sizeof rest) > 0) {
        }
        return std::nullopt;
    }
    return c;
}

void Terminal::draw(const std::vector<std::string>& lines, std::optional<std::size_t> inverse)
{
    std::string out = "\x1b[H";
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i)
            out += "\r\n";
        if (inverse && *inverse == i)
            out += "\x1b[7m" + lines[i] + "\x1b[K\x1b[0m";
        else
            out += lines[i] + "\x1b[K";
    }
    out += "\x1b[J";
    write_all(out);
}

}  // namespace self_e::tool
