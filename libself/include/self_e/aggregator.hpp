// The aggregator: the state of every page of the watched VMs, seeded from a
// snapshot and advanced by the module's events, and the KSM pages they map.
// aggregate_report.hpp turns it into the numbers `self-e report` shows.
//
// Transitions (PageState; "shared" is ksm or zero; an event whose gfn is in
// no guest-RAM slot only counts in outside_slots):
//
//   FAULT        untouched/unmapped -> private. On a shared page, a 4K
//                fault mapping the shared frame again (a read) changes
//                nothing; one mapping another frame means the page left it
//                (a leave we did not see, or a zero page found at seed that
//                was a plain read of untouched memory): -> private, counted
//                in fault_leaves. Sharing otherwise changes only with the
//                KSM events below. Faults with SELF_E_F_SMM are not guest
//                RAM and are ignored.
//   ACCESS       untouched/unmapped -> private for every page whose bit is set.
//   KSM_MERGE    -> ksm on page arg, merged now. Already on arg: nothing
//                (a duplicate). On another KSM page or the zero page: it
//                leaves that one first (its leave was lost or is late).
//   KSM_ZERO     -> zero, the same way.
//   COW_BREAK    shared on page arg -> cow_broken, with how long it was
//                shared; untouched/unmapped -> cow_broken (we missed the
//                merge: no duration). Otherwise, and for a page shared on
//                another page than arg, nothing: a duplicate or stale leave.
//   UNMERGE      as COW_BREAK, but -> private and counted as an unmerge.
//   UNMAP        for each page of [gfn, gfn + arg) that had a host page:
//                -> unmapped, leaving any page it shared. Untouched pages
//                stay untouched (there was nothing to lose); SMM ranges are
//                the same host pages as address space 0's and are skipped.
//   KSM_MIGRATE  a ksm page moves to KSM page arg, keeping its merge time.
//                The event names one gfn, so it moves that gfn only; the
//                module sends one per gfn mapping the page, as for merges.
//   KSM_FREE     KSM dropped KSM page arg with gfn still on its books:
//                the page was freed, so gfn maps it no more. Normally gfn
//                left it already (its COW_BREAK, UNMERGE or UNMAP came
//                first): nothing changes. Still shared on arg here, gfn
//                missed its leave: -> private, counted in free_leaves, and
//                the VM inexact; the KSM page's record goes with its last
//                such mapper. Never keyed by pfn alone: a freed KSM page's
//                frame may already be a new KSM page that other gfns
//                rightly map when KSM drops the old one. SMM gfns are
//                skipped (address space 0's event says the same).
//   LOST         the VM (every VM when vm_id is 0 or unknown) is inexact
//                until reseeded.
//   MEMSLOT      address space 0 only: create adds untouched pages, delete
//                drops a slot's pages (leaving their KSM pages), move
//                rebases them with their states.
//   VM_DESTROY   the VM goes, with its pages from every KSM page; later
//                events for its id are dropped until a VM_CREATE reuses it.
//
// Order: events go through a ReorderBuffer (reorder_buffer.hpp) and are
// applied in ts order, not as drained. Transitions that depend on order
// (merge then COW break vs. COW break then merge of the same page) cannot
// be made order-insensitive without a timestamp per page, which would cost
// 8 bytes per page instead of 2; a reorder window costs only the events of
// the window. Leaves check the page they leave, so a late or duplicate
// leave cannot undo a newer merge. An event that still arrives too late
// (older than one applied already) is applied and makes its VM inexact.
//
// KSM pages: which VMs map each KSM page is the inverse of the VMs'
// shared-page tables, so it is built from them when a report asks
// (ksm_pages()), not kept current. Keeping it current cost every KSM event
// a second hash map and its cache misses (KSM events took 1.7x as long,
// aggregator_bench); reports come a few times a second at most, events by
// the million.
//
// One thread owns an Aggregator (the consumer's): nothing in it is locked.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "self_e/event.hpp"
#include "self_e/ksm_pages.hpp"
#include "self_e/page_class.hpp"
#include "self_e/reorder_buffer.hpp"
#include "self_e/vm_pages.hpp"

namespace self_e {

// gfns and pfns are 4 KiB frames (uapi/self_e.h).
inline constexpr std::uint64_t kGuestPageBytes = 4096;

struct AggregatorOptions {
    // How long after a newer event an event of another lane may arrive and
    // still be applied in order. A consumer that drains every 10 ms needs
    // more than 10 ms.
    std::uint64_t reorder_window_ns = 50'000'000;
    // Events held at most (32 bytes each) before the oldest are applied early.
    std::size_t max_pending = std::size_t{1} << 20;
    // A page COW-broken less than this after its merge is volatile.
    std::uint64_t volatile_window_ns = 1'000'000'000;
};

class Aggregator {
public:
    explicit Aggregator(AggregatorOptions options = {});

