// One VM's page-state table: a PageWord per guest page of its guest-RAM
// memslots (address space 0), beside it for the pages that are shared right
// now which KSM page and since when (shared_page_table.hpp), counts by
// state kept as states change, and the VM's event counters.
//
// Memory: 2 bytes per guest page, plus each slot's SharedPageTable for the
// shared pages (0.14 bytes a page, and 4 KiB per 256-page region with a
// shared page: 16 bytes a page where sharing is everywhere).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "self_e/event.hpp"
#include "self_e/huge_page_allocator.hpp"
#include "self_e/memslot.hpp"
#include "self_e/page_state.hpp"
#include "self_e/prefetch.hpp"
#include "self_e/shared_page_table.hpp"
#include "self_e/working_set.hpp"

namespace self_e {

// A guest-RAM memslot: gfns [base_gfn, base_gfn + npages) at host virtual
// addresses from hva (0 when unknown: a MEMSLOT event does not carry it).
struct GuestMemslot {
    std::uint16_t id = 0;  // slot id, without the address space bits
    std::uint64_t base_gfn = 0;
    std::uint64_t npages = 0;
    std::uint64_t hva = 0;

    friend bool operator==(const GuestMemslot&, const GuestMemslot&) = default;
};

// The guest-RAM slots (address space 0) of a VM's memslots (GET_VM, LIST_VMS).
std::vector<GuestMemslot> guest_ram_slots(std::span<const Memslot> slots);

inline constexpr std::size_t kDurationBuckets = page_word::kMaxBucket + 1;

struct VmCounters {
    std::uint64_t faults = 0;
    std::array<std::uint64_t, 3> faults_by_level{};  // 4K, 2M, 1G
    std::uint64_t merges = 0;        // KSM_MERGE that moved a page onto a KSM page
    std::uint64_t ksm_new = 0;       // ... of which made the page the KSM page
    std::uint64_t zero_merges = 0;   // KSM_ZERO that moved a page onto the zero page
    std::uint64_t cow_breaks = 0;    // COW_BREAK that took a page out of sharing
    std::uint64_t unmerges = 0;      // UNMERGE that did
    std::uint64_t unmaps = 0;        // pages an UNMAP took the host page of
    std::uint64_t migrates = 0;      // KSM_MIGRATE that moved a page's KSM page
    // Leaves and migrations for a page not on that page any more: duplicates
    // or events overtaken by newer ones. They change nothing.
    std::uint64_t stale = 0;
    std::uint64_t fault_leaves = 0;  // 4K faults that mapped a shared page to another frame
    std::uint64_t ksm_frees = 0;     // KSM_FREE events: KSM dropped a freed KSM page of a gfn
    std::uint64_t free_leaves = 0;   // ... of which found the gfn still on that page (a missed leave)
    std::uint64_t outside_slots = 0;  // page events for a gfn in no guest-RAM slot
    std::uint64_t accessed = 0;       // pages of the slots seen accessed in ACCESS samples
    // COW breaks of pages whose merge time is known: their total shared time,
    // the log2 histogram (page_word::duration_bucket), and how many were
    // volatile (shared for less than the aggregator's volatile window).
    std::uint64_t timed_cow_breaks = 0;
    std::uint64_t shared_ns_total = 0;
    std::array<std::uint64_t, kDurationBuckets> shared_duration_buckets{};
    std::uint64_t volatile_breaks = 0;
    // Exactness: events the ring dropped (LOST), events applied after newer
    // ones (late), events that could not be applied (a bad memslot change).
    std::uint64_t lost_events = 0;
    std::uint64_t late_events = 0;
    std::uint64_t rejected = 0;
};

class VmPages {
public:
    VmPages(std::uint16_t vm_id, std::uint32_t pid) : vm_id_(vm_id), pid_(pid) {}
    // Not copied or moved (the aggregator holds each by pointer): the
    // lookup cache points into the slots' own words.
    VmPages(const VmPages&) = delete;
    VmPages& operator=(const VmPages&) = delete;

    std::uint16_t vm_id() const noexcept { return vm_id_; }
    std::uint32_t pid() const noexcept { return pid_; }
    void set_pid(std::uint32_t pid) noexcept { pid_ = pid; }

    // Adds a slot, its pages untouched. Throws self_e::Error
    // (invalid_argument, naming the VM and both slots) when it overlaps a
    // slot of the VM or reuses a slot id.
    void add_slot(const GuestMemslot& slot);
    // Removes a slot, with its pages and their shared-page records. Throws
    // self_e::Error when the VM has no such slot.
    void remove_slot(std::uint16_t slot_id);
    // Moves a slot to a new base gfn, its pages, their states and their
    // shared-page records with it.
    // Throws self_e::Error when there is no such slot or it would overlap.
    void move_slot(std::uint16_t slot_id, std::uint64_t new_base_gfn);
    std::vector<GuestMemslot> slots() const;
    const GuestMemslot* find_slot(std::uint16_t slot_id) const noexcept;

