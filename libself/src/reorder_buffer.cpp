#include "self_e/reorder_buffer.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace self_e {

namespace {

constexpr std::uint64_t kEnd = UINT64_MAX;

// A two-way merge's step from the front: the smaller head of a and b goes
// to out, ties to a (the earlier run). The step's latency is the merge's
// limit: the next compare waits for the pointers this one moves. On x86-64
// one compare sets a flag that three conditional moves read (the source,
// and which pointer moves on): a load, a compare and a move between steps.
// GCC 12 makes a select of pointers either a branch, wrong half the time on
// interleaved lanes, or setcc/shift/add arithmetic three instructions
// longer on that path (as drained: 21.6 -> 19.0 ns an event, README).
inline void take_front(const Event*& a, const Event*& b, Event*& out) noexcept
{
#if defined(__x86_64__)
    const Event* src = a;
    asm("cmp %[ta], %[tb]\n\t"     // b->ts_ns < a->ts_ns: take b
        "cmovb %[b], %[src]\n\t"
        "cmovb %[b_next], %[b]\n\t"
        "cmovae %[a_next], %[a]"
        : [src] "+&r"(src), [a] "+&r"(a), [b] "+&r"(b)
        : [ta] "r"(a->ts_ns), [tb] "r"(b->ts_ns), [a_next] "r"(a + 1), [b_next] "r"(b + 1)
        : "cc");
    *out++ = *src;
#else
    // The compare's result kept as a number, or GCC computes it three times.
    const std::size_t take_b = b->ts_ns < a->ts_ns;
    *out++ = *(take_b ? b : a);
    a += 1 - take_b;
    b += take_b;
#endif
}

// The same from the back: the larger last event of the runs ending at ea
// and eb goes before back, ties to b (the later run).
inline void take_back(const Event*& ea, const Event*& eb, Event*& back) noexcept
{
#if defined(__x86_64__)
    const Event* src = eb - 1;
    asm("cmp %[tb], %[ta]\n\t"     // ea[-1].ts_ns > eb[-1].ts_ns: give a's
        "cmova %[a_last], %[src]\n\t"
        "cmova %[a_last], %[ea]\n\t"
        "cmovbe %[b_last], %[eb]"
        : [src] "+&r"(src), [ea] "+&r"(ea), [eb] "+&r"(eb)
        : [ta] "r"(ea[-1].ts_ns), [tb] "r"(eb[-1].ts_ns), [a_last] "r"(ea - 1), [b_last] "r"(eb - 1)
        : "cc");
    *--back = *src;
#else
    const std::size_t give_a = ea[-1].ts_ns > eb[-1].ts_ns;
    *--back = *((give_a ? ea : eb) - 1);
    ea -= give_a;
    eb -= 1 - give_a;
#endif
}

}  // namespace

ReorderBuffer::ReorderBuffer(std::uint64_t window_ns, std::size_t max_pending)
    : window_ns_(window_ns), max_pending_(max_pending), incoming_(kBatch)
{
}

void ReorderBuffer::sort()
{
    if (in_size_ == 0)
        return;
    runs_.clear();
    std::size_t begin = 0;
    for (std::size_t start : run_starts_) {
        runs_.push_back({incoming_.data() + begin, incoming_.data() + start});
        begin = start;
    }
    runs_.push_back({incoming_.data() + begin, incoming_.data() + in_size_});
    run_starts_.clear();
    merge_in();
    in_size_ = 0;
    last_pushed_ = 0;
}

void ReorderBuffer::add_run(std::span<const Event> run)
{
    const Event* begin = run.data();
    const Event* const end = begin + run.size();
    for (const Event* e = begin + 1; e < end; ++e)
        if (e->ts_ns < e[-1].ts_ns) [[unlikely]] {
            runs_.push_back({begin, e});
            begin = e;
        }
    runs_.push_back({begin, end});
}