    // An event as drained, lane after lane: buffered, applied in ts order
    // once older than the newest minus the reorder window. Inline: it runs
    // for every event a consumer drains.
    void push(const Event& ev)
    {
        if (const unsigned pushed = reorder_.push(ev)) [[unlikely]]
            after_push(ev, pushed);
    }
    // A drain's events at once, each run a lane's in ts order, read where
    // they lie (RingConsumer::peek_runs()): what push() would do with them
    // one by one, less the copy. The runs may go away on return.
    void push_runs(std::span<const std::span<const Event>> runs)
    {
        reorder_.push_runs(runs, [this](const Event& ev) { note_late(ev); });
    }
    // Applies what push() and push_runs() hold that is old enough: call after each drain.
    // push() also calls it every ReorderBuffer::kBatch events to bound the work.
    void release();
    // Applies what is held that is older than now_ns minus the reorder
    // window, now_ns read from the events' clock (CLOCK_MONOTONIC). For a
    // live consumer whose streams went quiet: release() moves the window by
    // the newest event only, so it keeps a quiet VM's last events.
    void release_by_clock(std::uint64_t now_ns);
    // Applies everything held, in ts order: at the end of a stream.
    void flush();
    // Applies one event now, without reordering.
    void apply(const Event& ev);
    // Applies events now, in the order given, loading the page words and
    // map slots of the next few ahead of time (the work is cache misses).
    void apply(std::span<const Event> events);

    // Seeding from a snapshot, the VM's pages mapped from hva to gfn by its
    // memslots: seed_vm() (re)starts the VM with these guest-RAM slots
    // (address space 0: guest_ram_slots() picks them from the module's
    // list), every page untouched, its KSM pages left, and exact; event
    // counters are kept. Then seed_pages() for each run of scanned pages:
    // pages[i] is the page at first_hva + i * 4096. Pages outside every slot
    // are skipped; a slot with hva 0 takes none. Classes map to states:
    // not_present -> untouched, swapped -> unmapped, zero -> zero, ksm ->
    // ksm on page pfn, private and shared (non-KSM) -> private. Merge times
    // of pages shared at seed are unknown: their COW breaks are not timed.
    // Held events are applied first (flush()), so the seed comes after them.
    // Throws self_e::Error (invalid_argument) for overlapping slots.
    void seed_vm(std::uint16_t vm_id, std::uint32_t pid, std::span<const GuestMemslot> slots);
    void seed_pages(std::uint16_t vm_id, std::uint64_t first_hva, std::span<const PageInfo> pages);

    // The VM, or nullptr when it is not (or no longer) watched.
    const VmPages* vm(std::uint16_t vm_id) const noexcept { return vms_[vm_id].get(); }
    std::vector<std::uint16_t> vm_ids() const;
    // The KSM pages the VMs map now (the zero page is not one), built from
    // the shared-page tables: about 40 ns a shared page. A value: keep it
    // while using what its find() returns.
    KsmPages ksm_pages() const;
    const AggregatorOptions& options() const noexcept { return options_; }

    std::size_t pending() const noexcept { return reorder_.pending(); }
    std::uint64_t late_events() const noexcept { return reorder_.late(); }
    std::uint64_t ksm_frees() const noexcept { return ksm_frees_; }
    // Memory held: page tables, shared-page tables, held events, and the
    // table of VMs by id (520 KiB however many VMs there are).
    std::size_t bytes() const noexcept;

private:
    VmPages* find_vm(std::uint16_t vm_id) noexcept { return vms_[vm_id].get(); }
    // The ids that may have a table, for loops over the VMs.
    std::span<const std::unique_ptr<VmPages>> vm_slots() const noexcept
    {
        return std::span(vms_).first(vm_end_);
    }
    // The event's VM, made when it is new; nullptr when the event is dropped.
    VmPages* vm_for_event(const Event& ev)
    {
        if (VmPages* vm = find_vm(ev.vm_id))
            return vm;
        return vm_for_new_event(ev);
    }
    VmPages* vm_for_new_event(const Event& ev);
    // push()'s rare cases: a late event, a full batch.
    void after_push(const Event& ev, unsigned pushed);
    // An event older than one applied already: its VM is inexact.
    void note_late(const Event& ev) noexcept;
    [[gnu::always_inline]] inline void prefetch(const Event& ev) const noexcept;
    VmPages& create_vm(std::uint16_t vm_id, std::uint32_t pid);
    void destroy_vm(std::uint16_t vm_id);
    void make_inexact(VmPages& vm) noexcept;

    void on_memslot(VmPages& vm, const Event& ev);
    void on_lost(const Event& ev);
    void on_access_bit(VmPages& vm, std::uint64_t gfn);
    // The event dispatch and the handlers of nearly every event, inlined
    // into the apply loop: calls cost them 20 instructions an event, a
    // tenth of the work (callgrind).
    [[gnu::always_inline]] inline void apply_one(const Event& ev);
    [[gnu::always_inline]] inline void on_fault(VmPages& vm, const Event& ev);
    [[gnu::always_inline]] inline void on_access(VmPages& vm, const Event& ev);
    [[gnu::always_inline]] inline void on_merge(VmPages& vm, const Event& ev, bool zero);
    [[gnu::always_inline]] inline void on_leave(VmPages& vm, const Event& ev);
    void on_unmap(VmPages& vm, const Event& ev);
    void on_migrate(VmPages& vm, const Event& ev);
    void on_ksm_free(VmPages& vm, const Event& ev);

    AggregatorOptions options_;
    ReorderBuffer reorder_;
    // By VM id, one for every id: any u16 indexes it without a bounds
    // check (two per event, 5 % of the work).
    std::vector<std::unique_ptr<VmPages>> vms_;
    std::size_t vm_end_ = 0;                     // past the highest id that had a table
    std::vector<bool> destroyed_;                // by VM id: events now dropped
    std::uint64_t ksm_frees_ = 0;
};

}  // namespace self_e
