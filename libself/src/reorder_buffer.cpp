#include "self_e/reorder_buffer.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace self_e {

namespace {

constexpr std::uint64_t kEnd = UINT64_MAX;

// Stands in for a missing run in a merge of fewer than four: never taken,
// as it only ever ties with later runs' events (ties go to earlier runs).
constexpr Event kNoEvent = [] {
    Event ev{};
    ev.ts_ns = kEnd;
    return ev;
}();

// One step of a four-way merge from the front: the smallest head of runs
// a-d goes to out, its run moves on; ties to the earlier run. Which run
// wins is a coin toss when lanes interleave finely: a tournament of
// selects, not of branches the CPU would mispredict (the pairs' winners as
// named values: GCC 12 makes one nested conditional into branches, 1.5 ns
// an event slower).
inline void take_smallest(const Event*& a, const Event*& b, const Event*& c, const Event*& d, Event*& out) noexcept
{
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

// The same from the back: the largest last event of runs ending at ea-ed
// goes before back, its run's end moves down; ties to the later run.
inline void take_largest(const Event*& ea, const Event*& eb, const Event*& ec, const Event*& ed, Event*& back) noexcept
{
    const std::uint64_t la = ea[-1].ts_ns, lb = eb[-1].ts_ns, lc = ec[-1].ts_ns, ld = ed[-1].ts_ns;
    const bool give_b = lb >= la;
    const bool give_d = ld >= lc;
    const bool give_cd = (give_d ? ld : lc) >= (give_b ? lb : la);
    const Event* const lab = give_b ? eb : ea;
    const Event* const lcd = give_d ? ed : ec;
    *--back = (give_cd ? lcd : lab)[-1];
    ea -= !give_cd & !give_b;
    eb -= !give_cd & give_b;
    ec -= give_cd & !give_d;
    ed -= give_cd & give_d;
}

}  // namespace

ReorderBuffer::ReorderBuffer(std::uint64_t window_ns, std::size_t max_pending)
    : window_ns_(window_ns), max_pending_(max_pending)
{
}

void ReorderBuffer::sort()
{
    if (incoming_.empty())
        return;
    runs_.clear();
    std::size_t begin = 0;
    for (std::size_t start : run_starts_) {
        runs_.push_back({incoming_.data() + begin, incoming_.data() + start});
        begin = start;
    }
    runs_.push_back({incoming_.data() + begin, incoming_.data() + incoming_.size()});
    run_starts_.clear();

    // Held events newer than the oldest that came in merge with them, as
    // the first run (they came first: ties go to them).
    std::uint64_t oldest = kEnd;
    for (const Run& r : runs_)
        oldest = std::min<std::uint64_t>(oldest, r.begin->ts_ns);
    const auto tail = std::upper_bound(sorted_.begin() + static_cast<std::ptrdiff_t>(head_), sorted_.end(), oldest,
                                       [](std::uint64_t ts, const Event& ev) { return ts < ev.ts_ns; });
    const std::size_t max_runs = tail == sorted_.end() ? 4 : 3;

    // More runs than one merge takes (many lanes, or many drains between
    // releases): merge them four at a time, buffer to buffer, until they fit.
    while (runs_.size() > max_runs) {
        scratch_.resize(incoming_.size());
        Event* out = scratch_.data();
        std::size_t merged = 0;
        for (std::size_t i = 0; i < runs_.size(); i += 4) {
            Event* const end = merge(std::span(runs_).subspan(i, std::min<std::size_t>(4, runs_.size() - i)), out);
            runs_[merged++] = {out, end};
            out = end;
        }
        runs_.resize(merged);
        std::swap(incoming_, scratch_);  // the runs' buffer moves with it
    }

    if (tail != sorted_.end()) {
        scratch_.assign(tail, sorted_.end());
        sorted_.erase(tail, sorted_.end());
        runs_.insert(runs_.begin(), Run{scratch_.data(), scratch_.data() + scratch_.size()});
    }
    std::size_t total = 0;
    for (const Run& r : runs_)
        total += static_cast<std::size_t>(r.end - r.begin);
    const std::size_t at = sorted_.size();
    sorted_.resize(at + total);
    merge(runs_, sorted_.data() + at);
    incoming_.clear();
}

Event* ReorderBuffer::merge(std::span<const Run> runs, Event* out) noexcept
{
    std::array<Run, 4> r{};
    std::size_t nr = 0, total = 0;
    for (const Run& run : runs) {
        if (run.begin != run.end)
            r[nr++] = run;
        total += static_cast<std::size_t>(run.end - run.begin);
    }
    // Four runs fill the output from both ends at once: the smallest
    // events to the front, the largest to the back. Each end is a chain of
    // loads and selects that waits on itself; two independent chains keep
    // the CPU twice as busy.
    Event* const end = out + total;
    Event* back = end;
    while (nr > 1) {
        std::size_t safe = SIZE_MAX;
        for (std::size_t i = 0; i < nr; ++i)
            safe = std::min(safe, static_cast<std::size_t>(r[i].end - r[i].begin));
        if (safe < 16) {
            // A run is nearly done: a step with bounds checks, until it is.
            std::size_t best = 0;
            for (std::size_t i = 1; i < nr; ++i)
                if (r[i].begin->ts_ns < r[best].begin->ts_ns)
                    best = i;
            *out++ = *r[best].begin++;
            if (r[best].begin == r[best].end) {
                std::move(r.begin() + static_cast<std::ptrdiff_t>(best) + 1, r.begin() + static_cast<std::ptrdiff_t>(nr),
                          r.begin() + static_cast<std::ptrdiff_t>(best));
                --nr;
            }
            continue;
        }
        // No run runs out within `safe` events: no bounds checks.
        const Event* a = r[0].begin;
        const Event* b = r[1].begin;
        const Event* c = nr > 2 ? r[2].begin : &kNoEvent;
        const Event* d = nr > 3 ? r[3].begin : &kNoEvent;
        if (nr == 4) {
            // Each end takes at most safe / 2 of a run: they cannot meet.
            // Ties: the front takes the earlier run's event, the back the
            // later run's, as a stable merge would place them.
            const Event* ea = r[0].end;
            const Event* eb = r[1].end;
            const Event* ec = r[2].end;
            const Event* ed = r[3].end;
            for (std::size_t n = safe / 2; n > 0; --n) {
                take_smallest(a, b, c, d, out);
                take_largest(ea, eb, ec, ed, back);
            }
            r[0].end = ea;
            r[1].end = eb;
            r[2].end = ec;
            r[3].end = ed;
        } else {
            for (; safe > 0; --safe)
                take_smallest(a, b, c, d, out);
        }
        r[0].begin = a;
        r[1].begin = b;
        if (nr > 2)
            r[2].begin = c;
        if (nr > 3)
            r[3].begin = d;
        std::size_t left = 0;
        for (std::size_t i = 0; i < nr; ++i)
            if (r[i].begin != r[i].end)
                r[left++] = r[i];
        nr = left;
    }
    if (nr == 1)
        std::copy(r[0].begin, r[0].end, out);
    return end;
}

}  // namespace self_e
