// bench/aggregator: events per second through the aggregator on one core,
// against a naive aggregator (std::unordered_map per gfn, std::map of VMs
// per KSM page) applying the same events, measured in the same run. Prints
// rates, ratios and the memory per guest page; nothing here asserts a time.
//
//   aggregator_bench [SECONDS=60]
//
// Two generated, deterministic streams of 4 VMs x 1 GiB:
//  - recorded-like: SECONDS of what the module reports: guests booting
//    (faults in runs, some at 2M), then steady faults, an access scan of
//    every block each second, ksmd scanning 1000 pages per 20 ms and
//    merging what has a common content (same image at the same gfn in
//    every VM, duplicates within a VM, zero pages), guest writes breaking
//    merged pages (some again and again: volatile), KSM migrations, a
//    balloon unmapping 16 MiB, an unmerge of 4 MiB, a VM going away;
//  - random: the worst case, every event on a random page (40% KSM events),
//    so nearly every KSM event misses the cache.
// Each is fed in ts order to Aggregator::apply (the state update alone) and
// as a consumer drains it (every 10 ms of the stream, lane after lane) to
// push()/release() (with the reordering). The final counts of both and of
// the baseline are compared, so all three are known to do the same work.
#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "self_e/aggregate_report.hpp"
#include "self_e/aggregator.hpp"
#include "self_e/huge_page_allocator.hpp"
#include "self_e/prefetch.hpp"

using namespace self_e;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint16_t kVms = 4;
constexpr std::uint64_t kPagesPerVm = std::uint64_t{1} << 18;  // 1 GiB
constexpr std::uint16_t kLanes = 4;                            // CPUs
constexpr std::uint16_t kKsmdLane = kLanes - 1;
constexpr std::uint16_t kScannerLane = 0;
constexpr std::uint64_t kZeroPfn = 0x1000;
constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kDrainEveryNs = 10 * kMs;
constexpr int kRounds = 3;

// splitmix64: deterministic and fast enough not to matter.
class Rng {
public:
    explicit Rng(std::uint64_t seed) : s_(seed) {}
    std::uint64_t next()
    {
        std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    std::uint64_t below(std::uint64_t n) { return next() % n; }

private:
    std::uint64_t s_;
};

struct Stream {
    std::string name;
    std::vector<Event> sorted;           // in ts order
    std::vector<std::uint16_t> lane_of;  // of each event of sorted
    std::vector<Event> drained;          // as a consumer gets it: per 10 ms, lane after lane
    std::vector<std::size_t> drain_ends;  // where each drain's events in drained end
    std::vector<std::size_t> lane_ends;   // where each lane's events in drained end, kLanes a drain
};

// Appends events with increasing timestamps.
class StreamWriter {
public:
    explicit StreamWriter(Stream& s) : s_(s) {}

