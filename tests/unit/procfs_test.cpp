// Reading /proc/PID/maps, ksm_stat and /sys/kernel/mm/ksm (libself/procfs,
// sysfs, named_values) from fake files.
#include <catch2/catch.hpp>

#include "fake_tree.hpp"
#include "self_e/error.hpp"
#include "self_e/procfs.hpp"
#include "self_e/sysfs.hpp"

using namespace self_e;
using self_e::test::FakeTree;

namespace {

constexpr const char* kMaps =
    "55d0c0a00000-55d0c0a21000 r--p 00000000 fd:01 1835023                    /usr/bin/qemu-system-x86_64\n"
    "55d0c1e4f000-55d0c2000000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f1000000000-7f1040000000 rw-p 00000000 00:00 0 \n"
    "7f1040000000-7f1040001000 ---p 00000000 00:00 0\n"
    "7f1050000000-7f1050200000 rw-s 00000000 00:01 2049                       /memfd:pc.ram (deleted)\n"
    "7f1060000000-7f1060100000 rw-p 00000000 00:00 0                          [anon:guest ram]\n"
    "7f1070000000-7f1070100000 rw-s 00000000 00:01 7                          /dev/zero (deleted)\n"
    "7ffd4c5e0000-7ffd4c601000 rw-p 00000000 00:00 0                          [stack]\n"
    "7ffd4c7b4000-7ffd4c7b8000 r--p 00000000 00:00 0                          [vvar]\n"
    "7ffd4c7b8000-7ffd4c7ba000 r-xp 00000000 00:00 0                          [vdso]\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

}  // namespace

TEST_CASE("maps lines parse into ranges, permissions, inode and path", "[procfs]")
{
    const auto maps = parse_maps(kMaps, "test/maps");
    REQUIRE(maps.size() == 11);
    CHECK(maps[0].range == AddressRange{0x55d0c0a00000, 0x55d0c0a21000});
    CHECK(maps[0].perms == "r--p");
    CHECK(maps[0].device == "fd:01");
    CHECK(maps[0].inode == 1835023);
    CHECK(maps[0].path == "/usr/bin/qemu-system-x86_64");
    CHECK(maps[2].path.empty());  // a trailing space is no path
    CHECK(maps[4].path == "/memfd:pc.ram (deleted)");
    CHECK(maps[5].path == "[anon:guest ram]");
    CHECK(maps[10].range.end == 0xffffffffff601000);
}

TEST_CASE("private anonymous mappings are the unnamed, heap, stack and prctl-named ones", "[procfs]")
{
    const auto maps = parse_maps(kMaps, "test/maps");
    std::vector<std::string> kept;
    for (const Mapping& m : maps)
        if (m.private_anonymous())
            kept.push_back(to_string(m.range));
    CHECK(kept == std::vector<std::string>{"0x55d0c1e4f000-0x55d0c2000000", "0x7f1000000000-0x7f1040000000",
                                           "0x7f1040000000-0x7f1040001000", "0x7f1060000000-0x7f1060100000",
                                           "0x7ffd4c5e0000-0x7ffd4c601000"});
}

TEST_CASE("a malformed maps line is an error naming the file and the line", "[procfs]")
{
    for (const char* bad : {"nonsense\n", "1000-zz00 rw-p 00000000 00:00 0\n", "2000-1000 rw-p 00000000 00:00 0\n",
                            "1000-2000 rw-p 00000000 00:00\n", "1000-2000 rw 00000000 00:00 0\n"}) {
        try {
            parse_maps(bad, "/proc/7/maps");
            FAIL("accepted: " << bad);
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::bad_format);
            CHECK_THAT(e.what(), Catch::Contains("/proc/7/maps"));
        }
    }
}

