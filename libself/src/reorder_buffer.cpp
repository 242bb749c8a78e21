#include "self_e/reorder_buffer.hpp"

#include <algorithm>
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
    // Bottom-up: merge neighbouring runs four at a time until one is left.
    // The groups end at the newest run: a drain's lanes (the last runs,
    // overlapping in time) then take one pass, each event copied twice,
    // and the merge into what was held before (older: little overlap)
    // moves almost nothing.
    std::vector<std::size_t> bounds;
    bounds.reserve(run_starts_.size() + 2);
    bounds.push_back(head_);
    bounds.insert(bounds.end(), run_starts_.begin(), run_starts_.end());
    bounds.push_back(events_.size());
    while (bounds.size() > 2) {
        const std::size_t nr_runs = bounds.size() - 1;
        std::vector<std::size_t> merged{bounds[0]};
        for (std::size_t i = 0, runs = (nr_runs - 1) % 4 + 1; i < nr_runs; i += runs, runs = 4) {
            if (runs == 2)
                merge_runs(bounds[i], bounds[i + 1], bounds[i + 2]);
            else if (runs > 2)
                merge_four(bounds[i], bounds[i + 1], bounds[i + 2], bounds[i + 3], bounds[i + runs]);
            merged.push_back(bounds[i + runs]);
        }
        bounds = std::move(merged);
    }
    run_starts_.clear();
}

void ReorderBuffer::merge_four(std::size_t b0, std::size_t b1, std::size_t b2, std::size_t b3, std::size_t b4)
{
    // Each run ends in a sentinel at UINT64_MAX. Ties go to the earlier
    // run, so an event at UINT64_MAX in any run but the first would lose to
    // an earlier run's sentinel: such runs (no clock gets there) merge
    // pairwise.
    constexpr std::uint64_t kEnd = UINT64_MAX;
    if (events_[b2 - 1].ts_ns == kEnd || events_[b3 - 1].ts_ns == kEnd || events_[b4 - 1].ts_ns == kEnd) {
        merge_runs(b0, b1, b2);
        if (b3 < b4)
            merge_runs(b2, b3, b4);
        merge_runs(b0, b2, b4);
        return;
    }
    // The first run's events not newer than any other run's first are in
    // place already (ties: the first run goes first).
    std::uint64_t others_first = std::min<std::uint64_t>(events_[b1].ts_ns, events_[b2].ts_ns);
    if (b3 < b4)
        others_first = std::min<std::uint64_t>(others_first, events_[b3].ts_ns);
    const auto at = [this](std::size_t i) { return events_.begin() + static_cast<std::ptrdiff_t>(i); };
    const std::size_t first = static_cast<std::size_t>(
        std::upper_bound(at(b0), at(b1), others_first,
                         [](std::uint64_t ts, const Event& ev) { return ts < ev.ts_ns; }) -
        events_.begin());
    Event end_mark{};
    end_mark.ts_ns = kEnd;
    scratch_.clear();
    for (const auto& [from, to] : {std::pair{first, b1}, std::pair{b1, b2}, std::pair{b2, b3}, std::pair{b3, b4}}) {
        scratch_.insert(scratch_.end(), at(from), at(to));
        scratch_.push_back(end_mark);
    }
    // Which run goes next is a coin toss (lanes interleave finely): a
    // tournament of selects, not of branches the CPU would mispredict.
    const Event* a = scratch_.data();
    const Event* b = a + (b1 - first) + 1;
    const Event* c = b + (b2 - b1) + 1;
    const Event* d = c + (b3 - b2) + 1;
    Event* out = &events_[first];
    Event* const out_end = events_.data() + b4;
    while (out < out_end) {
        const std::uint64_t ta = a->ts_ns, tb = b->ts_ns, tc = c->ts_ns, td = d->ts_ns;
        const bool take_a = ta <= tb;
        const bool take_c = tc <= td;
        const bool take_ab = (take_a ? ta : tb) <= (take_c ? tc : td);
        const Event* const ab = take_a ? a : b;
        const Event* const cd = take_c ? c : d;
        *out++ = *(take_ab ? ab : cd);
        a += take_ab & take_a;
        b += take_ab & !take_a;
        c += !take_ab & take_c;
        d += !take_ab & !take_c;
    }
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
