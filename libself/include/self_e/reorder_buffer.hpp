// Puts the events of a ring's lanes back in timestamp order.
//
// A lane is in order; lanes are ordered among themselves only by ts_ns, and a
// consumer drains them one after the other (RingConsumer::drain), so what
// arrives is a few sorted runs, one per lane, overlapping in time. The
// buffer keeps events and hands them out in ts order once they are older
// than the newest event seen minus a window: an event that late in a lane
// would have had to wait longer than the window to be published. Sorting is
// a merge of the runs as they arrived (stable, so equal timestamps keep the
// lane's order), linear in the events for the few runs a drain makes.
//
// An event older than one already handed out is late: it is still handed
// out, next, and counted; the caller decides what that means for its state.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
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
        if (!events_.empty() && ev.ts_ns < events_.back().ts_ns)
            run_starts_.push_back(events_.size());
        if (ev.ts_ns < released_until_)
            ++late_;
        if (ev.ts_ns > newest_)
            newest_ = ev.ts_ns;
        events_.push_back(ev);
    }

    // fn(ev) for each event older than newest - window (and the oldest
    // beyond max_pending), in ts order.
    template <typename Fn>
    void release_ready(Fn&& fn)
    {
        const std::uint64_t limit = newest_ > window_ns_ ? newest_ - window_ns_ : 0;
        release(fn, limit);
    }

    // fn(ev) for every event held, in ts order.
    template <typename Fn>
    void release_all(Fn&& fn)
    {
        release(fn, UINT64_MAX);
    }

    std::size_t pending() const noexcept { return events_.size(); }
    std::uint64_t window_ns() const noexcept { return window_ns_; }
    // Events pushed older than one already handed out.
    std::uint64_t late() const noexcept { return late_; }
    // The timestamp of the last event handed out.
    std::uint64_t released_until() const noexcept { return released_until_; }

private:
    // Merges the sorted runs into one.
    void sort();

    template <typename Fn>
    void release(Fn& fn, std::uint64_t limit)
    {
        if (events_.empty())
            return;
        sort();
        auto end = std::upper_bound(events_.begin(), events_.end(), limit,
                                    [](std::uint64_t ts, const Event& ev) { return ts < ev.ts_ns; });
        if (static_cast<std::size_t>(events_.end() - end) > max_pending_)
            end = events_.end() - static_cast<std::ptrdiff_t>(max_pending_);
        for (auto it = events_.begin(); it != end; ++it) {
            if (it->ts_ns > released_until_)
                released_until_ = it->ts_ns;
            fn(*it);
        }
        events_.erase(events_.begin(), end);
    }

    std::uint64_t window_ns_;
    std::size_t max_pending_;
    std::vector<Event> events_;
    std::vector<std::size_t> run_starts_;  // where a run other than the first starts
    std::uint64_t newest_ = 0;
    std::uint64_t released_until_ = 0;
    std::uint64_t late_ = 0;
};

}  // namespace self_e