TEST_CASE("ksm_stat's 'name value' and 'name: value' lines both parse", "[procfs]")
{
    const auto values = parse_named_values(
        "ksm_rmap_items 12\nksm_zero_pages 3\n\nksm_process_profit -4096\nksm_merge_any: no\n", "x");
    REQUIRE(values.size() == 4);
    CHECK(values[0] == NamedValue{"ksm_rmap_items", "12", 12});
    CHECK(values[2].number == -4096);
    CHECK(values[3] == NamedValue{"ksm_merge_any", "no", std::nullopt});
    CHECK(find_number(values, "ksm_zero_pages") == 3);
    CHECK_FALSE(find_number(values, "ksm_merge_any"));
    CHECK_FALSE(find_number(values, "missing"));
    CHECK_THROWS_WITH(parse_named_values("lonely\n", "/proc/1/ksm_stat"),
                      Catch::Contains("/proc/1/ksm_stat") && Catch::Contains("lonely"));
}

TEST_CASE("ProcFs reads a process's files under its root", "[procfs]")
{
    FakeTree tree;
    tree.add_process(42, "qemu-system-x86", kMaps, 0);
    tree.write(tree.proc() / "42/ksm_stat", "ksm_rmap_items 5\nksm_merging_pages 2\n");
    tree.write(tree.proc() / "42/ksm_merging_pages", "2\n");
    const ProcFs proc{tree.proc()};

    CHECK_NOTHROW(proc.require_process(42));
    CHECK(proc.comm(42) == "qemu-system-x86");
    CHECK(proc.maps(42).size() == 11);
    CHECK(proc.ksm_merging_pages(42) == 2);
    REQUIRE(proc.ksm_stat(42).has_value());
    CHECK(find_number(*proc.ksm_stat(42), "ksm_rmap_items") == 5);
    CHECK(proc.path(42, "pagemap") == (tree.proc() / "42/pagemap").string());
}

TEST_CASE("missing KSM files mean no KSM, a missing process is an error naming it", "[procfs]")
{
    FakeTree tree;
    tree.add_process(42, "minivmm", "", 0);
    const ProcFs proc{tree.proc()};
    CHECK_FALSE(proc.ksm_stat(42).has_value());
    CHECK_FALSE(proc.ksm_merging_pages(42).has_value());

    tree.write(tree.proc() / "42/ksm_merging_pages", "many\n");
    CHECK_THROWS_WITH(proc.ksm_merging_pages(42), Catch::Contains("ksm_merging_pages"));

    try {
        proc.require_process(43);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::no_such_process);
        CHECK_THAT(e.what(), Catch::Contains("pid 43"));
    }
    try {
        proc.maps(43);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::no_such_process);
        CHECK_THAT(e.what(), Catch::Contains("pid 43") && Catch::Contains("maps"));
    }
}

TEST_CASE("a kpageflags that is missing or unreadable says what to do", "[procfs]")
{
    FakeTree tree;
    const ProcFs proc{tree.proc()};
    try {
        proc.open_kpageflags();
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::unsupported);
        CHECK_THAT(e.what(), Catch::Contains("kpageflags"));
    }
    if (::geteuid() != 0) {
        tree.write(tree.proc() / "kpageflags", "");
        std::filesystem::permissions(tree.proc() / "kpageflags", std::filesystem::perms::none);
        CHECK_THROWS_WITH(proc.open_kpageflags(), Catch::Contains("need root"));
    }
}

TEST_CASE("SysFs reads every KSM file, sorted, choices reduced to the selected one", "[sysfs]")
{
    FakeTree tree;
    const auto ksm = tree.sys() / "kernel/mm/ksm";
    tree.write(ksm / "run", "1\n");
    tree.write(ksm / "pages_sharing", "300\n");
    tree.write(ksm / "general_profit", "-8192\n");
    tree.write(ksm / "advisor_mode", "[none] scan-time\n");
    const auto values = SysFs{tree.sys()}.ksm();
    REQUIRE(values.has_value());
    REQUIRE(values->size() == 4);
    CHECK((*values)[0] == NamedValue{"advisor_mode", "none", std::nullopt});
    CHECK((*values)[1] == NamedValue{"general_profit", "-8192", -8192});
    CHECK((*values)[2].name == "pages_sharing");
    CHECK(find_number(*values, "run") == 1);

    FakeTree no_ksm;
    std::filesystem::remove_all(no_ksm.sys() / "kernel/mm/ksm");
    CHECK_FALSE(SysFs{no_ksm.sys()}.ksm().has_value());
}
