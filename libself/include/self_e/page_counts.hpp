// Counts of pages by class (see page_class.hpp for the rules), in pages of
// the host's base page size (4 KiB on x86-64).
#pragma once

#include <cstdint>

#include "self_e/page_class.hpp"

namespace self_e {

struct PageCounts {
    std::uint64_t total = 0;  // every page of the ranges
    std::uint64_t present = 0;
    std::uint64_t swapped = 0;
    std::uint64_t not_present = 0;
    // present == zero + ksm + private_pages + shared
    std::uint64_t zero = 0;
    std::uint64_t ksm = 0;
    std::uint64_t private_pages = 0;
    std::uint64_t shared = 0;
    // subsets of present, across the classes above
    std::uint64_t thp = 0;
    std::uint64_t hugetlb = 0;
    std::uint64_t file = 0;

    void add(const PageInfo& page) noexcept
    {
        ++total;
        switch (page.page_class) {
        case PageClass::not_present: ++not_present; return;
        case PageClass::swapped: ++swapped; return;
        case PageClass::zero: ++zero; break;
        case PageClass::ksm: ++ksm; break;
        case PageClass::private_page: ++private_pages; break;
        case PageClass::shared: ++shared; break;
        }
        ++present;
        thp += page.thp;
        hugetlb += page.hugetlb;
        file += page.file;
    }

    PageCounts& operator+=(const PageCounts& o) noexcept
    {
        total += o.total;
        present += o.present;
        swapped += o.swapped;
        not_present += o.not_present;
        zero += o.zero;
        ksm += o.ksm;
        private_pages += o.private_pages;
        shared += o.shared;
        thp += o.thp;
        hugetlb += o.hugetlb;
        file += o.file;
        return *this;
    }

    friend bool operator==(const PageCounts&, const PageCounts&) = default;
};

}  // namespace self_e
