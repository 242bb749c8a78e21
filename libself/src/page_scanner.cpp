#include "self_e/page_scanner.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "hex.hpp"
#include "self_e/error.hpp"

namespace self_e {

using detail::hex;

namespace {

// A present page as one sortable word: its frame, then its index in the batch.
constexpr int kIndexBits = 16;
static_assert(PageScanner::kBatchPages <= (std::size_t{1} << kIndexBits));
// Frames this high would not fit beside the index (x86-64 has at most 2^40).
constexpr std::uint64_t kMaxPfn = std::uint64_t{1} << (64 - kIndexBits);

// Touches a private anonymous page of this process and reads its KPF_KSM:
// KSM never merges it (not MADV_MERGEABLE), so the bit set means the kernel
// reports KPF_KSM wrongly. True when the probe cannot run (another procfs
// root, as in tests, or no page frame numbers).
bool probe_ksm_flag_trusted(const ProcFs& proc, const UniqueFd& kpageflags)
{
    const std::size_t size = static_cast<std::size_t>(host_page_size());
    void* page = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return true;
    *static_cast<volatile char*>(page) = 1;
    bool trusted = true;
    const int pagemap = ::open(proc.path(::getpid(), "pagemap").c_str(), O_RDONLY | O_CLOEXEC);
    if (pagemap >= 0) {
        std::uint64_t entry = 0, flags = 0;
        const off_t at = static_cast<off_t>(reinterpret_cast<std::uintptr_t>(page) / size * 8);
        if (::pread(pagemap, &entry, 8, at) == 8 && pagemap_present(entry) && pagemap_pfn(entry) &&
            ::pread(kpageflags.get(), &flags, 8, static_cast<off_t>(pagemap_pfn(entry) * 8)) == 8)
            trusted = !bit(flags, kpf::kKsm);
        ::close(pagemap);
    }
    ::munmap(page, size);
    return trusted;
}

}  // namespace

std::uint64_t host_page_size() noexcept
{
    static const std::uint64_t size = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

PageScanner::PageScanner(const ProcFs& proc, pid_t pid)
    : pid_(pid),
      page_size_(host_page_size()),
      pagemap_path_(proc.path(pid, "pagemap")),
      kpageflags_path_(proc.path("kpageflags")),
      // The frame file first: without root it fails with the clearest message.
      kpageflags_(proc.open_kpageflags()),
      pagemap_(proc.open_pagemap(pid)),
      ksm_flag_trusted_(probe_ksm_flag_trusted(proc, kpageflags_))
{
}

void PageScanner::scan(const AddressRange& range, const Visitor& visit)
{
    if (range.start % page_size_ || range.end % page_size_ || range.start > range.end)
        throw Error(ErrorKind::invalid_argument,
                    "pid " + std::to_string(pid_) + ": range " + to_string(range) +
                        " is not page aligned");
    for (std::uint64_t address = range.start; address < range.end;) {
        const std::size_t nr_pages = static_cast<std::size_t>(
            std::min<std::uint64_t>(kBatchPages, (range.end - address) / page_size_));
        scan_batch(address, nr_pages);
        visit(address, std::span<const PageInfo>(pages_.data(), nr_pages));
        address += nr_pages * page_size_;
    }
}

void PageScanner::scan_batch(std::uint64_t address, std::size_t nr_pages)
{
    batch_address_ = address;
    entries_.resize(nr_pages);
    pages_.resize(nr_pages);
    const std::size_t want = nr_pages * sizeof(std::uint64_t);
    const std::size_t got = pread_fully(pagemap_, entries_.data(), want,
                                        address / page_size_ * sizeof(std::uint64_t), pagemap_path_);
    if (got != want)
        throw Error(ErrorKind::invalid_argument,
                    "pid " + std::to_string(pid_) + ": " + pagemap_path_ + " ended at " +
                        hex(address + got / sizeof(std::uint64_t) * page_size_) +
                        ": the range goes past the process's address space, or the process exited");

    present_.clear();
    for (std::size_t i = 0; i < nr_pages; ++i) {
        const std::uint64_t entry = entries_[i];
        if (!pagemap_present(entry)) {
            pages_[i] = classify_page(entry, 0);
            continue;
        }
        const std::uint64_t pfn = pagemap_pfn(entry);
        // pagemap hides frame numbers (shows 0) from readers without CAP_SYS_ADMIN.
        if (pfn == 0)
            throw Error(ErrorKind::permission,
                        "pid " + std::to_string(pid_) + ": " + pagemap_path_ +
                            " shows no page frame numbers (present page at " +
                            hex(address + i * page_size_) + " has pfn 0): need root (CAP_SYS_ADMIN)");
        if (pfn >= kMaxPfn)
            throw Error(ErrorKind::bad_format, "pid " + std::to_string(pid_) + ": " + pagemap_path_ +
                                                   " gives frame " + hex(pfn) + " at " +
                                                   hex(address + i * page_size_) + ", beyond any RAM");
        present_.push_back(pfn << kIndexBits | i);
    }
    std::sort(present_.begin(), present_.end());
    classify_present_pages();
}

// One pread of kpageflags per run of nearby frames in present_.
void PageScanner::classify_present_pages()
{
    constexpr std::uint64_t kIndexMask = (std::uint64_t{1} << kIndexBits) - 1;
    std::size_t first = 0;
    while (first < present_.size()) {
        const std::uint64_t run_start = present_[first] >> kIndexBits;
        std::size_t last = first;
        std::uint64_t last_pfn = run_start;
        while (last + 1 < present_.size()) {
            const std::uint64_t pfn = present_[last + 1] >> kIndexBits;
            if (pfn - last_pfn > kMaxPfnGap || pfn - run_start >= kMaxRunPfns)
                break;
            ++last;
            last_pfn = pfn;
        }
        const std::uint64_t run_pfns = last_pfn - run_start + 1;

        flags_.resize(run_pfns);
        const std::size_t want = run_pfns * sizeof(std::uint64_t);
        const std::size_t got = pread_fully(kpageflags_, flags_.data(), want,
                                            run_start * sizeof(std::uint64_t), kpageflags_path_);
        if (got != want)
            throw Error(ErrorKind::unsupported,
                        "pid " + std::to_string(pid_) + ": frame " +
                            hex(run_start + got / sizeof(std::uint64_t)) + " is past the end of " +
                            kpageflags_path_ + " (device memory?); self-e classifies RAM only");

        for (std::size_t k = first; k <= last; ++k) {
            const std::uint64_t pfn = present_[k] >> kIndexBits;
            const std::size_t index = present_[k] & kIndexMask;
            const std::uint64_t flags = flags_[pfn - run_start];
            if (bit(flags, kpf::kNoPage))
                throw Error(ErrorKind::unsupported,
                            "pid " + std::to_string(pid_) + ": page at " +
                                hex(batch_address_ + index * page_size_) + " maps frame " + hex(pfn) +
                                " that has no struct page (device memory); self-e classifies RAM only");
            pages_[index] = classify_page(entries_[index], flags, ksm_flag_trusted_);
        }
        first = last + 1;
    }
}

}  // namespace self_e
