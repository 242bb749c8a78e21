// The numbers `self-e report` shows, read from an Aggregator: per VM its
// pages by state, what it shares with whom, what sharing saves.
//
// Definitions (n(p): guest pages of all watched VMs mapped to KSM page p;
// c_v(p): those of VM v; the zero page is no KSM page and is in none):
//
//   pages.total       guest-RAM pages (address space 0 memslots)
//   pages.touched     total - untouched: pages with a host page since attach
//                     or at seed (= ksm_shared + ksm_zero + private + unmapped)
//   pages.ksm_shared  pages mapped to a KSM page now = Σ_p c_v(p), split in
//     ksm_across      ... on a KSM page another VM maps too
//     ksm_within      ... on one only this VM maps, with another of its pages
//     ksm_alone       ... on one no other page maps (its sharers left)
//   pages.ksm_zero    pages merged with the zero page now
//   pages.private     pages mapped privately now (COW-broken ones included)
//   pages.cow_broken  of private: pages whose last change was a COW break
//   ksm_frames        KSM pages the VM maps: #{p : c_v(p) > 0}
//   sharing_ratio     ksm_shared / ksm_frames: guest pages per KSM page
//                     (0 without any); 1 saves nothing
//   saved_bytes       a KSM page with n mappers saves n - 1 pages; each VM
//                     gets the share of its mappers:
//                       Σ_p floor(4096 · c_v(p) · (n(p) - 1) / n(p))
//                     so the VMs' figures add up to the total below, short
//                     by less than one byte per KSM page. Zero-page merges
//                     save ksm_zero pages on top; they are not in this.
//   shared_with       for each other VM w: Σ_p c_v(p) over the KSM pages p
//                     that w maps too (c_w(p) > 0), by VM id
//   volatile_pages    pages COW-broken less than the volatile window after
//                     their merge, at least once
//
//   total.saved_bytes   Σ_p (n(p) - 1) · 4096 = (mappers - ksm_pages) · 4096
//   total.sharing_ratio mappers / ksm_pages
// Pages of processes that are not watched VMs are not counted in n(p).
#pragma once

#include <cstdint>
#include <vector>

#include "self_e/aggregator.hpp"

namespace self_e {

struct SharedWith {
    std::uint16_t vm_id = 0;
    std::uint64_t pages = 0;

    friend bool operator==(const SharedWith&, const SharedWith&) = default;
};

struct VmPageReport {
    std::uint64_t total = 0;
    std::uint64_t touched = 0;
    std::uint64_t ksm_shared = 0;
    std::uint64_t ksm_across = 0;
    std::uint64_t ksm_within = 0;
    std::uint64_t ksm_alone = 0;
    std::uint64_t ksm_zero = 0;
    std::uint64_t private_pages = 0;  // "private" in output
    std::uint64_t cow_broken = 0;
    std::uint64_t unmapped = 0;
    std::uint64_t untouched = 0;

    friend bool operator==(const VmPageReport&, const VmPageReport&) = default;
};

struct VmReport {
    std::uint16_t vm_id = 0;
    std::uint32_t pid = 0;
    bool exact = true;  // false since a LOST, late or rejected event, until a reseed
    VmPageReport pages;
    std::uint64_t ksm_frames = 0;
    double sharing_ratio = 0;
    std::uint64_t saved_bytes = 0;
    std::uint64_t cow_breaks = 0;
    std::uint64_t volatile_pages = 0;
    std::vector<SharedWith> shared_with;  // by VM id
    WorkingSetSummary working_set;        // from access sampling; passes 0 without
    VmCounters counters;                  // every event counter
};

struct AggregateReport {
    std::vector<VmReport> vms;  // by VM id
    std::uint64_t ksm_pages = 0;
    std::uint64_t ksm_mappers = 0;
    double sharing_ratio = 0;
    std::uint64_t saved_bytes = 0;
    std::uint64_t pending_events = 0;  // held for reordering, not applied yet
    std::uint64_t late_events = 0;
    std::uint64_t bytes = 0;  // the aggregator's memory
};

// One pass over the KSM pages and the VMs; events held for reordering are
// not in it (flush() first for a final report).
AggregateReport make_report(const Aggregator& aggregator);

}  // namespace self_e
