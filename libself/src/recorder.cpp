#include "self_e/recorder.hpp"

#include <poll.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "self_e/error.hpp"
#include "self_e/page_scanner.hpp"
#include "self_e/qemu.hpp"
#include "self_e/vm_pages.hpp"
#include "self_e/watcher.hpp"

namespace self_e {

namespace {

std::uint64_t clock_ns(clockid_t clock) noexcept
{
    timespec ts{};
    ::clock_gettime(clock, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace

std::uint64_t monotonic_ns() noexcept { return clock_ns(CLOCK_MONOTONIC); }
std::uint64_t realtime_ns() noexcept { return clock_ns(CLOCK_REALTIME); }

Recorder::Recorder(const std::string& path, const std::vector<AttachTarget>& targets,
                   RecorderOptions options, std::unique_ptr<NotificationListener> listener, ProcFs proc)
    : options_(options), proc_(std::move(proc)), listener_(std::move(listener))
{
    RecordHeader header;
    header.start_mono_ns = monotonic_ns();
    header.start_real_ns = realtime_ns();
    header.page_size = static_cast<std::uint32_t>(host_page_size());
    header.event_mask = options_.event_mask;
    header.sample_interval_ms = static_cast<std::uint32_t>(options_.sampling.interval.count());
    header.sample_budget_pages = options_.sampling.budget_pages;
    utsname uts{};
    if (::uname(&uts) == 0) {
        header.kernel_release = uts.release;
        header.hostname = uts.nodename;
    }
    for (const AttachTarget& target : targets)
        header.vms.push_back(attach(target));
    writer_ = std::make_unique<RecordWriter>(path, header);
    // Everything the rings hold so far happened before the snapshots.
    drain();
    for (std::size_t i = 0; i < vms_.size(); ++i)
        seed_unless_gone(header.vms[i]);
    seeded_ns_ = monotonic_ns();
    writer_->flush();
}

RecordedVm Recorder::attach(const AttachTarget& target)
{
    // Kept only once everything about it is known: sessions_ and vms_ stay
    // parallel even when a VM ends while we attach.
    DeviceSession session(target, AttachOptions{options_.event_mask, options_.ring_bytes, options_.watermark});
    if (options_.sampling.interval.count())
        session.set_sampling(options_.sampling);
    const VmInfo info = session.vm_info();
    RecordedVm vm;
    vm.vm_id = static_cast<std::uint16_t>(info.vm_id);
    vm.pid = info.pid;
    vm.nr_vcpus = info.nr_vcpus;
    vm.attached_ns = monotonic_ns();
    vm.memslots = info.memslots;
    try {
        vm.comm = proc_.comm(info.pid);
        const std::vector<std::string> argv = proc_.cmdline(info.pid);
        if (is_qemu_command(argv))
            vm.name = qemu_guest_name(argv).value_or("");
    } catch (const Error&) {
        // The process is going; its events still say so.
    }
    sessions_.push_back(std::move(session));
    vms_.push_back({vm.vm_id, vm.pid, false});
    return vm;
}

void Recorder::seed(const RecordedVm& vm)
{
    SeedStart start;
    start.vm_id = vm.vm_id;
    start.pid = static_cast<std::uint32_t>(vm.pid);
    start.slots = guest_ram_slots(vm.memslots);
    PageScanner scanner(proc_, vm.pid);
    start.ksm_flag_trusted = scanner.ksm_flag_trusted();
    writer_->write_seed(start);
    std::vector<PageInfo> seen;
    for (const GuestMemslot& slot : start.slots) {
        if (!slot.hva)
            continue;
        const AddressRange range{slot.hva, slot.hva + slot.npages * kGuestPageBytes};
        scanner.scan(range, [&](std::uint64_t first, std::span<const PageInfo> pages) {
            seen.resize(pages.size());
            for (std::size_t i = 0; i < pages.size(); ++i)
                seen[i] = seed_view(pages[i], start.ksm_flag_trusted);
            writer_->write_pages(vm.vm_id, first, seen);
        });
    }
}

void Recorder::drain()
{
    batch_.clear();
    std::vector<std::size_t> slots_changed;
    for (std::size_t i = 0; i < sessions_.size(); ++i) {
        bool memslot = false;
        sessions_[i].consumer().drain([&](const Event& ev, std::uint32_t) {
            if (ev.type == SELF_E_EV_VM_DESTROY)
                vms_[i].ended = true;
            memslot |= ev.type == SELF_E_EV_MEMSLOT;
            batch_.push_back(ev);
        });
        if (memslot)
            slots_changed.push_back(i);
    }
    // The memslots after the change, for the hvas `trace --from` prints.
    for (std::size_t i : slots_changed) {
        std::vector<Memslot> slots;
        try {
            slots = sessions_[i].vm_info().memslots;
        } catch (const Error&) {
            // The VM has ended: no memslots, as the live trace sees it.
        }
        writer_->write_memslots(vms_[i].vm_id, slots);
    }
    if (!batch_.empty())
        writer_->write_events(batch_);
}

void Recorder::follow_new_vms()
{
    for (const Notification& n : listener_->receive(std::chrono::milliseconds(0))) {
        const auto* created = std::get_if<VmCreated>(&n);
        if (!created)
            continue;
        const bool known = std::any_of(vms_.begin(), vms_.end(),
                                       [&](const RecordedVmState& v) { return v.vm_id == created->vm_id; });
        if (known)
            continue;
        RecordedVm vm;
        try {
            vm = attach(AttachTarget::vm(created->vm_id));
        } catch (const Error& e) {
            if (e.kind() == ErrorKind::no_such_process)
                continue;  // gone already
            throw;
        }
        writer_->write_vm(vm);
        drain();
        seed_unless_gone(vm);
    }
}

// A VM's process may end while its memory is read (a short VM, attached just
// before it exits): its pagemap then ends early or the process is gone. The
// seed stops where it got, and the VM's end follows in its ring.
void Recorder::seed_unless_gone(const RecordedVm& vm)
{
    try {
        seed(vm);
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::no_such_process && e.kind() != ErrorKind::invalid_argument)
            throw;
        bool gone = false;
        try {
            gone = proc_.maps(vm.pid).empty();  // no address space: exiting or a zombie
        } catch (const Error& again) {
            gone = again.kind() == ErrorKind::no_such_process || again.sys_errno() == ENOENT ||
                   again.sys_errno() == ESRCH;
        }
        if (!gone)
            throw;
    }
}

bool Recorder::pump(std::chrono::milliseconds timeout)
{
    std::vector<pollfd> fds;
    for (std::size_t i = 0; i < sessions_.size(); ++i)
        if (!vms_[i].ended)
            fds.push_back({sessions_[i].fd(), POLLIN, 0});
    if (listener_)
        fds.push_back({listener_->fd(), POLLIN, 0});
    if (fds.empty())
        return false;
    if (::poll(fds.data(), fds.size(), static_cast<int>(timeout.count())) < 0 && errno != EINTR)
        throw system_error("poll /dev/self-e", errno);
    drain();
    if (listener_ && (fds.back().revents & POLLIN))
        follow_new_vms();
    writer_->flush();
    if (listener_)
        return true;
    return std::any_of(vms_.begin(), vms_.end(), [](const RecordedVmState& v) { return !v.ended; });
}

void Recorder::finish()
{
    drain();
    RecordEnd end;
    end.seeded_mono_ns = seeded_ns_;
    end.end_mono_ns = monotonic_ns();
    end.end_real_ns = realtime_ns();
    for (std::size_t i = 0; i < sessions_.size(); ++i) {
        VmEndStats s;
        s.vm_id = vms_[i].vm_id;
        s.ended = vms_[i].ended;
        try {
            const ReaderStats stats = sessions_[i].stats();
            s.produced = stats.produced;
            s.dropped = stats.dropped;
        } catch (const Error&) {
        }
        dropped_ += s.dropped;
        end.vms.push_back(s);
    }
    writer_->finish(end);
}

}  // namespace self_e
