// What one 4 KiB page of a process is, from its /proc/PID/pagemap entry and,
// when present, the /proc/kpageflags word of its frame.
//
// The rules (the snapshot's counts and the JSON keys follow them exactly):
//
//   present      pagemap bit 63.
//   swapped      pagemap bit 62 (and not present). A page being migrated
//                also shows as a swap entry for that instant.
//   not_present  neither: never touched, or dropped.
//
// Every present page is in exactly one sharing class, tested in this order:
//   zero         kpageflags KPF_ZERO_PAGE (bit 24): the shared zero page
//                (a read of untouched memory, or KSM merging a zero-filled
//                page when /sys/kernel/mm/ksm/use_zero_pages is 1) or the
//                huge zero page.
//   ksm          KPF_KSM (bit 21): a KSM stable page, shared by merging.
//   private      pagemap bit 56 (PM_MMAP_EXCLUSIVE): the page is mapped
//                exactly once, here; no other mapping anywhere uses it.
//   shared       otherwise: shared without KSM (copy-on-write after fork,
//                or a file/shmem page mapped elsewhere too).
// so present == zero + ksm + private + shared.
// Bit 56 is the kernel's page mapcount == 1, the same number
// /proc/kpagecount gives, but read with the page table entry itself: it
// cannot disagree with the rest of the entry, and it saves reading a file.
//
// Independent of the sharing class, a present page also counts in:
//   thp          KPF_THP (bit 22): part of a transparent huge page (any
//                size; the huge zero page too, which is also `zero`).
//   hugetlb      KPF_HUGE (bit 17): part of a hugetlbfs page.
//   file         pagemap bit 61: a file or shared-memory page (not plain
//                anonymous memory).
//
// A present page whose frame has no struct page (KPF_NOPAGE, bit 20: device
// memory mapped with VM_PFNMAP) is no RAM the classes describe; the scanner
// refuses it rather than guess.
#pragma once

#include <cstdint>
#include <string_view>

namespace self_e {

namespace pagemap {
inline constexpr std::uint64_t kPfnMask = (std::uint64_t{1} << 55) - 1;  // bits 0-54
inline constexpr int kExclusiveBit = 56;  // mapped exactly once
inline constexpr int kFileBit = 61;       // file page or shared anonymous
inline constexpr int kSwappedBit = 62;
inline constexpr int kPresentBit = 63;
}  // namespace pagemap

// Bit numbers of /proc/kpageflags, as in <linux/kernel-page-flags.h>.
namespace kpf {
inline constexpr int kHuge = 17;
inline constexpr int kNoPage = 20;
inline constexpr int kKsm = 21;
inline constexpr int kThp = 22;
inline constexpr int kZeroPage = 24;
}  // namespace kpf

enum class PageClass : std::uint8_t {
    not_present,
    swapped,
    zero,
    ksm,
    private_page,  // "private" in output
    shared,
};

std::string_view page_class_name(PageClass c) noexcept;

struct PageInfo {
    PageClass page_class = PageClass::not_present;
    bool thp = false;
    bool hugetlb = false;
    bool file = false;
    std::uint64_t pfn = 0;  // the frame, for present pages (the KSM page's frame for ksm)
};

inline constexpr bool bit(std::uint64_t word, int n) noexcept { return (word >> n) & 1; }

inline bool pagemap_present(std::uint64_t entry) noexcept { return bit(entry, pagemap::kPresentBit); }
inline std::uint64_t pagemap_pfn(std::uint64_t entry) noexcept { return entry & pagemap::kPfnMask; }

// The rules above. kpageflags is read only for a present page. Without
// ksm_flag_trusted, KPF_KSM is ignored and a KSM page shows as shared (when
// mapped more than once) or private: Debian's 6.12.95 sets KPF_KSM on every
// anonymous page (fs/proc/page.c tests mapping & PAGE_MAPPING_KSM, which any
// anonymous mapping passes).
PageInfo classify_page(std::uint64_t pagemap_entry, std::uint64_t kpageflags,
                       bool ksm_flag_trusted = true) noexcept;

}  // namespace self_e
