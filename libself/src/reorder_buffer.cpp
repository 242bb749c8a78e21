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
    // Bottom-up: merge neighbouring runs pairwise until one is left.
    std::vector<std::size_t> bounds;
    bounds.reserve(run_starts_.size() + 2);
    bounds.push_back(head_);
    bounds.insert(bounds.end(), run_starts_.begin(), run_starts_.end());
    bounds.push_back(events_.size());
    while (bounds.size() > 2) {
        std::vector<std::size_t> merged{bounds[0]};
        for (std::size_t i = 0; i + 1 < bounds.size(); i += 2) {
            if (i + 2 < bounds.size()) {
                merge_runs(bounds[i], bounds[i + 1], bounds[i + 2]);
                merged.push_back(bounds[i + 2]);
            } else {
                merged.push_back(bounds[i + 1]);
            }
        }
        bounds = std::move(merged);
    }
    run_starts_.clear();
}

void ReorderBuffer::merge_runs(std::size_t first, std::size_t middle, std::size_t last)
{
    const auto at = [this](std::size_t i) { return events_.begin() + static_cast<std::ptrdiff_t>(i); };
    const std::uint64_t right_first = events_[middle].ts_ns;
    const std::uint64_t left_last = events_[middle - 1].ts_ns;
    if (left_last <= right_first)
        return;  // in order already
    // Left events not newer than the right's first, and right events not
    // older than the left's last, are in place (ties: left first) already.
    first = static_cast<std::size_t>(
        std::upper_bound(at(first), at(middle), right_first,
                         [](std::uint64_t ts, const Event& ev) { return ts < ev.ts_ns; }) -
        events_.begin());
    last = static_cast<std::size_t>(
        std::lower_bound(at(middle), at(last), left_last,
                         [](const Event& ev, std::uint64_t ts) { return ev.ts_ns < ts; }) -
        events_.begin());
    scratch_.assign(at(first), at(middle));
    // Writing from `first` never overtakes reading the right run at `right`.
    // Lanes interleave finely, so which run goes next is a coin toss: pick
    // the source by a select rather than a branch the CPU would mispredict
    // every other event.
    const Event* left = scratch_.data();
    const Event* const left_end = left + scratch_.size();
    const Event* right = &events_[middle];
    const Event* const right_end = events_.data() + last;
    Event* out = &events_[first];
    while (left < left_end && right < right_end) {
        const bool take_right = right->ts_ns < left->ts_ns;
        *out++ = *(take_right ? right : left);
        right += take_right;
        left += !take_right;
    }
    std::copy(left, left_end, out);
}

}  // namespace self_e