void ReorderBuffer::merge_in()
{
    std::size_t total = 0;
    std::uint64_t oldest = kEnd;
    for (const Run& r : runs_) {
        total += static_cast<std::size_t>(r.end - r.begin);
        newest_ = std::max<std::uint64_t>(newest_, r.end[-1].ts_ns);
        oldest = std::min<std::uint64_t>(oldest, r.begin->ts_ns);
    }

    // Room first, so that a failed allocation drops nothing held: from
    // where the tail below is taken out, nothing allocates.
    sorted_.reserve(sorted_.size() + total);
    // Held events newer than the oldest that came in merge with them, as
    // the first run (they came first: ties go to them).
    const auto tail = std::upper_bound(sorted_.begin() + static_cast<std::ptrdiff_t>(head_), sorted_.end(), oldest,
                                       [](std::uint64_t ts, const Event& ev) { return ts < ev.ts_ns; });
    const auto tail_size = static_cast<std::size_t>(sorted_.end() - tail);
    tail_.reserve(tail_size);
    pairs_.reserve(total + tail_size);
    runs_.reserve(runs_.size() + 1);
    const std::size_t max_runs = tail_size == 0 ? 4 : 3;

    // More runs than one merge takes (many lanes, or many drains between
    // releases): merge them four at a time, buffer to buffer, until they fit.
    for (std::size_t pass = 0; runs_.size() > max_runs; ++pass) {
        Events& to = passes_[pass % 2];  // the runs read the other one, or the caller's
        to.resize(total);
        Event* out = to.data();
        std::size_t merged = 0;
        for (std::size_t i = 0; i < runs_.size(); i += 4) {
            Event* const end = merge(std::span(runs_).subspan(i, std::min<std::size_t>(4, runs_.size() - i)), out);
            runs_[merged++] = {out, end};
            out = end;
        }
        runs_.resize(merged);
    }

    if (tail_size != 0) {
        tail_.assign(tail, sorted_.end());
        sorted_.erase(tail, sorted_.end());
        runs_.insert(runs_.begin(), Run{tail_.data(), tail_.data() + tail_.size()});
        total += tail_.size();
    }
    const std::size_t at = sorted_.size();
    sorted_.resize(at + total);
    merge(runs_, sorted_.data() + at);
}

Event* ReorderBuffer::merge(std::span<const Run> runs, Event* out)
{
    std::array<Run, 4> r{};
    std::size_t nr = 0;
    for (const Run& run : runs)
        if (run.begin != run.end)
            r[nr++] = run;
    const auto length = [](const Run& run) { return static_cast<std::size_t>(run.end - run.begin); };
    // Pairs, then the pairs' results: each event is copied twice, but a
    // two-way step is a third of a four-way one's instructions (one
    // compare and select against a tournament of three).
    switch (nr) {
    case 0: return out;
    case 1: return std::copy(r[0].begin, r[0].end, out);
    case 2: return merge_two(r[0], r[1], out);
    case 3: {
        pairs_.resize(length(r[0]) + length(r[1]));
        Event* const mid = merge_two(r[0], r[1], pairs_.data());
        return merge_two({pairs_.data(), mid}, r[2], out);
    }
    default: {
        pairs_.resize(length(r[0]) + length(r[1]) + length(r[2]) + length(r[3]));
        Event* const mid = merge_two(r[0], r[1], pairs_.data());
        Event* const end = merge_two(r[2], r[3], mid);
        return merge_two({pairs_.data(), mid}, {mid, end}, out);
    }
    }
}

Event* ReorderBuffer::merge_two(Run x, Run y, Event* out) noexcept
{
    const Event* a = x.begin;
    const Event* b = y.begin;
    const Event* ea = x.end;
    const Event* eb = y.end;
    Event* const end = out + (ea - a) + (eb - b);
    Event* back = end;
    // Both ends at once: two independent chains of loads and selects keep
    // the CPU twice as busy. Neither run runs out within `safe` events, and
    // each end takes at most safe / 2: no bounds checks, and they cannot meet.
    for (;;) {
        const auto safe = static_cast<std::size_t>(std::min(ea - a, eb - b));
        if (safe < 16)
            break;
        for (std::size_t n = safe / 2; n > 0; --n) {
            take_front(a, b, out);
            take_back(ea, eb, back);
        }
    }
    while (a != ea && b != eb)
        take_front(a, b, out);
    out = std::copy(a, ea, out);
    std::copy(b, eb, out);
    return end;
}

}  // namespace self_e
