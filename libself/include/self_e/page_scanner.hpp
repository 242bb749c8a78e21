// Classifies every page of address ranges of one process, in batches.
//
// Per batch of up to 64 Ki pages: one pread of /proc/PID/pagemap, then the
// present pages' frame numbers are sorted and /proc/kpageflags is read once
// per run of nearby frames (a gap of up to kMaxPfnGap frames is read through
// rather than split), never per page as the kernel's page-types tool does.
//
// A snapshot is not atomic: pages can change while it runs (as with any
// /proc reader); each page's class is right for the moment it was read.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "self_e/address_range.hpp"
#include "self_e/page_class.hpp"
#include "self_e/procfs.hpp"
#include "self_e/unique_fd.hpp"

namespace self_e {

// The base page size of this host (sysconf), which pagemap is indexed by.
std::uint64_t host_page_size() noexcept;

class PageScanner {
public:
    static constexpr std::size_t kBatchPages = std::size_t{1} << 16;
    // Reading a few unneeded frame words costs the kernel less than one more
    // pread (measured on 6.18), so runs bridge gaps up to this many frames.
    static constexpr std::uint64_t kMaxPfnGap = 8;
    static constexpr std::uint64_t kMaxRunPfns = std::uint64_t{1} << 16;

    // Opens both files; throws self_e::Error (permission with "need root",
    // no_such_process, unsupported) naming the one that failed.
    PageScanner(const ProcFs& proc, pid_t pid);

    // The pages of range (page aligned), in address order: calls
    // visit(address of pages[0], pages) once per batch. Throws self_e::Error
    // when a read fails or comes up short (range past the address space,
    // process gone), when pagemap shows no frame numbers (not root), or
    // when a page maps a frame without struct page.
    using Visitor = std::function<void(std::uint64_t first_address, std::span<const PageInfo> pages)>;
    void scan(const AddressRange& range, const Visitor& visit);

    std::uint64_t page_size() const noexcept { return page_size_; }
    // Whether this kernel's KPF_KSM means KSM (see classify_page()): false
    // when a fresh anonymous page of our own carries it.
    bool ksm_flag_trusted() const noexcept { return ksm_flag_trusted_; }

private:
    void scan_batch(std::uint64_t address, std::size_t nr_pages);
    void classify_present_pages();

    pid_t pid_;
    std::uint64_t page_size_;
    std::string pagemap_path_, kpageflags_path_;
    UniqueFd kpageflags_, pagemap_;  // opened in this order
    bool ksm_flag_trusted_ = true;

    // Batch buffers, reused.
    std::uint64_t batch_address_ = 0;
    std::vector<std::uint64_t> entries_;
    std::vector<std::uint64_t> present_;  // pfn << kIndexBits | index in batch, sorted
    std::vector<std::uint64_t> flags_;    // one run of frames
    std::vector<PageInfo> pages_;
};

}  // namespace self_e
