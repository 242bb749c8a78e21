// FlatU64Map against std::map over the same operations.
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "self_e/flat_u64_map.hpp"

using namespace self_e;

TEST_CASE("find, insert and erase agree with std::map, through growth and probe runs",
          "[flat_u64_map]")
{
    FlatU64Map<std::uint32_t> map;
    std::map<std::uint64_t, std::uint32_t> model;
    std::mt19937_64 rng(42);
    // Keys from a small range so that inserts and erases hit the same keys
    // and probe runs form and break up.
    for (std::uint32_t i = 0; i < 200000; ++i) {
        const std::uint64_t key = rng() % 4096 * 0x1000;  // pfn-like, aligned
        switch (rng() % 3) {
        case 0:
        case 1: {
            auto [value, inserted] = map.try_emplace(key);
            REQUIRE(inserted == (model.count(key) == 0));
            *value = i;
            model[key] = i;
            break;
        }
        case 2: REQUIRE(map.erase(key) == (model.erase(key) == 1)); break;
        }
    }
    REQUIRE(map.size() == model.size());
    for (const auto& [key, value] : model) {
        const std::uint32_t* found = map.find(key);
        REQUIRE(found != nullptr);
        REQUIRE(*found == value);
    }
    std::size_t visited = 0;
    map.for_each([&](std::uint64_t key, std::uint32_t value) {
        REQUIRE(model.at(key) == value);
        ++visited;
    });
    REQUIRE(visited == model.size());
    REQUIRE(map.find(0x1234567) == nullptr);
}

TEST_CASE("a map emptied and cleared is empty", "[flat_u64_map]")
{
    FlatU64Map<int> map;
    for (std::uint64_t k = 0; k < 100; ++k)
        *map.try_emplace(k).first = int(k);
    for (std::uint64_t k = 0; k < 100; k += 2)
        REQUIRE(map.erase(k));
    REQUIRE(map.size() == 50);
    REQUIRE_FALSE(map.erase(0));
    REQUIRE(*map.find(99) == 99);
    map.clear();
    REQUIRE(map.empty());
    REQUIRE(map.find(99) == nullptr);
    REQUIRE(*map.try_emplace(7).first == 0);  // a new entry starts value-initialised
}
