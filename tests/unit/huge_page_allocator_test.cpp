// HugePageAllocator: big blocks on their own 2 MiB aligned mappings, small
// ones from the heap, both holding what is written to them.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "self_e/flat_u64_map.hpp"
#include "self_e/huge_page_allocator.hpp"

using namespace self_e;

namespace {

std::uintptr_t address(const void* p)
{
    return reinterpret_cast<std::uintptr_t>(p);
}

}  // namespace

TEST_CASE("blocks of 2 MiB and more are 2 MiB aligned and keep their contents", "[huge_pages]")
{
    for (std::size_t n : {std::size_t{1} << 20, (std::size_t{3} << 20) + 5}) {  // 2 MiB, 6 MiB + 10 bytes
        std::vector<std::uint16_t, HugePageAllocator<std::uint16_t>> words(n, 7);
        CHECK(address(words.data()) % huge_pages::kHugeBytes == 0);
        for (std::size_t i = 0; i < n; i += 4093)
            words[i] = static_cast<std::uint16_t>(i);
        std::uint64_t sum = 0;
        for (std::size_t i = 0; i < n; ++i)
            sum += words[i];
        std::uint64_t expected = 0;
        for (std::size_t i = 0; i < n; ++i)
            expected += i % 4093 == 0 ? static_cast<std::uint16_t>(i) : 7;
        CHECK(sum == expected);
        CHECK(words.back() == 7);
    }
}

TEST_CASE("a mapped block's footprint is whole huge pages", "[huge_pages]")
{
    CHECK(huge_pages::footprint(100) == 100);
    CHECK(huge_pages::footprint((std::size_t{2} << 20) - 1) == (std::size_t{2} << 20) - 1);
    CHECK(huge_pages::footprint(std::size_t{2} << 20) == std::size_t{2} << 20);
    CHECK(huge_pages::footprint(std::size_t{3} << 20) == std::size_t{4} << 20);
    CHECK(huge_pages::footprint((std::size_t{4} << 20) + 1) == std::size_t{6} << 20);
}

TEST_CASE("small blocks come from the heap and grow like any vector", "[huge_pages]")
{
    std::vector<std::uint64_t, HugePageAllocator<std::uint64_t>> v;
    for (std::uint64_t i = 0; i < 300000; ++i)  // through 2 MiB: heap, then mappings
        v.push_back(i * 3);
    CHECK(v.size() == 300000);
    CHECK(v[0] == 0);
    CHECK(v[123456] == 370368);
    CHECK(v[299999] == 899997);
    CHECK(address(v.data()) % huge_pages::kHugeBytes == 0);  // 2.4 MB of capacity or more
}

TEST_CASE("a map grown past 2 MiB of slots finds every key", "[huge_pages]")
{
    FlatU64Map<std::uint32_t> map;
    for (std::uint32_t i = 0; i < 200000; ++i)
        *map.try_emplace(std::uint64_t{i} * 0x1000).first = i;
    CHECK(map.bytes() >= huge_pages::kHugeBytes);
    std::uint32_t found = 0;
    for (std::uint32_t i = 0; i < 200000; ++i)
        found += map.find(std::uint64_t{i} * 0x1000) && *map.find(std::uint64_t{i} * 0x1000) == i;
    CHECK(found == 200000);
    CHECK(map.find(std::uint64_t{200000} * 0x1000) == nullptr);
}
