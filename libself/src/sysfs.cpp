#include "self_e/sysfs.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <system_error>

#include "self_e/error.hpp"
#include "self_e/unique_fd.hpp"

namespace self_e {

namespace {

// sysfs shows a choice as "a [b] c"; keep the selected one.
std::string selected_choice(const std::string& text)
{
    const auto open = text.find('[');
    const auto close = text.find(']', open);
    if (open == std::string::npos || close == std::string::npos)
        return text;
    return text.substr(open + 1, close - open - 1);
}

}  // namespace

std::optional<NamedValues> SysFs::ksm() const
{
    const std::filesystem::path dir = root_ / "kernel/mm/ksm";
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        return std::nullopt;

    NamedValues values;
    std::filesystem::directory_iterator it(dir, ec);
    if (ec)
        throw Error(ErrorKind::io, "list " + dir.string() + ": " + ec.message(), ec.value());
    for (const auto& entry : it) {
        const std::string file = entry.path().string();
        struct stat st;
        // Write-only files (none today) would fail to open: skip them.
        if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IRUSR))
            continue;
        const std::string text = read_text_file(file);
        values.push_back(
            make_named_value(entry.path().filename().string(), selected_choice(text)));
    }
    std::sort(values.begin(), values.end(),
              [](const NamedValue& a, const NamedValue& b) { return a.name < b.name; });
    return values;
}

}  // namespace self_e
