// KsmPages: which VMs map a KSM page with how many pages.
#include <catch2/catch.hpp>

#include "self_e/ksm_pages.hpp"

using namespace self_e;

TEST_CASE("sharers are counted per VM, beyond the inline ones too", "[ksm_pages]")
{
    KsmPages pages;
    for (std::uint16_t vm : {5, 1, 4, 2, 3, 1, 5})
        pages.join(0xa000, vm);
    const KsmSharers* a = pages.find(0xa000);
    REQUIRE(a != nullptr);
    CHECK(a->mappers() == 7);
    CHECK(a->list() == std::vector<KsmSharer>{{1, 2}, {2, 1}, {3, 1}, {4, 1}, {5, 2}});

    CHECK(pages.leave(0xa000, 5));
    CHECK(pages.leave(0xa000, 4));  // an inline sharer: a later one takes its place
    CHECK_FALSE(pages.leave(0xa000, 9));
    CHECK_FALSE(pages.leave(0xb000, 1));
    CHECK(a->list() == std::vector<KsmSharer>{{1, 2}, {2, 1}, {3, 1}, {5, 1}});
    CHECK(a->mappers() == 5);
}

TEST_CASE("four sharers in place, a fifth beyond; leaving refills the places", "[ksm_pages]")
{
    KsmPages pages;
    for (std::uint16_t vm : {1, 2, 3, 4, 2})
        pages.join(0xa000, vm);
    const KsmSharers* a = pages.find(0xa000);
    REQUIRE(a != nullptr);
    CHECK(a->size() == 4);
    CHECK(a->mappers() == 5);
    CHECK((*a)[3] == KsmSharer{4, 1});
    pages.join(0xa000, 7);  // beyond the inline four
    CHECK(a->size() == 5);
    CHECK((*a)[4] == KsmSharer{7, 1});
    CHECK(pages.leave(0xa000, 1));  // inline: 7 takes its place
    CHECK((*a)[0] == KsmSharer{7, 1});
    CHECK(a->size() == 4);
    CHECK(pages.leave(0xa000, 7));
    CHECK(pages.leave(0xa000, 2));
    CHECK(a->list() == std::vector<KsmSharer>{{2, 1}, {3, 1}, {4, 1}});
    CHECK(a->mappers() == 3);
    for (std::uint16_t vm : {2, 3, 4})
        CHECK(pages.leave(0xa000, vm));
    CHECK(pages.find(0xa000) == nullptr);
}

TEST_CASE("a KSM page goes with its last mapper", "[ksm_pages]")
{
    KsmPages pages;
    pages.join(0xa000, 1);
    pages.join(0xa000, 2);
    pages.join(0xb000, 2);
    CHECK(pages.size() == 2);
    CHECK(pages.leave(0xa000, 1));
    CHECK(pages.leave(0xa000, 2));
    CHECK(pages.find(0xa000) == nullptr);
    CHECK(pages.size() == 1);
}
