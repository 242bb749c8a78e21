// SharedPageTable against std::map over the same operations.
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "self_e/shared_page_table.hpp"

using namespace self_e;

namespace {

SharedPage page(std::uint64_t pfn, std::uint64_t ts)
{
    return {.pfn = pfn, .merge_time_known = 1, .merged_ts = ts};
}

}  // namespace

TEST_CASE("find, set and erase agree with std::map, runs and strays, at a partial last region",
          "[shared_page_table]")
{
    constexpr std::uint64_t kPages = 1000;  // 3 regions and 232 pages of a 4th, whose bitmap ends mid-word
    SharedPageTable table(kPages);
    std::map<std::uint64_t, std::uint64_t> model;  // index -> pfn
    std::mt19937_64 rng(42);
    for (std::uint64_t i = 0; i < 200000; ++i) {
        // Runs of merges, as ksmd's, and single pages anywhere.
        const std::uint64_t start = rng() % kPages;
        const std::uint64_t len = rng() % 4 == 0 ? 1 + rng() % 48 : 1;
        const bool add = rng() % 2 == 0;
        for (std::uint64_t index = start; index < std::min(kPages, start + len); ++index) {
            if (add) {
                table.set(index, page(i, index));
                model[index] = i;
            } else {
                REQUIRE(table.erase(index) == (model.erase(index) == 1));
            }
        }
        if (i % 1000 == 0) {
            for (std::uint64_t index = 0; index < kPages; ++index) {
                const SharedPage* found = table.find(index);
                const auto it = model.find(index);
                REQUIRE((found != nullptr) == (it != model.end()));
                if (found) {
                    REQUIRE(found->pfn == it->second);
                    REQUIRE(found->merged_ts == index);
                }
            }
        }
    }
    REQUIRE(table.size() == model.size());
    auto it = model.begin();
    table.for_each([&](std::uint64_t index, const SharedPage& p) {
        REQUIRE(it != model.end());
        REQUIRE(index == it->first);  // in page order
        REQUIRE(p.pfn == it->second);
        ++it;
    });
    REQUIRE(it == model.end());
}

TEST_CASE("an overwritten record is not counted twice; an absent one is not erased",
          "[shared_page_table]")
{
    SharedPageTable table(64);
    table.set(33, page(1, 10));
    table.set(33, page(2, 20));
    CHECK(table.size() == 1);
    CHECK(table.find(33)->pfn == 2);
    CHECK(table.find(32) == nullptr);
    CHECK_FALSE(table.erase(32));
    CHECK(table.erase(33));
    CHECK_FALSE(table.erase(33));
    CHECK(table.empty());
    CHECK(table.find(33) == nullptr);
}

TEST_CASE("chunks a region gave up serve the next regions: memory follows the regions shared at once",
          "[shared_page_table]")
{
    SharedPageTable table(256 * 1024);
    for (std::uint64_t region = 0; region < 100; ++region)
        table.set(region * 256 + 7, page(region, 0));
    const std::size_t bytes = table.bytes();
    for (int round = 1; round < 10; ++round) {
        for (std::uint64_t region = 0; region < 100; ++region)
            REQUIRE(table.erase((round - 1) * 25600 + region * 256 + 7));
        for (std::uint64_t region = 0; region < 100; ++region)
            table.set(round * 25600 + region * 256 + 7, page(region, round));
        REQUIRE(table.size() == 100);
    }
    CHECK(table.bytes() == bytes);
    // A reused chunk's old records are not found again.
    CHECK(table.find(7) == nullptr);
    CHECK(table.find(9 * 25600 + 7)->merged_ts == 9);
}

TEST_CASE("a region keeps its chunk while any of its pages is shared", "[shared_page_table]")
{
    SharedPageTable table(1024);
    table.set(256, page(1, 1));  // region 1's first page and its last
    table.set(511, page(2, 2));
    const std::size_t bytes = table.bytes();
    CHECK(table.erase(256));
    CHECK(table.find(511)->pfn == 2);
    table.set(300, page(3, 3));  // the same chunk still, no new one
    CHECK(table.bytes() == bytes);
    CHECK(table.find(300)->pfn == 3);
    CHECK(table.find(511)->pfn == 2);
    CHECK(table.find(256) == nullptr);
}
