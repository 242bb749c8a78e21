#include "self_e/watcher.hpp"

#include <poll.h>
#include <time.h>

#include <algorithm>
#include <cerrno>

#include "self_e/error.hpp"
#include "self_e/page_scanner.hpp"

namespace self_e {

PageInfo seed_view(const PageInfo& page, bool ksm_flag_trusted) noexcept
{
    PageInfo seen = page;
    if (!ksm_flag_trusted && page.page_class == PageClass::shared && !page.file)
        seen.page_class = PageClass::ksm;
    return seen;
}

Watcher::Watcher(const std::vector<AttachTarget>& targets, WatchOptions options, ProcFs proc)
    : options_(options), proc_(std::move(proc)), aggregator_(options.aggregator)
{
    const AttachOptions attach{0, options_.ring_bytes, options_.watermark};
    for (const AttachTarget& target : targets) {
        sessions_.emplace_back(target, attach);
        if (options_.sampling.interval.count())
            sessions_.back().set_sampling(options_.sampling);
        const VmInfo info = sessions_.back().vm_info();
        vms_.push_back({static_cast<std::uint16_t>(info.vm_id), info.pid, info.memslots, false});
    }
    // Everything the rings hold so far happened before the snapshots.
    drain();
    for (std::size_t i = 0; i < vms_.size(); ++i)
        seed(i);
}

void Watcher::seed(std::size_t index)
{
    const WatchedVm& vm = vms_[index];
    const std::vector<GuestMemslot> slots = guest_ram_slots(vm.memslots);
    aggregator_.seed_vm(vm.vm_id, static_cast<std::uint32_t>(vm.pid), slots);
    PageScanner scanner(proc_, vm.pid);
    const bool trusted = scanner.ksm_flag_trusted();
    std::vector<PageInfo> seen;
    for (const GuestMemslot& slot : slots) {
        if (!slot.hva)
            continue;
        const AddressRange range{slot.hva, slot.hva + slot.npages * kGuestPageBytes};
        scanner.scan(range, [&](std::uint64_t first, std::span<const PageInfo> pages) {
            seen.resize(pages.size());
            for (std::size_t i = 0; i < pages.size(); ++i)
                seen[i] = seed_view(pages[i], trusted);
            aggregator_.seed_pages(vm.vm_id, first, seen);
        });
    }
}

void Watcher::drain()
{
    // Every ring's lanes go to the aggregator as they lie, in one merge,
    // before any slot is given back.
    runs_.clear();
    for (std::size_t i = 0; i < sessions_.size(); ++i) {
        const std::size_t first = runs_.size();
        sessions_[i].consumer().peek_runs(runs_);
        for (const std::span<const Event> run : std::span(runs_).subspan(first))
            if (std::ranges::any_of(run, [](const Event& ev) { return ev.type == SELF_E_EV_VM_DESTROY; }))
                vms_[i].ended = true;
    }
    aggregator_.push_runs(runs_);
    for (DeviceSession& session : sessions_)
        session.consumer().release_peeked();
    aggregator_.release();
}

bool Watcher::pump(std::chrono::milliseconds timeout)
{
    std::vector<pollfd> fds;
    for (std::size_t i = 0; i < sessions_.size(); ++i)
        if (!vms_[i].ended)
            fds.push_back({sessions_[i].fd(), POLLIN, 0});
    if (fds.empty())
        return false;
    if (::poll(fds.data(), fds.size(), static_cast<int>(timeout.count())) < 0 && errno != EINTR)
        throw system_error("poll /dev/self-e", errno);
    // POLLHUP: a VM ended; its last events are in the ring, read below.
    drain();
    for (const WatchedVm& vm : vms_)
        if (!vm.ended)
            return true;
    return false;
}

void Watcher::settle()
{
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    aggregator_.release_by_clock(static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u +
                                 static_cast<std::uint64_t>(now.tv_nsec));
}

void Watcher::finish()
{
    drain();
    aggregator_.flush();
}

std::uint64_t Watcher::dropped() const
{
    std::uint64_t total = 0;
    for (const DeviceSession& s : sessions_)
        total += s.stats().dropped;
    return total;
}

}  // namespace self_e
