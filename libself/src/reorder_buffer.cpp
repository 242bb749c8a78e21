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
    std::size_t nr = 0;
    for (const Run& run : runs)
        if (run.begin != run.end)
            r[nr++] = run;
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
        // No run runs out within `safe` events: no bounds checks. Which run
        // goes next is a coin toss (lanes interleave finely): a tournament
        // of selects, not of branches the CPU would mispredict.
        const Event* a = r[0].begin;
        const Event* b = r[1].begin;
        const Event* c = nr > 2 ? r[2].begin : &kNoEvent;
        const Event* d = nr > 3 ? r[3].begin : &kNoEvent;
        for (; safe > 0; --safe) {
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
        out = std::copy(r[0].begin, r[0].end, out);
    return out;
}

}  // namespace self_e