    // The word of gfn, or nullptr when no slot holds it.
    PageWord* word(std::uint64_t gfn) noexcept
    {
        if (gfn - cache_.base_gfn < cache_.npages)
            return cache_.words + (gfn - cache_.base_gfn);
        return find_word(gfn);
    }
    // Starts loading gfn's word into the cache and, with shared, where its
    // shared-page record is or would be (when its region has records). One
    // slot lookup for both: the aggregator's look-ahead runs for every event.
    void prefetch_page(std::uint64_t gfn, bool shared) const noexcept
    {
        const std::uint64_t index = gfn - cache_.base_gfn;
        if (index < cache_.npages) [[likely]] {
            prefetch_for_write(cache_.words + index);
            if (shared)
                cache_.shared->prefetch(index);
            return;
        }
        for (const Slot& s : slots_) {
            if (gfn - s.info.base_gfn < s.info.npages) {
                prefetch_for_write(&s.words[gfn - s.info.base_gfn]);
                if (shared)
                    s.shared.prefetch(gfn - s.info.base_gfn);
                return;
            }
        }
    }
    // The words of [gfn, gfn + count) when one slot holds them all, else
    // nullptr.
    PageWord* words(std::uint64_t gfn, std::uint64_t count) noexcept
    {
        PageWord* w = word(gfn);  // on a hit, cache_ holds gfn's slot
        if (!w || gfn - cache_.base_gfn + count > cache_.npages)
            return nullptr;
        return w;
    }
    // The state (untouched outside the slots) and the whole word (0 there).
    PageState state(std::uint64_t gfn) const noexcept { return page_word::state(word_of(gfn)); }
    PageWord word_of(std::uint64_t gfn) const noexcept
    {
        if (gfn - cache_.base_gfn < cache_.npages)
            return cache_.words[gfn - cache_.base_gfn];
        return find_word_of(gfn);
    }

    // Changes the state in w (a word of this table), keeping the counts.
    void set_state(PageWord& w, PageState s) noexcept
    {
        --by_state_[std::size_t(page_word::state(w))];
        ++by_state_[std::size_t(s)];
        w = page_word::with_state(w, s);
    }
    void mark_volatile(PageWord& w) noexcept
    {
        volatile_pages_ += !page_word::is_volatile(w);
        w |= page_word::kVolatile;
    }

    std::uint64_t pages() const noexcept { return total_pages_; }
    std::uint64_t count(PageState s) const noexcept { return by_state_[std::size_t(s)]; }
    // Pages that were shared for less than the volatile window at least once.
    std::uint64_t volatile_pages() const noexcept { return volatile_pages_; }

    // The KSM page (or zero page) gfn shares, and since when; nullptr when
    // gfn is in no slot or shares nothing.
    const SharedPage* shared_page(std::uint64_t gfn) const noexcept
    {
        if (gfn - cache_.base_gfn < cache_.npages)
            return cache_.shared->find(gfn - cache_.base_gfn);
        for (const Slot& s : slots_)
            if (gfn - s.info.base_gfn < s.info.npages)
                return s.shared.find(gfn - s.info.base_gfn);
        return nullptr;
    }
    // The record of gfn, which shares a page now (its state says so) and
    // whose word was the last looked up (word(), words()), so that its slot
    // is the cached one: shared_page() without its tests, for the handlers
    // of page events.
    SharedPage& shared_record(std::uint64_t gfn) noexcept
    {
        return cache_.shared->record_of_shared(gfn - cache_.base_gfn);
    }
    // gfn, whose word is w (so gfn is in a slot), shares page now: its
    // record is set (one it had is overwritten) and its state is ksm or zero.
    void join_shared(std::uint64_t gfn, PageWord& w, const SharedPage& page)
    {
        if (gfn - cache_.base_gfn >= cache_.npages)
            find_word(gfn);
        cache_.shared->set(gfn - cache_.base_gfn, page);
        set_state(w, page.zero ? PageState::zero : PageState::ksm);
        w = page_word::with_bucket(w, 0);
    }
    // gfn shares nothing now: its record goes. Its new state is the caller's.
    void leave_shared(std::uint64_t gfn) noexcept
    {
        if (gfn - cache_.base_gfn < cache_.npages || find_word(gfn))
            cache_.shared->erase(gfn - cache_.base_gfn);
    }
    // fn(gfn, const SharedPage&) for every shared page, slot after slot.
    template <typename Fn>
    void for_each_shared(Fn&& fn) const
    {
        for (const Slot& s : slots_)
            s.shared.for_each([&](std::uint64_t index, const SharedPage& page) { fn(s.info.base_gfn + index, page); });
    }
    // Shared-page records held: one per page on a KSM page or the zero page.
    std::uint64_t shared_pages() const noexcept
    {
        std::uint64_t n = 0;
        for (const Slot& s : slots_)
            n += s.shared.size();
        return n;
    }

    // Bytes of the page words, the shared-page records and the working set.
    std::size_t bytes() const noexcept;
    std::size_t shared_bytes() const noexcept;

    VmCounters counters;
    WorkingSet working_set;  // from access sampling, when the module samples the VM
    bool exact = true;  // false from a LOST, late or rejected event until a reseed

private:
    struct Slot {
        GuestMemslot info;
        std::vector<PageWord, HugePageAllocator<PageWord>> words;
        SharedPageTable shared;
    };

    PageWord* find_word(std::uint64_t gfn) noexcept;
    PageWord find_word_of(std::uint64_t gfn) const noexcept;
    std::size_t slot_index(std::uint16_t slot_id) const;
    void check_free(const GuestMemslot& slot, std::size_t ignore) const;

    std::uint16_t vm_id_;
    std::uint32_t pid_;
    std::vector<Slot> slots_;  // by base gfn
    // The slot the last lookup hit, its fields at hand: every event looks
    // up a word, and slots_[i] would cost an index computation and two
    // loads more each time. npages 0: none (after slots change).
    struct Cache {
        std::uint64_t base_gfn = 0;
        std::uint64_t npages = 0;
        PageWord* words = nullptr;
        SharedPageTable* shared = nullptr;
    };
    Cache cache_;
    std::uint64_t total_pages_ = 0;
    std::array<std::uint64_t, kPageStates> by_state_{};
    std::uint64_t volatile_pages_ = 0;
};

}  // namespace self_e
