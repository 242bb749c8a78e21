// Puts the events of a ring's lanes back in timestamp order.
//
// A lane is in order; lanes are ordered among themselves only by ts_ns, and a
// consumer drains them one after the other (RingConsumer::drain), so what
// arrives is a few sorted runs, one per lane, overlapping in time. The
// buffer keeps events and hands them out in ts order once they are older
// than the newest event seen minus a window: an event that late in a lane
// would have had to wait longer than the window to be published.
//
// Events come in two ways. push_runs() takes a drain's lanes as they lie
// in a mapped ring, as sorted runs, and merges them at once: what a
// consumer that can hold its ring's slots until then uses (Watcher).
// push() takes one event at a time into `incoming_`, a batch of kBatch
// written by index; a full batch is sorted in at once and push() says so,
// for the caller to release. Sorting merges the runs (stable, so equal
// timestamps keep the lane's order), up to four at a time, as two pairs and
// then the pairs' results, onto the end of `sorted_`, which the caller's fn
// reads in place: each event is merged out twice (push() copies it in
// first), and moved at most once more when the buffer drops what went out.
// A drain's lanes are a few runs and take one merge. What was held before
// them is older: only the part of it newer than the oldest incoming event
// (usually none) is taken back out to merge with them.
//
// An event older than one already handed out is late: it is still handed
// out, next, and counted; the caller decides what that means for its state.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "self_e/default_init_allocator.hpp"
#include "self_e/event.hpp"

namespace self_e {

class ReorderBuffer {
public:
    // window_ns: how far behind the newest event an event may still arrive
    // and take its place. max_pending: events kept at most; past it the
    // oldest go out early (and a later event may then be late).
    ReorderBuffer(std::uint64_t window_ns, std::size_t max_pending);

    // What push() says of the event it took (a bit mask; 0 is the usual).
    enum Pushed : unsigned {
        kLate = 1u << 0,       // older than one handed out already
        kBatchFull = 1u << 1,  // kBatch events came in since the last release: release now
    };
    // Events taken between sorts: a drain's worth, cache-sized.
    static constexpr std::size_t kBatch = 4096;

    // Takes ev: a copy, a run check and a late check; what it costs every
    // drained event. The newest timestamp is found when the runs are sorted.
    unsigned push(const Event& ev)
    {
        const std::uint64_t ts = ev.ts_ns;
        if (ts < last_pushed_) [[unlikely]]
            run_starts_.push_back(in_size_);
        last_pushed_ = ts;
        incoming_[in_size_] = ev;
        unsigned pushed = 0;
        if (ts < released_until_) [[unlikely]] {
            ++late_;
            pushed = kLate;
        }
        if (++in_size_ == kBatch) [[unlikely]] {
            sort();
            pushed |= kBatchFull;
        }
        return pushed;
    }

    // Takes a drain's runs at once, each a lane's events in ts order, and
    // merges them from where they lie (a mapped ring) into what is held:
    // what push() costs every event, a copy in, is gone. Runs are taken in
    // the order given (ties go to the earlier), as push() of one after the
    // other would; a run whose ts goes back is split there, so a lane out
    // of order is still sorted right. on_late(const Event&) sees each event
    // older than one handed out already. The runs may go away on return.
    template <typename OnLate>
    void push_runs(std::span<const std::span<const Event>> runs, OnLate&& on_late)
    {
        sort();  // what push() took came first
        runs_.clear();
        for (const std::span<const Event> run : runs)
            if (!run.empty())
                add_run(run);
        if (runs_.empty())
            return;
        // Late events are a run's oldest: a prefix.
        for (const Run& r : runs_)
            for (const Event* e = r.begin; e != r.end && e->ts_ns < released_until_; ++e) {
                ++late_;
                on_late(*e);
            }
        merge_in();
    }

    // fn(std::span<const Event>) with the events older than newest - window
    // (and the oldest beyond max_pending), in ts order, if there are any.
    // fn must not push: the span points into the buffer.
    template <typename Fn>
    void release_ready(Fn&& fn)
    {
        sort();  // finds newest_
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

    std::size_t pending() const noexcept { return sorted_.size() - head_ + in_size_; }
    std::uint64_t window_ns() const noexcept { return window_ns_; }
    // Events pushed older than one already handed out.
    std::uint64_t late() const noexcept { return late_; }
    // The timestamp of the last event handed out.
    std::uint64_t released_until() const noexcept { return released_until_; }

private:
    // A sorted run of events, [begin, end).
    struct Run {
        const Event* begin;
        const Event* end;
    };

    // Moves what came in, merged, onto the end of sorted_, and finds newest_.
    void sort();
    // Appends run to runs_, split where its ts goes back.
    void add_run(std::span<const Event> run);
    // Merges runs_ (none empty) and the held events newer than their oldest
    // onto the end of sorted_, and finds newest_.
    void merge_in();
    // Merges up to four runs (ties: the earlier run first) to out; returns
    // the end of what it wrote.
    Event* merge(std::span<const Run> runs, Event* out);
    static Event* merge_two(Run x, Run y, Event* out) noexcept;

    template <typename Fn>
    void release(Fn& fn, std::uint64_t limit)
    {
        if (pending() == 0)
            return;
        sort();
        const auto first = sorted_.begin() + static_cast<std::ptrdiff_t>(head_);
        auto end = std::upper_bound(first, sorted_.end(), limit,
                                    [](std::uint64_t ts, const Event& ev) { return ts < ev.ts_ns; });
        if (static_cast<std::size_t>(sorted_.end() - end) > max_pending_)
            end = sorted_.end() - static_cast<std::ptrdiff_t>(max_pending_);
        if (end == first)
            return;
        released_until_ = std::max<std::uint64_t>(released_until_, (end - 1)->ts_ns);
        fn(std::span<const Event>(&*first, static_cast<std::size_t>(end - first)));
        head_ = static_cast<std::size_t>(end - sorted_.begin());
        // Drop what went out once it is half the buffer: each event is
        // moved at most once more, and the buffer holds at most twice what
        // is pending (max_pending bounds memory).
        if (head_ == sorted_.size()) {
            sorted_.clear();
            head_ = 0;
        } else if (head_ * 2 >= sorted_.size()) {
            sorted_.erase(sorted_.begin(), sorted_.begin() + static_cast<std::ptrdiff_t>(head_));
            head_ = 0;
        }
    }

    std::uint64_t window_ns_;
    std::size_t max_pending_;
    // Sized before they are written: not zeroed first.
    using Events = std::vector<Event, DefaultInitAllocator<Event>>;
    Events incoming_;                      // [0, in_size_) pushed since the last sort(), in runs; kBatch long
    std::size_t in_size_ = 0;
    std::vector<std::size_t> run_starts_;  // where a run of incoming_ other than the first starts
    std::uint64_t last_pushed_ = 0;        // ts of incoming_'s last event; 0 when it is empty
    Events sorted_;                        // [head_, end) held, in ts order
    std::size_t head_ = 0;
    Events passes_[2];        // merge_in()'s passes over more than four runs, kept to save allocations
    Events tail_;             // held events taken back out to merge, likewise
    Events pairs_;            // merge()'s pairs of runs, likewise
    std::vector<Run> runs_;   // sort()'s, kept likewise
    std::uint64_t newest_ = 0;  // the newest ts sorted in
    std::uint64_t released_until_ = 0;
    std::uint64_t late_ = 0;
};

}  // namespace self_e
