#include "self_e/reorder_buffer.hpp"

#include <utility>

namespace self_e {

ReorderBuffer::ReorderBuffer(std::uint64_t window_ns, std::size_t max_pending)
    : window_ns_(window_ns), max_pending_(max_pending)
{
}

void ReorderBuffer::sort()
{
    if (run_starts_.empty())
        return;
    // Bottom-up: merge neighbouring runs pairwise until one is left, so each
    // event moves log2(runs) times.
    std::vector<std::size_t> bounds;
    bounds.reserve(run_starts_.size() + 2);
    bounds.push_back(0);
    bounds.insert(bounds.end(), run_starts_.begin(), run_starts_.end());
    bounds.push_back(events_.size());
    const auto by_ts = [](const Event& a, const Event& b) { return a.ts_ns < b.ts_ns; };
    while (bounds.size() > 2) {
        std::vector<std::size_t> merged{0};
        for (std::size_t i = 0; i + 1 < bounds.size(); i += 2) {
            if (i + 2 < bounds.size()) {
                std::inplace_merge(events_.begin() + static_cast<std::ptrdiff_t>(bounds[i]),
                                   events_.begin() + static_cast<std::ptrdiff_t>(bounds[i + 1]),
                                   events_.begin() + static_cast<std::ptrdiff_t>(bounds[i + 2]),
                                   by_ts);
                merged.push_back(bounds[i + 2]);
            } else {
                merged.push_back(bounds[i + 1]);
            }
        }
        bounds = std::move(merged);
    }
    run_starts_.clear();
}

}  // namespace self_e
