// bench/ring: events per second through the SELF-e ring with 1, 2 and 4
// producers and one concurrent consumer, against a mutex-protected ring of
// the same size and record, measured in the same run. Prints ratios only as
// information; nothing here asserts a time.
//
// Producers wait (yield) while their lane is full instead of dropping, so the
// figure is the rate events actually flow from producers to the consumer.
#include <fmt/core.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "self_e/ring.hpp"

using namespace self_e;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint32_t kLaneOrder = 14;  // 16 Ki records (512 KiB) per lane
constexpr int kIdleSleepUs = 50;

struct Result {
    double events_per_s = 0;
    std::uint64_t events = 0;
};

Event make_event(std::uint32_t producer, std::uint64_t i)
{
    Event ev{};
    ev.type = SELF_E_EV_FAULT;
    ev.vcpu = static_cast<std::uint16_t>(producer);
    ev.vm_id = 1;
    ev.ts_ns = i;
    ev.gfn = i;
    ev.arg = i ^ 0x5555;
    return ev;
}

// Runs producers and a consumer for `seconds`; returns what the consumer got.
template <typename ProduceFn, typename ConsumeFn>
Result run(std::uint32_t producers, double seconds, ProduceFn produce, ConsumeFn consume)
{
    std::atomic<bool> stop{false};
    std::atomic<std::uint32_t> live{producers};
    std::uint64_t consumed = 0, checksum = 0;

    std::thread consumer([&] {
        for (;;) {
            const bool done = live.load(std::memory_order_acquire) == 0;
            const std::uint64_t n = consume(checksum);
            consumed += n;
            if (n == 0 && done)
                break;
            // Caught up: sleep as a reader blocked in poll() would, rather
            // than spin on the producers' cache lines.
            if (n == 0)
                std::this_thread::sleep_for(std::chrono::microseconds(kIdleSleepUs));
        }
    });
    std::vector<std::thread> threads;
    const auto start = Clock::now();
    for (std::uint32_t p = 0; p < producers; ++p)
        threads.emplace_back([&, p] {
            for (std::uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i)
                produce(p, i);
            live.fetch_sub(1, std::memory_order_release);
        });
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& t : threads)
        t.join();
    consumer.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (checksum == 42)  // keep the consumer's reads alive
        fmt::print("");
    return {consumed / elapsed, consumed};
}

Result bench_self_e(std::uint32_t producers, double seconds)
{
    LocalRing ring(producers, kLaneOrder, 1);
    const self_e_ring_view& v = ring.view();
    const std::uint64_t cap = 1ULL << kLaneOrder;
    RingConsumer consumer(v);
    return run(
        producers, seconds,
        [&](std::uint32_t p, std::uint64_t i) {
            // Wait for room, looking at the consumer's position only when the
            // last one seen says the lane is full (as the ring's reserve does).
            thread_local std::uint64_t seen_tail = 0;
            while (i - seen_tail >= cap) {
                seen_tail = __atomic_load_n(&v.cons[p].tail, __ATOMIC_ACQUIRE);
                if (i - seen_tail >= cap)
                    std::this_thread::yield();
            }
            const Event ev = make_event(p, i);
            self_e_ring_produce(&v, p, &ev);
        },
        [&](std::uint64_t& sum) {
            return consumer.drain([&](const Event& ev, std::uint32_t) { sum += ev.gfn; });
        });
}

// The baseline: one array ring of the same total size behind one mutex.
class MutexRing {
public:
    explicit MutexRing(std::size_t capacity) : slots_(capacity) {}

    bool push(const Event& ev)
    {
        std::lock_guard lock(mutex_);
        if (head_ - tail_ == slots_.size())
            return false;
        slots_[head_++ % slots_.size()] = ev;
        return true;
    }

    template <typename Fn>
    std::uint64_t drain(Fn&& fn)
    {
        std::lock_guard lock(mutex_);
        const std::uint64_t n = head_ - tail_;
        for (; tail_ != head_; ++tail_)
            fn(slots_[tail_ % slots_.size()]);
        return n;
    }

private:
    std::mutex mutex_;
    std::vector<Event> slots_;
    std::uint64_t head_ = 0, tail_ = 0;
};

Result bench_mutex(std::uint32_t producers, double seconds)
{
    MutexRing ring(std::size_t{producers} << kLaneOrder);
    return run(
        producers, seconds,
        [&](std::uint32_t p, std::uint64_t i) {
            const Event ev = make_event(p, i);
            while (!ring.push(ev))
                std::this_thread::yield();
        },
        [&](std::uint64_t& sum) { return ring.drain([&](const Event& ev) { sum += ev.gfn; }); });
}

}  // namespace

int main(int argc, char** argv)
{
    double seconds = 1.0;
    if (argc > 1) {
        const std::string arg = argv[1];
        if (arg == "--help" || arg == "-h") {
            fmt::print("usage: ring_bench [SECONDS]\n"
                       "Events/s through the SELF-e ring with 1, 2, 4 producers and one consumer,\n"
                       "against a mutex-protected ring, SECONDS (default 1) per measurement.\n");
            return 0;
        }
        char* end = nullptr;
        seconds = std::strtod(argv[1], &end);
        if (*end != '\0' || seconds <= 0 || seconds > 60) {
            fmt::print(stderr, "ring_bench: SECONDS must be a number in (0, 60], not '{}'\n", arg);
            return 2;
        }
    }
    fmt::print("ring: {} records of {} B per lane, {} hardware threads, {:.1f} s per run\n",
               1u << kLaneOrder, sizeof(Event), std::thread::hardware_concurrency(), seconds);
    fmt::print("{:>9}  {:>14} {:>9}  {:>14} {:>9}  {:>8}\n", "producers", "self-e ev/s", "ns/ev",
               "mutex ev/s", "ns/ev", "ratio");
    double single = 0, four = 0;
    for (std::uint32_t producers : {1u, 2u, 4u}) {
        const Result s = bench_self_e(producers, seconds);
        const Result m = bench_mutex(producers, seconds);
        fmt::print("{:>9}  {:>12.2f} M {:>9.1f}  {:>12.2f} M {:>9.1f}  {:>7.2f}x\n", producers,
                   s.events_per_s / 1e6, 1e9 / s.events_per_s, m.events_per_s / 1e6,
                   1e9 / m.events_per_s, s.events_per_s / m.events_per_s);
        if (producers == 1)
            single = s.events_per_s;
        if (producers == 4)
            four = s.events_per_s;
    }
    fmt::print("4 producers / 1 producer: {:.2f}x (target >= 1.00)\n", four / single);
    fmt::print("1 producer: {:.1f} M events/s (target >= 40)\n", single / 1e6);
    return 0;
}
