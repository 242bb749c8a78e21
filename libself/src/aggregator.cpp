#include "self_e/aggregator.hpp"

#include <algorithm>
#include <bit>
#include <optional>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "self_e/error.hpp"

namespace self_e {

namespace {

constexpr unsigned kAddressSpaceShift = 15;
constexpr std::uint16_t kSlotIdMask = (1u << kAddressSpaceShift) - 1;
constexpr std::size_t kVmIds = 1u << 16;

bool never_mapped_now(PageState s) noexcept
{
    return s == PageState::untouched || s == PageState::unmapped;
}

// The state of a page a fault just mapped: private when it was never
// mapped now, else unchanged. Computed without a branch (see on_fault()).
PageState seen_mapped(PageState s) noexcept
{
    // As a mask: written `never_mapped_now(s) ? private_page : s`, GCC 12
    // makes it a branch again.
    const auto v = static_cast<unsigned>(s);
    const unsigned to_private = 0u - unsigned{never_mapped_now(s)};
    return static_cast<PageState>(v ^ ((v ^ unsigned(PageState::private_page)) & to_private));
}

// Bit i set when words[i], of 64, is in a state never_mapped_now() takes.
// An access record names 8 pages on average, nearly all mapped already:
// one test of the record against this mask replaces a test a page, which
// mispredicted while guests boot (callgrind: half a miss an event).
std::uint64_t never_mapped_mask(const PageWord* words) noexcept
{
#if defined(__SSE2__)
    static_assert(unsigned(PageState::untouched) == 0 && page_word::kStateMask < 0x100);
    const __m128i state_mask = _mm_set1_epi16(page_word::kStateMask);
    const __m128i unmapped = _mm_set1_epi8(static_cast<char>(PageState::unmapped));
    std::uint64_t mask = 0;
    for (unsigned i = 0; i < 64; i += 16) {
        const auto* v = reinterpret_cast<const __m128i*>(words + i);
        // 16 states, a byte each (they fit: packus saturates nothing).
        const __m128i states = _mm_packus_epi16(_mm_and_si128(_mm_loadu_si128(v), state_mask),
                                                _mm_and_si128(_mm_loadu_si128(v + 1), state_mask));
        const __m128i never = _mm_or_si128(_mm_cmpeq_epi8(states, _mm_setzero_si128()),
                                           _mm_cmpeq_epi8(states, unmapped));
        mask |= std::uint64_t{static_cast<unsigned>(_mm_movemask_epi8(never))} << i;
    }
    return mask;
#else
    std::uint64_t mask = 0;
    for (unsigned i = 0; i < 64; ++i)
        mask |= std::uint64_t{never_mapped_now(page_word::state(words[i]))} << i;
    return mask;
#endif
}

// Set bits in x: without POPCNT in the baseline ISA, std::popcount is a
// library call.
unsigned count_bits(std::uint64_t x) noexcept
{
    x -= (x >> 1) & 0x5555555555555555u;
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    return static_cast<unsigned>((x * 0x0101010101010101u) >> 56);
}

// The word of @gfn, or nullptr (counted) for a gfn outside the VM's slots.
PageWord* word_in_slots(VmPages& vm, std::uint64_t gfn) noexcept
{
    PageWord* w = vm.word(gfn);
    if (!w)
        ++vm.counters.outside_slots;
    return w;
}

}  // namespace

Aggregator::Aggregator(AggregatorOptions options)
    : options_(options), reorder_(options.reorder_window_ns, options.max_pending), vms_(kVmIds), destroyed_(kVmIds)
{
}

// ---- feeding -------------------------------------------------------------

void Aggregator::note_late(const Event& ev) noexcept
{
    if (VmPages* v = find_vm(ev.vm_id)) {
        ++v->counters.late_events;
        make_inexact(*v);
    }
}

void Aggregator::after_push(const Event& ev, unsigned pushed)
{
    if (pushed & ReorderBuffer::kLate)
        note_late(ev);
    if (pushed & ReorderBuffer::kBatchFull)
        release();
}

void Aggregator::release()
{
    reorder_.release_ready([this](std::span<const Event> events) { apply(events); });
}

void Aggregator::release_by_clock(std::uint64_t now_ns)
{
    const std::uint64_t window = options_.reorder_window_ns;
    if (now_ns <= window)
        return;
    reorder_.release_until([this](std::span<const Event> events) { apply(events); }, now_ns - window);
}

void Aggregator::flush()
{
    reorder_.release_all([this](std::span<const Event> events) { apply(events); });
}

void Aggregator::apply(std::span<const Event> events)
{
    // Memory bound: a page event misses the cache on its page word, a KSM
    // event or a fault on a shared page also on its shared-page record.
    // Looking ahead overlaps the misses of several events. Where a page's
    // record is follows from its gfn and its region's chunk number (small,
    // in cache), without waiting for the word; a fault on a page that turns
    // out not to be shared wastes that load.
    constexpr std::size_t kAhead = 16;
    const std::size_t n = events.size();
    // The first few have had nobody to load them ahead: load them at once,
    // so that their misses overlap instead of coming one after another (a
    // consumer applies a batch per drain, hundreds of events).
    const std::size_t ahead = std::min(n, kAhead);
    for (std::size_t i = 0; i < ahead; ++i)
        prefetch(events[i]);
    // Two loops: the last kAhead have nothing ahead to load.
    std::size_t i = 0;
    for (; i < n - ahead; ++i) {
        prefetch(events[i + kAhead]);
        apply_one(events[i]);
    }
    for (; i < n; ++i)
        apply_one(events[i]);
}

void Aggregator::prefetch(const Event& ev) const noexcept
{
    // Every event whose VM is known, not only those that touch one page:
    // the others are a few in a million, and their gfn (a range's start, or
    // nothing) costs at worst a line loaded for nothing. Without a test of
    // the type the apply loop takes 17 instructions an event fewer
    // (callgrind) and 7 % less time in a probe (in ts order, 60 s stream;
    // 1-2 % in aggregator_bench, about its noise).
    if (const VmPages* vm = vms_[ev.vm_id].get())
        vm->prefetch_page(ev.gfn, ev.type != SELF_E_EV_ACCESS);  // an ACCESS has no record to load
}

void Aggregator::apply(const Event& ev)
{
    apply_one(ev);
}

void Aggregator::apply_one(const Event& ev)
{
    // One switch, page events first: this runs for every event.
    VmPages* vm = nullptr;
    switch (ev.type) {
    case SELF_E_EV_FAULT:
        if ((vm = vm_for_event(ev)))
            on_fault(*vm, ev);
        return;
    case SELF_E_EV_ACCESS:
        if ((vm = vm_for_event(ev))) {
            on_access(*vm, ev);
            vm->working_set.on_access(ev);
        }
        return;
    case SELF_E_EV_KSM_MERGE:
    case SELF_E_EV_KSM_ZERO:
        if ((vm = vm_for_event(ev)))
            on_merge(*vm, ev, ev.type == SELF_E_EV_KSM_ZERO);
        return;
    case SELF_E_EV_COW_BREAK:
    case SELF_E_EV_UNMERGE:
        if ((vm = vm_for_event(ev)))
            on_leave(*vm, ev);
        return;
    case SELF_E_EV_SAMPLE:
        if ((vm = vm_for_event(ev)))
            vm->working_set.on_sample(ev);
        return;
    case SELF_E_EV_UNMAP:
        if ((vm = vm_for_event(ev)))
            on_unmap(*vm, ev);
        return;
    case SELF_E_EV_KSM_MIGRATE:
        if ((vm = vm_for_event(ev)))
            on_migrate(*vm, ev);
        return;
    case SELF_E_EV_KSM_FREE:
        if ((vm = vm_for_event(ev)))
            on_ksm_free(*vm, ev);
        return;
    case SELF_E_EV_MEMSLOT:
        if ((vm = vm_for_event(ev)))
            on_memslot(*vm, ev);
        return;
    case SELF_E_EV_VM_CREATE:
        if (ev.vm_id == 0)
            return;
        if (VmPages* v = find_vm(ev.vm_id))
            v->set_pid(static_cast<std::uint32_t>(ev.arg));
        else
            create_vm(ev.vm_id, static_cast<std::uint32_t>(ev.arg));
        return;
    case SELF_E_EV_VM_DESTROY: destroy_vm(ev.vm_id); return;
    case SELF_E_EV_LOST: on_lost(ev); return;
    default:
        // A type this build does not know: nothing to change, but the VM
        // it names is known from now on, as for any other event.
        vm_for_event(ev);
        return;
    }
}

// ---- VMs -----------------------------------------------------------------

VmPages* Aggregator::vm_for_new_event(const Event& ev)
{
    // VM ids start at 1; a destroyed VM's id gives nothing until reused.
    if (ev.vm_id == 0 || destroyed_[ev.vm_id])
        return nullptr;
    // A VM we attached to after its VM_CREATE (or whose VM_CREATE was lost).
    return &create_vm(ev.vm_id, 0);
}

VmPages& Aggregator::create_vm(std::uint16_t vm_id, std::uint32_t pid)
{
    vms_[vm_id] = std::make_unique<VmPages>(vm_id, pid);
    vm_end_ = std::max(vm_end_, std::size_t{vm_id} + 1);
    destroyed_[vm_id] = false;
    return *vms_[vm_id];
}

void Aggregator::destroy_vm(std::uint16_t vm_id)
{
    destroyed_[vm_id] = true;
    vms_[vm_id].reset();
}

void Aggregator::make_inexact(VmPages& vm) noexcept
{
    vm.exact = false;
}

std::vector<std::uint16_t> Aggregator::vm_ids() const
{
    std::vector<std::uint16_t> ids;
    for (std::size_t i = 0; i < vm_end_; ++i)
        if (vms_[i])
            ids.push_back(static_cast<std::uint16_t>(i));
    return ids;
}

KsmPages Aggregator::ksm_pages() const
{
    KsmPages pages;
    for (const auto& v : vm_slots()) {
        if (!v)
            continue;
        v->for_each_shared([&](std::uint64_t, const SharedPage& page) {
            if (!page.zero)
                pages.join(page.pfn, v->vm_id());
        });
    }
    return pages;
}

std::size_t Aggregator::bytes() const noexcept
{
    std::size_t b = reorder_.pending() * sizeof(Event) + vms_.size() * sizeof(vms_[0]) + destroyed_.size() / 8;
    for (const auto& v : vm_slots())
        if (v)
            b += v->bytes();
    return b;
}

// ---- seeding -------------------------------------------------------------

void Aggregator::seed_vm(std::uint16_t vm_id, std::uint32_t pid, std::span<const GuestMemslot> slots)
{
    if (vm_id == 0)
        throw Error(ErrorKind::invalid_argument, "seed: vm id 0 is no VM (ids start at 1)");
    flush();
    auto fresh = std::make_unique<VmPages>(vm_id, pid);
    for (const GuestMemslot& slot : slots)
        fresh->add_slot(slot);  // throws before anything changed
    if (const VmPages* old = find_vm(vm_id))
        fresh->counters = old->counters;
    vms_[vm_id] = std::move(fresh);
    vm_end_ = std::max(vm_end_, std::size_t{vm_id} + 1);
    destroyed_[vm_id] = false;
}

void Aggregator::seed_pages(std::uint16_t vm_id, std::uint64_t first_hva, std::span<const PageInfo> pages)
{
    VmPages* vm = find_vm(vm_id);
    if (!vm)
        throw Error(ErrorKind::invalid_argument,
                    "seed: vm " + std::to_string(vm_id) + " has no table: seed_vm() comes first");
    const std::uint64_t end_hva = first_hva + pages.size() * kGuestPageBytes;
    for (const GuestMemslot& slot : vm->slots()) {
        if (slot.hva == 0)
            continue;
        const std::uint64_t lo = std::max(first_hva, slot.hva);
        const std::uint64_t hi = std::min(end_hva, slot.hva + slot.npages * kGuestPageBytes);
        for (std::uint64_t hva = lo; hva < hi; hva += kGuestPageBytes) {
            const std::uint64_t gfn = slot.base_gfn + (hva - slot.hva) / kGuestPageBytes;
            const PageInfo& info = pages[(hva - first_hva) / kGuestPageBytes];
            PageWord& w = *vm->word(gfn);
            if (is_shared(page_word::state(w)))
                vm->leave_shared(gfn);
            switch (info.page_class) {
            case PageClass::not_present: vm->set_state(w, PageState::untouched); break;
            case PageClass::swapped: vm->set_state(w, PageState::unmapped); break;
            case PageClass::zero: vm->join_shared(gfn, w, {.pfn = info.pfn, .zero = 1}); break;
            case PageClass::ksm: vm->join_shared(gfn, w, {.pfn = info.pfn}); break;
            case PageClass::private_page:
            case PageClass::shared: vm->set_state(w, PageState::private_page); break;
            }
        }
    }
}

// ---- events --------------------------------------------------------------

void Aggregator::on_memslot(VmPages& vm, const Event& ev)
{
    if ((ev.vcpu >> kAddressSpaceShift) != 0)
        return;  // SMM and other address spaces are not guest RAM
    const auto id = static_cast<std::uint16_t>(ev.vcpu & kSlotIdMask);
    try {
        switch (ev.flags) {
        case SELF_E_MEMSLOT_CREATE: {
            const GuestMemslot* old = vm.find_slot(id);
            if (old && old->base_gfn == ev.gfn && old->npages == ev.arg)
                return;  // already known (from the seed)
            if (old)
                vm.remove_slot(id);
            vm.add_slot({id, ev.gfn, ev.arg, 0});
            return;
        }
        case SELF_E_MEMSLOT_DELETE:
            vm.remove_slot(id);
            return;
        case SELF_E_MEMSLOT_MOVE: vm.move_slot(id, ev.gfn); return;
        default: return;  // FLAGS: dirty logging and such, the pages stay
        }
    } catch (const Error&) {
        // A change that does not fit what we know: we missed something.
        ++vm.counters.rejected;
        make_inexact(vm);
    }
}

void Aggregator::on_lost(const Event& ev)
{
    if (ev.vm_id == 0) {  // a ring of every VM: any of them may have lost events
        for (const auto& v : vm_slots()) {
            if (v) {
                v->counters.lost_events += ev.arg;
                make_inexact(*v);
            }
        }
        return;
    }
    if (VmPages* vm = vm_for_event(ev)) {
        vm->counters.lost_events += ev.arg;
        make_inexact(*vm);
    }
}

void Aggregator::on_access_bit(VmPages& vm, std::uint64_t gfn)
{
    PageWord* w = word_in_slots(vm, gfn);
    if (!w)
        return;
    ++vm.counters.accessed;
    if (never_mapped_now(page_word::state(*w)))
        vm.set_state(*w, PageState::private_page);
}

void Aggregator::on_fault(VmPages& vm, const Event& ev)
{
    if (ev.flags & SELF_E_F_SMM)
        return;
    PageWord* w = word_in_slots(vm, ev.gfn);
    if (!w)
        return;
    const unsigned level = (ev.flags & SELF_E_F_LEVEL_MASK) >> SELF_E_F_LEVEL_SHIFT;
    ++vm.counters.faults;
    if (level < vm.counters.faults_by_level.size())
        ++vm.counters.faults_by_level[level];
    *w = page_word::with_level(*w, level);
    const PageState state = page_word::state(*w);
    // Whether a faulting page was mapped before follows no pattern a
    // branch predictor can learn (faults of several vCPUs and VMs come
    // interleaved): the new state is a select, and set_state() updates the
    // counts for nothing when it is the old one (README: measured).
    vm.set_state(*w, seen_mapped(state));
    if (is_shared(state) && level == 0) [[unlikely]] {
        // A 4K mapping of another frame than the shared one: the page has
        // left it (a zero page found at seed that was only read, or a leave
        // we did not see). Huge mappings name a frame of their own, not
        // this gfn's: KSM pages are never part of one.
        if (vm.shared_record(ev.gfn).pfn != ev.arg) {
            vm.leave_shared(ev.gfn);
            vm.set_state(*w, PageState::private_page);
            ++vm.counters.fault_leaves;
        }
    }
}

void Aggregator::on_access(VmPages& vm, const Event& ev)
{
    std::uint64_t bits = ev.arg;
    if (bits == 0)
        return;
    // The 64 pages from gfn in one slot (all but at a slot's end): the
    // pages never mapped now, found at once, become private.
    if (PageWord* words = vm.words(ev.gfn, 64)) [[likely]] {
        for (std::uint64_t first = bits & never_mapped_mask(words); first; first &= first - 1)
            vm.set_state(words[std::countr_zero(first)], PageState::private_page);
        vm.counters.accessed += count_bits(bits);
        return;
    }
    // At a slot's end, or outside the slots: page by page (rare).
    for (; bits; bits &= bits - 1)
        on_access_bit(vm, ev.gfn + static_cast<unsigned>(std::countr_zero(bits)));
}

void Aggregator::on_merge(VmPages& vm, const Event& ev, bool zero)
{
    PageWord* w = word_in_slots(vm, ev.gfn);
    if (!w)
        return;
    // Only shared pages have an entry: most merges need no lookup. One on
    // another page is overwritten by join_shared() below.
    if (is_shared(page_word::state(*w))) {
        const SharedPage& cur = vm.shared_record(ev.gfn);
        if (cur.pfn == ev.arg && cur.zero == zero) {
            ++vm.counters.stale;  // the same merge again
            return;
        }
    }
    vm.join_shared(ev.gfn, *w, {.pfn = ev.arg, .zero = zero, .merge_time_known = 1, .merged_ts = ev.ts_ns});
    // Counted without a branch: zero-page and KSM merges come interleaved.
    vm.counters.zero_merges += zero;
    vm.counters.merges += !zero;
    vm.counters.ksm_new += !zero & ((ev.flags & SELF_E_F_KSM_NEW) != 0);
}

void Aggregator::on_leave(VmPages& vm, const Event& ev)
{
    const bool cow = ev.type == SELF_E_EV_COW_BREAK;
    PageWord* w = word_in_slots(vm, ev.gfn);
    if (!w)
        return;
    const PageState state = page_word::state(*w);
    const SharedPage* cur = is_shared(state) ? &vm.shared_record(ev.gfn) : nullptr;
    if (!cur && !never_mapped_now(state)) {
        ++vm.counters.stale;  // private already: a duplicate leave
        return;
    }
    if (cur && cur->pfn != ev.arg) {
        ++vm.counters.stale;  // it left that page before and shares another now
        return;
    }
    // Shared, or in a state that says we missed its merge (no duration then).
    std::optional<SharedPage> left;
    if (cur) {
        left = *cur;
        vm.leave_shared(ev.gfn);
    }
    if (!cow) {
        ++vm.counters.unmerges;
        vm.set_state(*w, PageState::private_page);
        return;
    }
    ++vm.counters.cow_breaks;
    vm.set_state(*w, PageState::cow_broken);
    *w = page_word::with_bucket(*w, 0);
    if (!left || !left->merge_time_known)
        return;
    const std::uint64_t shared_ns = ev.ts_ns > left->merged_ts ? ev.ts_ns - left->merged_ts : 0;
    const unsigned bucket = page_word::duration_bucket(shared_ns);
    ++vm.counters.timed_cow_breaks;
    vm.counters.shared_ns_total += shared_ns;
    ++vm.counters.shared_duration_buckets[bucket];
    *w = page_word::with_bucket(*w, bucket);
    if (shared_ns < options_.volatile_window_ns) {
        ++vm.counters.volatile_breaks;
        vm.mark_volatile(*w);
    }
}

void Aggregator::on_unmap(VmPages& vm, const Event& ev)
{
    if (ev.flags & SELF_E_F_SMM)
        return;  // the same host pages as address space 0's: counted there
    for (std::uint64_t gfn = ev.gfn; gfn - ev.gfn < ev.arg; ++gfn) {
        PageWord* w = word_in_slots(vm, gfn);
        if (!w)
            continue;
        const PageState state = page_word::state(*w);
        if (state == PageState::untouched || state == PageState::unmapped)
            continue;  // no host page to lose
        if (is_shared(state))
            vm.leave_shared(gfn);
        ++vm.counters.unmaps;
        vm.set_state(*w, PageState::unmapped);
        *w = page_word::with_bucket(*w, 0);
    }
}

void Aggregator::on_migrate(VmPages& vm, const Event& ev)
{
    const PageWord* w = word_in_slots(vm, ev.gfn);
    if (!w)
        return;
    SharedPage* cur = page_word::state(*w) == PageState::ksm ? &vm.shared_record(ev.gfn) : nullptr;
    if (!cur || cur->pfn == ev.arg) {
        ++vm.counters.stale;  // not on a KSM page, or moved already
        return;
    }
    cur->pfn = ev.arg;
    ++vm.counters.migrates;
}

void Aggregator::on_ksm_free(VmPages& vm, const Event& ev)
{
    ++ksm_frees_;
    ++vm.counters.ksm_frees;
    if (ev.flags & SELF_E_F_SMM)
        return;
    PageWord* w = word_in_slots(vm, ev.gfn);
    if (!w)
        return;
    if (page_word::state(*w) != PageState::ksm)
        return;  // it left the page before, as it should
    if (vm.shared_record(ev.gfn).pfn != ev.arg)
        return;  // it left that page and shares another now
    // The page is gone, yet we saw no leave: gfn has some private page now.
    vm.leave_shared(ev.gfn);
    vm.set_state(*w, PageState::private_page);
    ++vm.counters.free_leaves;
    make_inexact(vm);
}

}  // namespace self_e