    void at(std::uint64_t ts) { ts_ = std::max(ts_, ts); }
    void emit(std::uint8_t type, std::uint16_t vm, std::uint64_t gfn, std::uint64_t arg,
              std::uint8_t flags, std::uint16_t lane)
    {
        Event ev{};
        ev.type = type;
        ev.flags = flags;
        ev.vcpu = type == SELF_E_EV_FAULT ? lane : SELF_E_VCPU_NONE;
        ev.vm_id = vm;
        ev.ts_ns = ts_;
        ev.gfn = gfn;
        ev.arg = arg;
        s_.sorted.push_back(ev);
        s_.lane_of.push_back(lane);
        ts_ += 37;  // events of one source come a little apart
    }
    void start_vm(std::uint16_t vm)
    {
        emit(SELF_E_EV_VM_CREATE, vm, SELF_E_GFN_NONE, 1000 + vm, 0, 0);
        emit(SELF_E_EV_MEMSLOT, vm, 0, kPagesPerVm, SELF_E_MEMSLOT_CREATE, 0);
        s_.sorted.back().vcpu = 0;  // slot 0, address space 0
    }

private:
    Stream& s_;
    std::uint64_t ts_ = 1000;
};

// The generator's idea of each page, to emit events that make sense.
struct PageModel {
    enum : std::uint8_t { none, mapped, ksm, zero };
    std::vector<std::uint8_t> state = std::vector<std::uint8_t>(kVms * kPagesPerVm);
    std::vector<std::uint64_t> kpfn = std::vector<std::uint64_t>(kVms * kPagesPerVm);
    std::uint64_t next_pfn = 0x100000;
};

// Pages on a KSM page or the zero page, to pick one at random.
class MergedSet {
public:
    void add(std::uint64_t p)
    {
        if (index_.emplace(p, pages_.size()).second)
            pages_.push_back(p);
    }
    void remove(std::uint64_t p)
    {
        auto it = index_.find(p);
        if (it == index_.end())
            return;
        index_[pages_.back()] = it->second;
        pages_[it->second] = pages_.back();
        pages_.pop_back();
        index_.erase(p);
    }
    bool empty() const { return pages_.empty(); }
    std::uint64_t pick(Rng& rng) const { return pages_[rng.below(pages_.size())]; }

private:
    std::vector<std::uint64_t> pages_;
    std::unordered_map<std::uint64_t, std::size_t> index_;
};

Stream recorded_like_stream(std::uint64_t seconds)
{
    Stream s{.name = "recorded-like"};
    StreamWriter w(s);
    Rng rng(6);
    PageModel m;
    std::vector<MergedSet> merged(kVms);
    std::unordered_map<std::uint64_t, std::uint64_t> content_pfn;  // content -> KSM page
    // What a page holds, the same for a gfn in every VM (cloned guests):
    // 10% zeros, 35% the common image, 5% one of 20000 duplicated blocks,
    // the rest unique. Content 0 is zeros; ~0 unique.
    auto content = [](std::uint16_t vm, std::uint64_t gfn) -> std::uint64_t {
        const std::uint64_t h = (gfn * 0x9E3779B97F4A7C15ULL) >> 40;
        const std::uint64_t pct = h % 100;
        if (pct < 10)
            return 0;
        if (pct < 45)
            return 1 + gfn;
        if (pct < 50)
            return (std::uint64_t{1} << 40) + h % 20000;
        return vm == 0 ? 0 : ~std::uint64_t{0};
    };
    const std::uint64_t boot_ms = 5000;
    std::array<std::uint64_t, kVms> boot_cursor{};
    std::uint64_t ksmd_cursor = 0;  // over every VM's pages in turn
    const std::uint64_t end_ms = seconds * 1000;
    bool vm4_live = true;

    for (std::uint16_t vm = 1; vm <= kVms; ++vm)
        w.start_vm(vm);
    for (std::uint64_t ms = 0; ms < end_ms; ++ms) {
        w.at(1000 + ms * kMs);
        for (std::uint16_t v = 0; v < kVms; ++v) {
            const auto vm = static_cast<std::uint16_t>(v + 1);
            if (vm == 4 && !vm4_live)
                continue;
            const std::uint64_t base = v * kPagesPerVm;
            const auto vcpu = [&] { return static_cast<std::uint16_t>(rng.below(kLanes)); };
            auto fault = [&](std::uint64_t gfn, bool huge) {
                // A merged page faults in again by a read, on its shared frame.
                const std::uint8_t st = m.state[base + gfn];
                if (st == PageModel::ksm || st == PageModel::zero)
                    w.emit(SELF_E_EV_FAULT, vm, gfn, m.kpfn[base + gfn], 0, vcpu());
                else
                    w.emit(SELF_E_EV_FAULT, vm, gfn, 0x8000000 + base + gfn,
                           SELF_E_F_WRITE | SELF_E_F_WRITABLE | (huge ? 1 << SELF_E_F_LEVEL_SHIFT : 0), vcpu());
                if (m.state[base + gfn] == PageModel::none)
                    m.state[base + gfn] = PageModel::mapped;
            };
            // Boot, VMs 2 s apart: runs of faults through memory, 1 in 8 a 2M mapping.
            const std::uint64_t boot_start = v * 2000;
            if (ms >= boot_start && ms < boot_start + boot_ms) {
                for (int run = 0; run < 2; ++run) {
                    std::uint64_t& cur = boot_cursor[v];
                    cur = (cur + rng.below(16)) % kPagesPerVm;
                    if (rng.below(8) == 0) {
                        fault(cur & ~std::uint64_t{511}, true);
                        cur += 512;
                    } else {
                        for (int i = 0; i < 18 && cur < kPagesPerVm; ++i)
                            fault(cur++, false);
                    }
                }
            } else if (ms >= boot_start) {
                // Steady: faults in the working set (a tenth of memory).
                for (int i = 0; i < 8; ++i)
                    fault(rng.below(kPagesPerVm / 10) * 7 % kPagesPerVm, false);
            }
            // The access scan: every 64-page block once a second, in order.
            for (std::uint64_t b = ms % 1000 * 4096 / 1000; b < (ms % 1000 + 1) * 4096 / 1000; ++b) {
                const std::uint64_t bits = rng.next() & rng.next() & rng.next();
                w.emit(SELF_E_EV_ACCESS, vm, b * 64, bits, 0, kScannerLane);
                for (std::uint64_t x = bits; x; x &= x - 1) {
                    std::uint8_t& st = m.state[base + b * 64 + std::countr_zero(x)];
                    if (st == PageModel::none)
                        st = PageModel::mapped;
                }
            }
            // Guest writes to merged pages: mostly a hot few (volatile).
            if (ms > boot_start && !merged[v].empty()) {
                for (int i = 0; i < 2; ++i) {
                    const std::uint64_t p = merged[v].pick(rng);
                    w.emit(SELF_E_EV_COW_BREAK, vm, p - base, m.kpfn[p], 0, vcpu());
                    m.state[p] = PageModel::mapped;
                    merged[v].remove(p);
                }
            }
        }
        // ksmd: 1000 pages every 20 ms, VM after VM, in address order.
        if (ms % 20 == 0) {
            for (int i = 0; i < 1000; ++i, ksmd_cursor = (ksmd_cursor + 1) % (kVms * kPagesPerVm)) {
                const std::uint64_t p = ksmd_cursor;
                const auto v = static_cast<std::uint16_t>(p / kPagesPerVm);
                if ((v == 3 && !vm4_live) || m.state[p] != PageModel::mapped)
                    continue;
                const std::uint64_t c = content(v, p % kPagesPerVm);
                if (c == ~std::uint64_t{0})
                    continue;
                if (c == 0) {
                    w.emit(SELF_E_EV_KSM_ZERO, v + 1, p % kPagesPerVm, kZeroPfn, 0, kKsmdLane);
                    m.state[p] = PageModel::zero;
                    m.kpfn[p] = kZeroPfn;
                } else {
                    auto [it, first] = content_pfn.try_emplace(c, m.next_pfn);
                    m.next_pfn += first;
                    w.emit(SELF_E_EV_KSM_MERGE, v + 1, p % kPagesPerVm, it->second,
                           first ? SELF_E_F_KSM_NEW : 0, kKsmdLane);
                    m.state[p] = PageModel::ksm;
                    m.kpfn[p] = it->second;
                }
                merged[v].add(p);
            }
        }
        // Compaction moves a KSM page now and then (one gfn at a time).
        if (ms % 20 == 10 && !merged[0].empty()) {
            const std::uint64_t p = merged[0].pick(rng);
            if (m.state[p] == PageModel::ksm) {
                m.kpfn[p] = m.next_pfn++;
                w.emit(SELF_E_EV_KSM_MIGRATE, 1, p, m.kpfn[p], 0, kKsmdLane);
            }
        }
        // A balloon takes 16 MiB of VM 2; VM 3 unmerges 4 MiB; VM 4 goes.
        if (ms == end_ms * 2 / 3) {
            for (std::uint64_t gfn = 0x10000; gfn < 0x10000 + 4096; ++gfn) {
                const std::uint64_t p = kPagesPerVm + gfn;
                if (m.state[p] == PageModel::none)
                    continue;
                w.emit(SELF_E_EV_UNMAP, 2, gfn, 1, 0, 1);  // one page
                m.state[p] = PageModel::none;
                merged[1].remove(p);
            }
        }
        if (ms == end_ms * 5 / 6) {
            for (std::uint64_t gfn = 0x20000; gfn < 0x20000 + 1024; ++gfn) {
                const std::uint64_t p = 2 * kPagesPerVm + gfn;
                if (m.state[p] != PageModel::ksm && m.state[p] != PageModel::zero)
                    continue;
                w.emit(SELF_E_EV_UNMERGE, 3, gfn, m.kpfn[p], 0, 2);
                m.state[p] = PageModel::mapped;
                merged[2].remove(p);
            }
        }
        if (ms == end_ms * 29 / 30 && vm4_live) {
            w.emit(SELF_E_EV_VM_DESTROY, 4, SELF_E_GFN_NONE, 0, 0, 1);
            vm4_live = false;
        }
    }
    return s;
}

// Every event on a random page, 4 in 10 of them KSM events.
Stream random_stream(std::size_t nr_events)
{
    Stream s{.name = "random"};
    StreamWriter w(s);
    Rng rng(7);
    PageModel m;
    constexpr std::uint64_t kContents = std::uint64_t{1} << 16;
    std::vector<std::uint64_t> content_pfn(kContents);
    for (std::uint16_t vm = 1; vm <= kVms; ++vm)
        w.start_vm(vm);
    auto pick = [&]() -> std::uint64_t { return rng.below(kVms) * kPagesPerVm + rng.below(kPagesPerVm); };
    constexpr std::uint64_t kNone = ~std::uint64_t{0};
    auto pick_in = [&](std::uint8_t a, std::uint8_t b) {
        for (int tries = 0; tries < 8; ++tries) {
            const std::uint64_t p = pick();
            if (m.state[p] == a || m.state[p] == b)
                return p;
        }
        return kNone;
    };
    while (s.sorted.size() < nr_events) {
        w.at(s.sorted.back().ts_ns + 500 + rng.below(1000));  // about 1 M events/s
        const std::uint64_t r = rng.below(100);
        const auto vcpu = static_cast<std::uint16_t>(rng.below(kLanes));
        std::uint8_t type = r < 60   ? SELF_E_EV_FAULT
                            : r < 70 ? SELF_E_EV_ACCESS
                            : r < 85 ? SELF_E_EV_KSM_MERGE
                            : r < 88 ? SELF_E_EV_KSM_ZERO
                            : r < 96 ? SELF_E_EV_COW_BREAK
                            : r < 97 ? SELF_E_EV_UNMERGE
                            : r < 99 ? SELF_E_EV_UNMAP
                                     : SELF_E_EV_KSM_MIGRATE;
        // KSM events want a page in the right state; without one, a fault.
        std::uint64_t p = pick();
        if (type == SELF_E_EV_KSM_MERGE || type == SELF_E_EV_KSM_ZERO)
            p = pick_in(PageModel::mapped, PageModel::mapped);
        else if (type == SELF_E_EV_COW_BREAK || type == SELF_E_EV_UNMERGE)
            p = pick_in(PageModel::ksm, PageModel::zero);
        else if (type == SELF_E_EV_KSM_MIGRATE)
            p = pick_in(PageModel::ksm, PageModel::ksm);
        if (p == kNone) {
            p = pick();
            type = SELF_E_EV_FAULT;
        }
        const auto vm = static_cast<std::uint16_t>(p / kPagesPerVm + 1);
        const std::uint64_t gfn = p % kPagesPerVm;
        switch (type) {
        case SELF_E_EV_FAULT:
            if (m.state[p] == PageModel::ksm || m.state[p] == PageModel::zero)
                w.emit(type, vm, gfn, m.kpfn[p], 0, vcpu);  // a read of the shared frame
            else
                w.emit(type, vm, gfn, 0x8000000 + p, SELF_E_F_WRITE | SELF_E_F_WRITABLE, vcpu);
            if (m.state[p] == PageModel::none)
                m.state[p] = PageModel::mapped;
            break;
        case SELF_E_EV_ACCESS: {
            const std::uint64_t first = p & ~std::uint64_t{63};
            const std::uint64_t bits = rng.next() & rng.next();
            w.emit(type, vm, first % kPagesPerVm, bits, 0, kScannerLane);
            for (std::uint64_t b = bits; b; b &= b - 1)
                if (m.state[first + std::countr_zero(b)] == PageModel::none)
                    m.state[first + std::countr_zero(b)] = PageModel::mapped;
            break;
        }
        case SELF_E_EV_KSM_MERGE: {
            const std::uint64_t c = rng.below(kContents);
            const bool first = content_pfn[c] == 0;
            if (first)
                content_pfn[c] = m.next_pfn++;
            w.emit(type, vm, gfn, content_pfn[c], first ? SELF_E_F_KSM_NEW : 0, kKsmdLane);
            m.state[p] = PageModel::ksm;
            m.kpfn[p] = content_pfn[c];
            break;
        }
        case SELF_E_EV_KSM_ZERO:
            w.emit(type, vm, gfn, kZeroPfn, 0, kKsmdLane);
            m.state[p] = PageModel::zero;
            m.kpfn[p] = kZeroPfn;
            break;
        case SELF_E_EV_COW_BREAK:
        case SELF_E_EV_UNMERGE:
            w.emit(type, vm, gfn, m.kpfn[p], 0, vcpu);
            m.state[p] = PageModel::mapped;
            break;
        case SELF_E_EV_UNMAP:
            w.emit(type, vm, gfn, 1, 0, vcpu);  // one page
            m.state[p] = PageModel::none;
            break;
        case SELF_E_EV_KSM_MIGRATE:
            m.kpfn[p] = m.next_pfn++;
            w.emit(type, vm, gfn, m.kpfn[p], 0, kKsmdLane);
            break;
        }
    }
    return s;
}

// As drained: each 10 ms of the stream, lane 0's events, then lane 1's...
void add_drain_order(Stream& s)
{
    s.drained.reserve(s.sorted.size());
    std::size_t begin = 0;
    while (begin < s.sorted.size()) {
        const std::uint64_t until = s.sorted[begin].ts_ns + kDrainEveryNs;
        std::size_t end = begin;
        while (end < s.sorted.size() && s.sorted[end].ts_ns < until)
            ++end;
        for (std::uint16_t lane = 0; lane < kLanes; ++lane) {
            for (std::size_t i = begin; i < end; ++i)
                if (s.lane_of[i] == lane)
                    s.drained.push_back(s.sorted[i]);
            s.lane_ends.push_back(s.drained.size());
        }
        s.drain_ends.push_back(s.drained.size());
        begin = end;
    }
}

// The baseline: what one would write first. A hash map entry per touched
// gfn and a std::map of VMs per KSM page; the same transitions.
class NaiveAggregator {
public:
    void apply(const Event& ev)
    {
        if (ev.type == SELF_E_EV_MEMSLOT) {
            npages_[ev.vm_id] = ev.arg;
            return;
        }
        if (ev.type == SELF_E_EV_VM_DESTROY) {
            for (auto it = pages_.begin(); it != pages_.end();) {
                if (it->first >> 48 == ev.vm_id) {
                    leave(ev.vm_id, it->second);
                    it = pages_.erase(it);
                } else {
                    ++it;
                }
            }
            cow_breaks_.erase(ev.vm_id);
            shared_ns_.erase(ev.vm_id);
            npages_.erase(ev.vm_id);
            return;
        }
        if (ev.gfn == SELF_E_GFN_NONE)
            return;
        if (ev.type == SELF_E_EV_ACCESS) {
            for (std::uint64_t b = ev.arg; b; b &= b - 1)
                touch(ev.vm_id, ev.gfn + std::countr_zero(b));
            return;
        }
        if (ev.gfn >= npages_[ev.vm_id])
            return;
        const std::uint64_t key = std::uint64_t{ev.vm_id} << 48 | ev.gfn;
        switch (ev.type) {
        case SELF_E_EV_FAULT: {
            touch(ev.vm_id, ev.gfn);
            Page& page = pages_[key];
            if (is_shared(page.state) && (ev.flags & SELF_E_F_LEVEL_MASK) == 0 && page.pfn != ev.arg) {
                leave(ev.vm_id, page);
                page.state = PageState::private_page;
            }
            break;
        }
        case SELF_E_EV_KSM_MERGE:
        case SELF_E_EV_KSM_ZERO: {
            const bool zero = ev.type == SELF_E_EV_KSM_ZERO;
            Page& page = pages_[key];
            if (is_shared(page.state)) {
                if (page.pfn == ev.arg)
                    break;
                leave(ev.vm_id, page);
            }
            page = {zero ? PageState::zero : PageState::ksm, ev.arg, ev.ts_ns};
            if (!zero)
                ++ksm_[ev.arg][ev.vm_id];
            break;
        }
        case SELF_E_EV_COW_BREAK:
        case SELF_E_EV_UNMERGE: {
            auto it = pages_.find(key);
            if (it == pages_.end() || !is_shared(it->second.state) || it->second.pfn != ev.arg)
                break;
            leave(ev.vm_id, it->second);
            if (ev.type == SELF_E_EV_COW_BREAK) {
                ++cow_breaks_[ev.vm_id];
                shared_ns_[ev.vm_id] += ev.ts_ns - it->second.merged_ts;
                it->second.state = PageState::cow_broken;
            } else {
                it->second.state = PageState::private_page;
            }
            break;
        }
        case SELF_E_EV_UNMAP: {
            auto it = pages_.find(key);
            // Only a page with a host page has one to lose.
            if (it == pages_.end() || it->second.state == PageState::untouched ||
                it->second.state == PageState::unmapped)
                break;
            Page& page = it->second;
            if (is_shared(page.state))
                leave(ev.vm_id, page);
            page.state = PageState::unmapped;
            break;
        }
        case SELF_E_EV_KSM_MIGRATE: {
            auto it = pages_.find(key);
            if (it == pages_.end() || it->second.state != PageState::ksm || it->second.pfn == ev.arg)
                break;
            leave(ev.vm_id, it->second);
            it->second.pfn = ev.arg;
            ++ksm_[ev.arg][ev.vm_id];
            break;
        }
        default: break;
        }
    }

