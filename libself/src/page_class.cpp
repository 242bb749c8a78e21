#include "self_e/page_class.hpp"

#include <linux/kernel-page-flags.h>

namespace self_e {

// Our names must be the kernel's numbers.
static_assert(kpf::kHuge == KPF_HUGE && kpf::kNoPage == KPF_NOPAGE && kpf::kKsm == KPF_KSM &&
              kpf::kThp == KPF_THP && kpf::kZeroPage == KPF_ZERO_PAGE);

std::string_view page_class_name(PageClass c) noexcept
{
    switch (c) {
    case PageClass::not_present: return "not_present";
    case PageClass::swapped: return "swapped";
    case PageClass::zero: return "zero";
    case PageClass::ksm: return "ksm";
    case PageClass::private_page: return "private";
    case PageClass::shared: return "shared";
    }
    return "unknown";
}

PageInfo classify_page(std::uint64_t pagemap_entry, std::uint64_t kpageflags,
                       bool ksm_flag_trusted) noexcept
{
    PageInfo info;
    if (!pagemap_present(pagemap_entry)) {
        info.page_class =
            bit(pagemap_entry, pagemap::kSwappedBit) ? PageClass::swapped : PageClass::not_present;
        return info;
    }
    info.pfn = pagemap_pfn(pagemap_entry);
    info.file = bit(pagemap_entry, pagemap::kFileBit);
    info.thp = bit(kpageflags, kpf::kThp);
    info.hugetlb = bit(kpageflags, kpf::kHuge);
    if (bit(kpageflags, kpf::kZeroPage))
        info.page_class = PageClass::zero;
    else if (ksm_flag_trusted && bit(kpageflags, kpf::kKsm))
        info.page_class = PageClass::ksm;
    else if (bit(pagemap_entry, pagemap::kExclusiveBit))
        info.page_class = PageClass::private_page;
    else
        info.page_class = PageClass::shared;
    return info;
}

}  // namespace self_e
