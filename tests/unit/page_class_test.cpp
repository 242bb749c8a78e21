// The class rules of libself/include/self_e/page_class.hpp, one by one.
#include <catch2/catch.hpp>

#include <linux/kernel-page-flags.h>

#include "fake_tree.hpp"
#include "self_e/page_class.hpp"
#include "self_e/page_counts.hpp"

using namespace self_e;
using self_e::test::flag;

namespace {

constexpr std::uint64_t kPresent = std::uint64_t{1} << 63;
constexpr std::uint64_t kSwapped = std::uint64_t{1} << 62;
constexpr std::uint64_t kFile = std::uint64_t{1} << 61;
constexpr std::uint64_t kExclusive = std::uint64_t{1} << 56;

}  // namespace

TEST_CASE("pages not in RAM are swapped or not present, whatever the frame word says", "[class]")
{
    CHECK(classify_page(0, flag(kpf::kKsm)).page_class == PageClass::not_present);
    CHECK(classify_page(kExclusive, 0).page_class == PageClass::not_present);
    const PageInfo swapped = classify_page(kSwapped | 0x1234, flag(kpf::kZeroPage));
    CHECK(swapped.page_class == PageClass::swapped);
    CHECK(swapped.pfn == 0);  // a swap entry is no frame
    CHECK_FALSE(swapped.thp);
}

TEST_CASE("the zero page wins over every other class", "[class]")
{
    CHECK(classify_page(kPresent | 7, flag(kpf::kZeroPage)).page_class == PageClass::zero);
    CHECK(classify_page(kPresent | kExclusive | 7, flag(kpf::kZeroPage) | flag(kpf::kKsm)).page_class ==
          PageClass::zero);
    // The huge zero page: zero and thp.
    const PageInfo huge_zero = classify_page(kPresent | 7, flag(kpf::kZeroPage) | flag(kpf::kThp));
    CHECK(huge_zero.page_class == PageClass::zero);
    CHECK(huge_zero.thp);
}

TEST_CASE("KSM pages are ksm however many map them, and keep their frame", "[class]")
{
    for (std::uint64_t exclusive : {std::uint64_t{0}, kExclusive}) {
        const PageInfo p = classify_page(kPresent | exclusive | 0xabc, flag(kpf::kKsm) | flag(KPF_ANON));
        CHECK(p.page_class == PageClass::ksm);
        CHECK(p.pfn == 0xabc);
    }
}

TEST_CASE("an untrusted KPF_KSM is ignored: KSM pages then show as shared or private", "[class]")
{
    // Debian's 6.12.95 sets KPF_KSM on every anonymous page.
    const std::uint64_t flags = flag(kpf::kKsm) | flag(KPF_ANON);
    CHECK(classify_page(kPresent | 0xabc, flags, false).page_class == PageClass::shared);
    CHECK(classify_page(kPresent | kExclusive | 0xabc, flags, false).page_class ==
          PageClass::private_page);
    CHECK(classify_page(kPresent | 7, flag(kpf::kZeroPage) | flags, false).page_class == PageClass::zero);
}

TEST_CASE("other present pages are private when mapped exclusively, shared otherwise", "[class]")
{
    CHECK(classify_page(kPresent | kExclusive | 1, flag(KPF_ANON)).page_class == PageClass::private_page);
    CHECK(classify_page(kPresent | kExclusive | 1, 0).page_class == PageClass::private_page);
    CHECK(classify_page(kPresent | 1, flag(KPF_ANON)).page_class == PageClass::shared);
    const PageInfo file = classify_page(kPresent | kFile | 1, 0);
    CHECK(file.page_class == PageClass::shared);
    CHECK(file.file);
    CHECK_FALSE(classify_page(kPresent | kExclusive | 1, 0).file);
}

TEST_CASE("thp and hugetlb mark present pages of any class", "[class]")
{
    const PageInfo thp = classify_page(kPresent | kExclusive | 1, flag(kpf::kThp) | flag(KPF_COMPOUND_TAIL));
    CHECK(thp.page_class == PageClass::private_page);
    CHECK(thp.thp);
    CHECK_FALSE(thp.hugetlb);
    const PageInfo huge = classify_page(kPresent | 1, flag(kpf::kHuge));
    CHECK(huge.page_class == PageClass::shared);
    CHECK(huge.hugetlb);
    CHECK_FALSE(huge.thp);
}

TEST_CASE("counts add up: present is the sum of the sharing classes", "[class]")
{
    PageCounts c;
    c.add(classify_page(0, 0));
    c.add(classify_page(kSwapped, 0));
    c.add(classify_page(kPresent | 1, flag(kpf::kZeroPage)));
    c.add(classify_page(kPresent | 2, flag(kpf::kKsm)));
    c.add(classify_page(kPresent | kExclusive | 3, flag(kpf::kThp)));
    c.add(classify_page(kPresent | kFile | 4, 0));
    CHECK(c.total == 6);
    CHECK(c.not_present == 1);
    CHECK(c.swapped == 1);
    CHECK(c.present == 4);
    CHECK(c.present == c.zero + c.ksm + c.private_pages + c.shared);
    CHECK(c.zero == 1);
    CHECK(c.ksm == 1);
    CHECK(c.private_pages == 1);
    CHECK(c.shared == 1);
    CHECK(c.thp == 1);
    CHECK(c.file == 1);
    PageCounts twice = c;
    twice += c;
    CHECK(twice.present == 8);
    CHECK(twice.total == 12);
}

TEST_CASE("every class has its output name", "[class]")
{
    CHECK(page_class_name(PageClass::private_page) == "private");
    CHECK(page_class_name(PageClass::not_present) == "not_present");
    CHECK(page_class_name(PageClass::ksm) == "ksm");
}