    std::array<std::uint64_t, kPageStates> counts() const
    {
        std::array<std::uint64_t, kPageStates> c{};
        for (const auto& [key, page] : pages_)
            ++c[std::size_t(page.state)];
        c[std::size_t(PageState::untouched)] = 0;  // entries only for pages touched once
        return c;
    }
    std::uint64_t cow_breaks() const { return sum(cow_breaks_); }
    std::uint64_t shared_ns() const { return sum(shared_ns_); }

private:
    struct Page {
        PageState state = PageState::untouched;
        std::uint64_t pfn = 0;
        std::uint64_t merged_ts = 0;
    };

    void touch(std::uint16_t vm, std::uint64_t gfn)
    {
        if (gfn >= npages_[vm])
            return;
        Page& page = pages_[std::uint64_t{vm} << 48 | gfn];
        if (page.state == PageState::untouched || page.state == PageState::unmapped)
            page.state = PageState::private_page;
    }

    void leave(std::uint16_t vm, const Page& page)
    {
        if (page.state != PageState::ksm)
            return;
        auto it = ksm_.find(page.pfn);
        if (--it->second[vm] == 0) {
            it->second.erase(vm);
            if (it->second.empty())
                ksm_.erase(it);
        }
    }

    static std::uint64_t sum(const std::unordered_map<std::uint16_t, std::uint64_t>& by_vm)
    {
        std::uint64_t total = 0;
        for (const auto& [vm, n] : by_vm)
            total += n;
        return total;
    }

