// Puts the events of a ring's lanes back in timestamp order.
//
// A lane is in order; lanes are ordered among themselves only by ts_ns, and a
// consumer drains them one after the other (RingConsumer::drain), so what
// arrives is a few sorted runs, one per lane, overlapping in time. The
// buffer keeps events and hands them out in ts order once they are older
// than the newest event seen minus a window: an event that late in a lane
// would have had to wait longer than the window to be published. Sorting is
// a merge of the runs as they arrived (stable, so equal timestamps keep the
// lane's order), four runs a pass: a drain's lanes overlap in time and
// merge in one pass; they overlap little with what was held before them,
// and only the events where two runs overlap in time move.
//
// An event older than one already handed out is late: it is still handed
// out, next, and counted; the caller decides what that means for its state.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "self_e/event.hpp"

namespace self_e {

class ReorderBuffer {
public:
    // window_ns: how far behind the newest event an event may still arrive
    // and take its place. max_pending: events kept at most; past it the
    // oldest go out early (and a later event may then be late).
    ReorderBuffer(std::uint64_t window_ns, std::size_t max_pending);

    void push(const Event& ev)
    {
        if (events_.size() > head_ && ev.ts_ns < events_.back().ts_ns)
            run_starts_.push_back(events_.size());
        if (ev.ts_ns < released_until_)
            ++late_;
        if (ev.ts_ns > newest_)
            newest_ = ev.ts_ns;
        events_.push_back(ev);
    }

    // fn(std::span<const Event>) with the events older than newest - window
    // (and the oldest beyond max_pending), in ts order, if there are any.
    // fn must not push: the span points into the buffer.
    template <typename Fn>
    void release_ready(Fn&& fn)
    {
        const std::uint64_t limit = newest_ > window_ns_ ? newest_ - window_ns_ : 0;
        release(fn, limit);
    }

    // The same with every event held.
    template <typename Fn>
    void release_all(Fn&& fn)
    {
        release(fn, UINT64_MAX);
    }

    // fn with the events at or before ts_ns (and the oldest beyond
    // max_pending), in ts order: for a caller that knows by the clock that
    // nothing older can arrive any more, when no newer event moves the window.
    template <typename Fn>
    void release_until(Fn&& fn, std::uint64_t ts_ns)
    {
        release(fn, ts_ns);
    }

    std::size_t pending() const noexcept { return events_.size() - head_; }
    std::uint64_t window_ns() const noexcept { return window_ns_; }
    // Events pushed older than one already handed out.
    std::uint64_t late() const noexcept { return late_; }
    // The timestamp of the last event handed out.
    std::uint64_t released_until() const noexcept { return released_until_; }

private:
    // Merges the sorted runs into one.
    void sort();
    void merge_runs(std::size_t first, std::size_t middle, std::size_t last);
    // The same with three or four neighbouring runs [b0, b1) .. [b3, b4)
    // (b3 == b4: three), in one pass.
    void merge_four(std::size_t b0, std::size_t b1, std::size_t b2, std::size_t b3, std::size_t b4);

    template <typename Fn>
    void release(Fn& fn, std::uint64_t limit)
    {
        if (pending() == 0)
            return;
        sort();
        const auto first = events_.begin() + static_cast<std::ptrdiff_t>(head_);
        auto end = std::upper_bound(first, events_.end(), limit,
                                    [](std::uint64_t ts, const Event& ev) { return ts < ev.ts_ns; });
        if (static_cast<std::size_t>(events_.end() - end) > max_pending_)
            end = events_.end() - static_cast<std::ptrdiff_t>(max_pending_);
        if (end == first)
            return;
        released_until_ = std::max<std::uint64_t>(released_until_, (end - 1)->ts_ns);
        fn(std::span<const Event>(&*first, static_cast<std::size_t>(end - first)));
        head_ = static_cast<std::size_t>(end - events_.begin());
        // Drop what went out once it is half the buffer: each event is moved
        // at most once more.
        if (head_ == events_.size()) {
            events_.clear();
            head_ = 0;
        } else if (head_ * 2 >= events_.size()) {
            events_.erase(events_.begin(), events_.begin() + static_cast<std::ptrdiff_t>(head_));
            head_ = 0;
        }
    }

    std::uint64_t window_ns_;
    std::size_t max_pending_;
    std::vector<Event> events_;  // [head_, end) held, in runs
    std::size_t head_ = 0;
    std::vector<std::size_t> run_starts_;  // where a run other than the first starts
    std::vector<Event> scratch_;           // for merging, kept to save allocations
    std::uint64_t newest_ = 0;
    std::uint64_t released_until_ = 0;
    std::uint64_t late_ = 0;
};

}  // namespace self_e
