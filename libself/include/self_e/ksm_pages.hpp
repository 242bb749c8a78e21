// The KSM pages the watched VMs map, keyed by the KSM page's frame: for each,
// which VMs map it with how many of their guest pages. The cross-VM sharing
// matrix and the memory saved are read from this (aggregate_report.hpp).
// Aggregator::ksm_pages() builds it from the VMs' shared-page maps for a
// report. The zero page is not here: it is not a KSM page and saves nothing
// per VM.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "self_e/flat_u64_map.hpp"

namespace self_e {

struct KsmSharer {
    std::uint16_t vm_id = 0;
    std::uint32_t pages = 0;  // guest pages of vm_id mapped to the KSM page

    friend bool operator==(const KsmSharer&, const KsmSharer&) = default;
};

// The VMs of one KSM page: 40 bytes, as the map holds one per KSM page.
// Almost every KSM page has few VMs: the first kInline are kept in place
// (ids and counts in arrays of their own, so four fit where three structs
// did: a page of four cloned VMs needs no allocation), more in a vector of
// their own.
class KsmSharers {
public:
    static constexpr std::size_t kInline = 4;

    void add(std::uint16_t vm_id);
    // Takes one page of vm_id away; false when vm_id had none here.
    bool remove(std::uint16_t vm_id) noexcept;

    // Guest pages mapped to the KSM page, over all VMs (KSM itself caps a
    // KSM page's mappers at max_page_sharing, 256 by default).
    std::uint32_t mappers() const noexcept { return mappers_; }
    std::size_t size() const noexcept { return nr_inline_ + (more_ ? more_->size() : 0); }
    KsmSharer operator[](std::size_t i) const noexcept
    {
        return i < nr_inline_ ? KsmSharer{vm_ids_[i], pages_[i]} : (*more_)[i - nr_inline_];
    }
    // The sharers, ordered by VM id.
    std::vector<KsmSharer> list() const;

private:
    void erase_at(std::size_t i) noexcept;

    std::uint32_t mappers_ = 0;
    std::uint8_t nr_inline_ = 0;
    std::array<std::uint16_t, kInline> vm_ids_{};
    std::array<std::uint32_t, kInline> pages_{};
    std::unique_ptr<std::vector<KsmSharer>> more_;
};
static_assert(sizeof(KsmSharers) == 40);

class KsmPages {
public:
    // One more guest page of vm_id maps the KSM page pfn.
    void join(std::uint64_t pfn, std::uint16_t vm_id);
    // One guest page of vm_id no longer does; the page goes from the map
    // with its last mapper. False when vm_id had no page there.
    bool leave(std::uint64_t pfn, std::uint16_t vm_id) noexcept;

    const KsmSharers* find(std::uint64_t pfn) const noexcept { return pages_.find(pfn); }
    bool erase(std::uint64_t pfn) noexcept { return pages_.erase(pfn); }
    void prefetch(std::uint64_t pfn) const noexcept { pages_.prefetch(pfn); }
    std::size_t size() const noexcept { return pages_.size(); }
    std::size_t bytes() const noexcept { return pages_.bytes(); }

    // fn(pfn, const KsmSharers&) for each KSM page, in no particular order.
    template <typename Fn>
    void for_each(Fn&& fn) const
    {
        pages_.for_each(fn);
    }

private:
    FlatU64Map<KsmSharers> pages_;
};

}  // namespace self_e