    std::unordered_map<std::uint16_t, std::uint64_t> cow_breaks_, shared_ns_;
    std::unordered_map<std::uint64_t, Page> pages_;
    std::unordered_map<std::uint64_t, std::map<std::uint16_t, std::uint64_t>> ksm_;
    std::unordered_map<std::uint16_t, std::uint64_t> npages_;
};

// The floor: the memory an exact aggregator must touch, and no logic. Per
// event it reads the event and updates its page's 2-byte state; for an
// access record the states of its pages and their working-set words; for a
// KSM event also the page's 16-byte record (where the KSM page and merge
// time must be kept), records in page order as the aggregator keeps them
// (a dense array here: the best placement there is). It looks ahead as
// Aggregator::apply does. The aggregator's own work is what it costs on top
// of this.
class MemoryFloor {
public:
    MemoryFloor() : words_(std::size_t{kVms + 1} * kPagesPerVm), working_set_(words_.size()), records_(words_.size()) {}

    void apply(std::span<const Event> events)
    {
        constexpr std::size_t kAhead = 16;
        for (std::size_t i = 0; i < events.size(); ++i) {
            if (i + kAhead < events.size())
                prefetch(events[i + kAhead]);
            touch(events[i]);
        }
    }
    std::uint64_t sum() const
    {
        std::uint64_t total = 0;
        for (std::uint16_t w : words_)
            total += w;
        for (const Record& r : records_)
            total += r.touches;
        return total;
    }

private:
    struct Record {
        std::uint64_t pfn = 0, touches = 0;
    };
    static bool outside(const Event& ev) { return ev.vm_id > kVms || ev.gfn >= kPagesPerVm; }
    std::size_t page(const Event& ev) const { return std::size_t{ev.vm_id} * kPagesPerVm + ev.gfn; }
    static bool is_ksm(const Event& ev)
    {
        switch (ev.type) {
        case SELF_E_EV_KSM_MERGE:
        case SELF_E_EV_KSM_ZERO:
        case SELF_E_EV_COW_BREAK:
        case SELF_E_EV_UNMERGE:
        case SELF_E_EV_KSM_MIGRATE: return true;
        default: return false;
        }
    }

