// bench/snapshot: how fast `self-e snapshot` classifies a process's memory,
// against reading the frame files once per page (what the kernel's
// page-types tool does: tools/mm/page-types.c in Debian's linux-source-6.1,
// `make -C tools/mm page-types`, or tools/vm/ in older trees), measured in
// the same run on the same memory. Needs root. Prints times and ratios only.
//
//   snapshot_bench [MIB=1024] [PAGE_TYPES]
//
// MIB of anonymous memory without THP (4 KiB pages: the most frames to
// look up), 3 of 4 pages written and 1 only read (the zero page). With the
// path of a page-types binary, also times `page-types -p PID -a N,M` over
// the same pages (a process of its own, so it includes exec and printing).
#include <fmt/core.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "self_e/page_scanner.hpp"
#include "self_e/snapshot.hpp"
#include "self_e/unique_fd.hpp"

using namespace self_e;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kRounds = 5;

template <typename Fn>
double best_ms(Fn&& fn)
{
    double best = 1e300;
    for (int i = 0; i < kRounds; ++i) {
        const auto t0 = Clock::now();
        fn();
        best = std::min(best, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    return best;
}

// The per-page way (page-types'): pagemap in batches, then one pread of
// kpageflags for each present page.
PageCounts per_page_counts(pid_t pid, const AddressRange& range)
{
    const ProcFs proc;
    const UniqueFd pagemap = proc.open_pagemap(pid);
    const UniqueFd flags = proc.open_kpageflags();
    const std::uint64_t ps = host_page_size();
    std::vector<std::uint64_t> entries(PageScanner::kBatchPages);
    PageCounts c;
    for (std::uint64_t addr = range.start; addr < range.end;) {
        const std::size_t n = std::min<std::uint64_t>(entries.size(), (range.end - addr) / ps);
        pread_fully(pagemap, entries.data(), n * 8, addr / ps * 8, "pagemap");
        for (std::size_t i = 0; i < n; ++i) {
            std::uint64_t f = 0;
            if (pagemap_present(entries[i]))
                pread_fully(flags, &f, 8, pagemap_pfn(entries[i]) * 8, "kpageflags");
            c.add(classify_page(entries[i], f));
        }
        addr += n * ps;
    }
    return c;
}

double page_types_ms(const std::string& bin, const AddressRange& range)
{
    const std::uint64_t ps = host_page_size();
    const std::string pid = std::to_string(getpid());
    const std::string pages = fmt::format("{},{}", range.start / ps, range.end / ps);
    return best_ms([&] {
        std::fflush(stdout);  // or the child's stdio would print it again
        const pid_t child = fork();
        if (child == 0) {
            freopen("/dev/null", "w", stdout);
            execl(bin.c_str(), bin.c_str(), "-p", pid.c_str(), "-a", pages.c_str(), nullptr);
            _exit(127);
        }
        int status = 0;
        waitpid(child, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fmt::print(stderr, "{} failed (status {})\n", bin, status);
            std::exit(1);
        }
    });
}

}  // namespace

int main(int argc, char** argv)
{
    const std::uint64_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 0) : 1024;
    const std::size_t bytes = mib << 20;
    const std::uint64_t ps = host_page_size();
    auto* mem = static_cast<unsigned char*>(
        mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (mem == MAP_FAILED || madvise(mem, bytes, MADV_NOHUGEPAGE)) {
        fmt::print(stderr, "cannot map {} MiB without THP\n", mib);
        return 1;
    }
    volatile unsigned char sink = 0;
    for (std::size_t off = 0, i = 0; off < bytes; off += ps, ++i) {
        if (i % 4 == 3)
            sink = sink + mem[off];
        else
            mem[off] = static_cast<unsigned char>(i | 1);
    }
    const AddressRange range{reinterpret_cast<std::uint64_t>(mem), reinterpret_cast<std::uint64_t>(mem) + bytes};
    const SnapshotTarget target{getpid(), {range}, RangeOrigin::given};

    try {
        Snapshot snap;
        const double batched = best_ms([&] { snap = take_snapshot(ProcFs{}, SysFs{}, target); });
        PageCounts per_page;
        const double naive = best_ms([&] { per_page = per_page_counts(getpid(), range); });
        if (!(per_page == snap.pages)) {
            fmt::print(stderr, "the two readings disagree (memory changed?)\n");
            return 1;
        }
        fmt::print("snapshot of {} MiB ({} pages, {} present, {} zero), best of {}:\n", mib,
                   snap.pages.total, snap.pages.present, snap.pages.zero, kRounds);
        fmt::print("  self-e snapshot (batched)   {:8.1f} ms\n", batched);
        fmt::print("  one pread per page          {:8.1f} ms   ({:.1f}x the snapshot's time)\n", naive,
                   naive / batched);
        if (argc > 2) {
            const double pt = page_types_ms(argv[2], range);
            fmt::print("  page-types -p -a            {:8.1f} ms   ({:.1f}x the snapshot's time)\n", pt,
                       pt / batched);
        }
    } catch (const std::exception& e) {
        fmt::print(stderr, "snapshot_bench: {}\n", e.what());
        return 1;
    }
    return 0;
}
