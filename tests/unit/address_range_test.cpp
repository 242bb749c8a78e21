// Parsing and checking of --range values (libself/address_range).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "self_e/address_range.hpp"
#include "self_e/error.hpp"

using namespace self_e;

namespace {

std::string parse_error(const std::string& text)
{
    try {
        parse_address_range(text, 4096);
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::invalid_argument);
        return e.what();
    }
    FAIL("no error for '" << text << "'");
    return {};
}

}  // namespace

TEST_CASE("a hex range parses to its start and exclusive end", "[range]")
{
    CHECK(parse_address_range("0x1000-0x3000", 4096) == AddressRange{0x1000, 0x3000});
    CHECK(parse_address_range("0X7F0000000000-0x7f0000200000", 4096) ==
          AddressRange{0x7f0000000000, 0x7f0000200000});
    CHECK(parse_address_range("0xABC000-0xabd000", 4096).size() == 0x1000);
    CHECK(to_string(AddressRange{0x1000, 0x3000}) == "0x1000-0x3000");
    CHECK(to_string(AddressRange{0, 0x1000}) == "0x0-0x1000");
}

TEST_CASE("bad ranges are refused with a message that quotes them", "[range]")
{
    CHECK_THAT(parse_error("0x2000-0x1000"), Catch::Contains("'0x2000-0x1000'") &&
                                                 Catch::Contains("start must be below end"));
    CHECK_THAT(parse_error("0x1000-0x1000"), Catch::Contains("start must be below end"));
    CHECK_THAT(parse_error("4096-8192"), Catch::Contains("0x prefix"));
    CHECK_THAT(parse_error("0x1000"), Catch::Contains("expected 0xSTART-0xEND"));
    CHECK_THAT(parse_error(""), Catch::Contains("expected 0xSTART-0xEND"));
    CHECK_THAT(parse_error("0x1000-0x2g00"), Catch::Contains("not a hex number"));
    CHECK_THAT(parse_error("0x1000-0x2000-0x3000"), Catch::Contains("not a hex number"));
    CHECK_THAT(parse_error("0x-0x1000"), Catch::Contains("0x prefix"));
    CHECK_THAT(parse_error("0x1000-0x10000000000000000"), Catch::Contains("64 bits"));
    CHECK_THAT(parse_error(" 0x1000-0x2000"), Catch::Contains("0x prefix"));
}

TEST_CASE("unaligned ranges are refused, naming the aligned range that covers them", "[range]")
{
    CHECK_THAT(parse_error("0x1001-0x2000"),
               Catch::Contains("not aligned") && Catch::Contains("0x1000-0x2000"));
    CHECK_THAT(parse_error("0x1000-0x2001"), Catch::Contains("0x1000-0x3000"));
    CHECK(parse_address_range("0x200000-0x400000", 0x200000) == AddressRange{0x200000, 0x400000});
}

TEST_CASE("overlapping ranges are refused, touching ones are fine", "[range]")
{
    const std::vector<AddressRange> touching{{0x3000, 0x4000}, {0x1000, 0x3000}};
    CHECK_NOTHROW(check_no_overlap(touching));
    const std::vector<AddressRange> overlapping{{0x5000, 0x6000}, {0x1000, 0x3000}, {0x2000, 0x4000}};
    try {
        check_no_overlap(overlapping);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::invalid_argument);
        CHECK_THAT(e.what(), Catch::Contains("0x1000-0x3000") && Catch::Contains("0x2000-0x4000") &&
                                 Catch::Contains("overlap"));
    }
}