    void prefetch(const Event& ev)
    {
        if (outside(ev))
            return;
        prefetch_for_write(&words_[page(ev)]);
        if (ev.type == SELF_E_EV_ACCESS)
            prefetch_for_write(&working_set_[page(ev)]);
        else if (is_ksm(ev))
            prefetch_for_write(&records_[page(ev)]);
    }
    void touch(const Event& ev)
    {
        if (outside(ev))
            return;
        if (ev.type == SELF_E_EV_ACCESS) {
            const std::size_t first = page(ev);
            for (std::uint64_t bits = ev.arg; bits; bits &= bits - 1) {
                const auto i = static_cast<std::size_t>(std::countr_zero(bits));
                if (first + i < words_.size()) {
                    words_[first + i] |= 1;
                    ++working_set_[first + i];
                }
            }
            return;
        }
        ++words_[page(ev)];
        if (is_ksm(ev)) {
            Record& r = records_[page(ev)];
            r.pfn = ev.arg;
            ++r.touches;
        }
    }

    std::vector<std::uint16_t, HugePageAllocator<std::uint16_t>> words_, working_set_;
    std::vector<Record, HugePageAllocator<Record>> records_;
};

template <typename Fn>
double seconds_of(Fn&& fn)
{
    const auto start = Clock::now();
    fn();
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// The best of kRounds runs of fn. An fn that returns a double returns the
// seconds of its run not to count (the report made at the end).
template <typename Fn>
double best_seconds(Fn&& fn)
{
    double best = 1e300;
    for (int i = 0; i < kRounds; ++i) {
        double left_out = 0;
        const double t = seconds_of([&] {
            if constexpr (std::is_same_v<decltype(fn()), double>)
                left_out = fn();
            else
                fn();
        });
        best = std::min(best, t - left_out);
    }
    return best;
}

struct Figures {
    double drained_events_per_s = 0;
    bool agree = false;
};

Figures run(const Stream& stream)
{
    const double n = double(stream.sorted.size());
    std::array<std::uint64_t, SELF_E_EV_MAX> by_type{};
    for (const Event& ev : stream.sorted)
        ++by_type[ev.type];
    fmt::print("\n{} stream: {} events ({:.0f}% faults, {:.0f}% access, {:.0f}% KSM), {} VMs x {} MiB, "
               "{:.1f} s of guest time, {} lanes\n",
               stream.name, stream.sorted.size(), 100.0 * by_type[SELF_E_EV_FAULT] / n,
               100.0 * by_type[SELF_E_EV_ACCESS] / n,
               100.0 * (n - by_type[SELF_E_EV_FAULT] - by_type[SELF_E_EV_ACCESS]) / n, kVms,
               kPagesPerVm * 4096 >> 20, double(stream.sorted.back().ts_ns) / 1e9, kLanes);

    AggregateReport ordered_report, drained_report, pushed_report;
    // What the memory is for: page states, working set, shared-page tables;
    // and what the KSM pages built for a report take while it is made.
    std::size_t bytes = 0, word_bytes = 0, working_set_bytes = 0, shared_bytes = 0, ksm_bytes = 0;
    // A report is not in the events' time: it comes a few times a second
    // at most. It builds the KSM pages from the shared-page tables.
    double t_report = 1e300;
    const double t_apply = best_seconds([&] {
        Aggregator agg;
        agg.apply(stream.sorted);
        const double t = seconds_of([&] { ordered_report = make_report(agg); });
        t_report = std::min(t_report, t);
        // Not the events' time either: the figures below build the KSM
        // pages once more.
        return t + seconds_of([&] {
            bytes = agg.bytes();
            word_bytes = working_set_bytes = shared_bytes = 0;
            for (std::uint16_t id : agg.vm_ids()) {
                word_bytes += agg.vm(id)->pages() * sizeof(PageWord);
                working_set_bytes += agg.vm(id)->working_set.bytes();
                shared_bytes += agg.vm(id)->shared_bytes();
            }
            ksm_bytes = agg.ksm_pages().bytes();
        });
    });
    const double t_drained = best_seconds([&] {
        // As Watcher does: each drain's lanes where they lie (a ring's
        // runs), then release().
        Aggregator agg;
        std::vector<std::span<const Event>> runs;
        std::size_t begin = 0;
        for (std::size_t lane_end = 0; lane_end < stream.lane_ends.size();) {
            runs.clear();
            for (std::size_t lane = 0; lane < kLanes; ++lane, ++lane_end) {
                runs.emplace_back(stream.drained.data() + begin, stream.lane_ends[lane_end] - begin);
                begin = stream.lane_ends[lane_end];
            }
            agg.push_runs(runs);
            agg.release();
        }
        agg.flush();
        return seconds_of([&] { drained_report = make_report(agg); });
    });
    const double t_pushed = best_seconds([&] {
        // The same events pushed one by one (a filtered replay does).
        Aggregator agg;
        std::size_t begin = 0;
        for (const std::size_t end : stream.drain_ends) {
            for (std::size_t i = begin; i < end; ++i)
                agg.push(stream.drained[i]);
            agg.release();
            begin = end;
        }
        agg.flush();
        return seconds_of([&] { pushed_report = make_report(agg); });
    });
    // Where the time goes: page events (faults, access samples) against
    // KSM events, each alone over the VMs' setup.
    std::vector<Event> page_events, ksm_events;
    for (const Event& ev : stream.sorted) {
        const bool page = ev.type == SELF_E_EV_FAULT || ev.type == SELF_E_EV_ACCESS;
        const bool setup = ev.type == SELF_E_EV_VM_CREATE || ev.type == SELF_E_EV_MEMSLOT;
        if (page || setup)
            page_events.push_back(ev);
        if (!page || setup)
            ksm_events.push_back(ev);
    }
    const double t_page = best_seconds([&] { Aggregator().apply(page_events); });
    const double t_ksm = best_seconds([&] { Aggregator().apply(ksm_events); });
    std::uint64_t floor_sum = 0;
    const double t_floor = best_seconds([&] {
        MemoryFloor floor;
        floor.apply(stream.sorted);
        floor_sum = floor.sum();
    });
    NaiveAggregator naive_result;
    const double t_naive = best_seconds([&] {
        NaiveAggregator naive;
        for (const Event& ev : stream.sorted)
            naive.apply(ev);
        naive_result = std::move(naive);
    });

    // The same final state three ways, or the figures mean nothing.
    std::array<std::uint64_t, kPageStates> ours{};
    std::uint64_t cow_breaks = 0, shared_ns = 0, guest_pages = 0;
    bool drained_exact = true;
    for (const VmReport& v : ordered_report.vms) {
        ours[std::size_t(PageState::private_page)] += v.pages.private_pages - v.pages.cow_broken;
        ours[std::size_t(PageState::cow_broken)] += v.pages.cow_broken;
        ours[std::size_t(PageState::ksm)] += v.pages.ksm_shared;
        ours[std::size_t(PageState::zero)] += v.pages.ksm_zero;
        ours[std::size_t(PageState::unmapped)] += v.pages.unmapped;
        cow_breaks += v.cow_breaks;
        shared_ns += v.counters.shared_ns_total;
        guest_pages += v.pages.total;
    }
    for (const AggregateReport* r : {&drained_report, &pushed_report})
        for (const VmReport& v : r->vms)
            drained_exact = drained_exact && v.exact;
    std::array<std::uint64_t, kPageStates> theirs = naive_result.counts();
    const bool agree = ours == theirs && cow_breaks == naive_result.cow_breaks() &&
                       shared_ns == naive_result.shared_ns() &&
                       drained_report.ksm_mappers == ordered_report.ksm_mappers &&
                       drained_report.saved_bytes == ordered_report.saved_bytes &&
                       pushed_report.ksm_mappers == ordered_report.ksm_mappers &&
                       pushed_report.saved_bytes == ordered_report.saved_bytes && drained_exact;

    fmt::print("final: {} touched pages, {} on {} KSM pages, {} zero, {} COW breaks; "
               "results agree (ordered, drained, naive): {}\n",
               ours[1] + ours[2] + ours[3] + ours[4] + ours[5], ours[2], ordered_report.ksm_pages,
               ours[3], cow_breaks, agree ? "yes" : "NO");
    fmt::print("{:<36} {:>8} {:>7}\n", "best of " + std::to_string(kRounds), "M ev/s", "ns/ev");
    fmt::print("{:<36} {:>8.1f} {:>7.1f}\n", "apply, in ts order", n / t_apply / 1e6, t_apply / n * 1e9);
    fmt::print("{:<36} {:>8.1f} {:>7.1f}\n", "  faults and access alone",
               double(page_events.size()) / t_page / 1e6, t_page / double(page_events.size()) * 1e9);
    fmt::print("{:<36} {:>8.1f} {:>7.1f}\n", "  KSM and other events alone",
               double(ksm_events.size()) / t_ksm / 1e6, t_ksm / double(ksm_events.size()) * 1e9);
    fmt::print("{:<36} {:>8.1f} {:>7.1f}\n", "push_runs/release, as drained", n / t_drained / 1e6,
               t_drained / n * 1e9);
    fmt::print("{:<36} {:>8.1f} {:>7.1f}\n", "  push() one by one, as drained", n / t_pushed / 1e6,
               t_pushed / n * 1e9);
    fmt::print("{:<36} {:>8.1f} {:>7.1f}\n", "naive (unordered_map), in ts order", n / t_naive / 1e6,
               t_naive / n * 1e9);
    fmt::print("{:<36} {:>8.1f} {:>7.1f}\n", "memory floor (touches only), in order", n / t_floor / 1e6,
               t_floor / n * 1e9);
    // Against the floor of the same run: on a shared host the floor itself
    // moves by a third from run to run, and these ratios much less.
    fmt::print("apply / naive: {:.1f}x; as drained / naive: {:.1f}x; apply / memory floor: {:.2f}; "
               "as drained / memory floor: {:.3f} (floor checksum {})\n",
               t_naive / t_apply, t_naive / t_drained, t_floor / t_apply, t_floor / t_drained, floor_sum % 1000);
    fmt::print("a report at the end (builds the KSM pages): {:.1f} ms\n", t_report * 1e3);
    const auto per_page = [&](std::size_t b) { return double(b) / double(guest_pages); };
    const std::size_t fixed_bytes = bytes - word_bytes - working_set_bytes - shared_bytes;
    fmt::print("memory: {:.2f} bytes per guest page ({:.1f} MiB): page states {:.2f}, working set {:.2f}, "
               "shared-page records {:.2f} ({} shared pages), fixed {:.2f} ({} KiB: the VM table), "
               "KSM pages of the report {:.2f} ({} KSM pages)\n",
               per_page(bytes), double(bytes) / (1 << 20), per_page(word_bytes), per_page(working_set_bytes),
               per_page(shared_bytes), ours[2] + ours[3], per_page(fixed_bytes), fixed_bytes >> 10,
               per_page(ksm_bytes), ordered_report.ksm_pages);
    return {n / t_drained, agree};
}

}  // namespace

int main(int argc, char** argv)
{
    std::uint64_t seconds = 60;
    if (argc > 1) {
        const std::string arg = argv[1];
        if (arg == "--help" || arg == "-h") {
            fmt::print("usage: aggregator_bench [SECONDS]\n"
                       "Events/s through the aggregator over SECONDS (default 60) of a generated\n"
                       "recorded-like stream of 4 VMs x 1 GiB, and over a random worst case of\n"
                       "as many events, against a naive aggregator.\n");
            return 0;
        }
        char* end = nullptr;
        seconds = std::strtoul(argv[1], &end, 10);
        if (*end != '\0' || seconds < 10 || seconds > 600) {
            fmt::print(stderr, "aggregator_bench: SECONDS must be 10..600, not '{}'\n", arg);
            return 2;
        }
    }
    Stream recorded = recorded_like_stream(seconds);
    add_drain_order(recorded);
    Stream random = random_stream(recorded.sorted.size());
    add_drain_order(random);
    fmt::print("aggregator on one core, {} hardware threads, best of {} runs each\n", std::thread::hardware_concurrency(), kRounds);
    const Figures r = run(recorded);
    const Figures w = run(random);
    fmt::print("\nrecorded-like, as drained: {:.1f} M events/s (target >= 50); random: {:.1f} M events/s\n",
               r.drained_events_per_s / 1e6, w.drained_events_per_s / 1e6);
    return r.agree && w.agree ? 0 : 1;
}
