// DefaultInitAllocator: a vector that does not zero what resize() adds, and
// otherwise behaves as with std::allocator.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "self_e/default_init_allocator.hpp"

using namespace self_e;

namespace {

struct Pair {
    std::uint64_t a;
    std::uint32_t b;
};

}  // namespace

TEST_CASE("a default-init vector keeps values through growth and copies them exactly", "[alloc]")
{
    std::vector<Pair, DefaultInitAllocator<Pair>> v;
    for (std::uint32_t i = 0; i < 1000; ++i)
        v.push_back({std::uint64_t{i} * 3, i});
    v.resize(1500);  // the 500 new ones: written before they are read
    for (std::uint32_t i = 1000; i < 1500; ++i)
        v[i] = {std::uint64_t{i} * 3, i};
    v.erase(v.begin(), v.begin() + 10);
    REQUIRE(v.size() == 1490);
    CHECK(v.front().a == 30);
    CHECK(v.front().b == 10);
    CHECK(v.back().a == 1499 * 3);
    CHECK(v.back().b == 1499);
    std::vector<Pair, DefaultInitAllocator<Pair>> copy(v.begin() + 5, v.begin() + 7);
    CHECK(copy.size() == 2);
    CHECK(copy[0].b == 15);
    CHECK(copy[1].a == 48);
}

TEST_CASE("a default-init vector constructs with arguments as usual", "[alloc]")
{
    std::vector<std::uint32_t, DefaultInitAllocator<std::uint32_t>> v(4, 7u);
    CHECK(v == std::vector<std::uint32_t, DefaultInitAllocator<std::uint32_t>>{7, 7, 7, 7});
    v.emplace_back(9u);
    CHECK(v.back() == 9);
}
