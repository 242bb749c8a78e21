// A process with memory of known kinds, for the host tests of
// `self-e snapshot`. Built without sanitizers so that its address space
// holds only what it maps (a sanitizer's shadow is terabytes of mappings).
//
//   snapshot_subject --seed S --salt T --shared N --dup N --unique N
//                    --zero-written N --zero-read N --untouched N
//                    --cow N --thp-mib M
//
// One MADV_MERGEABLE, MADV_NOHUGEPAGE region, in this order:
//   shared        page i holds pattern(seed, i): the same in every subject
//                 started with the same seed, so KSM merges across them
//   dup           every page holds pattern(salt, ~0): KSM merges them into one
//   unique        page i holds pattern(salt, i): never merged
//   zero-written  written, then zeroed: KSM maps the zero page (use_zero_pages=1)
//   zero-read     only read: the zero page at once
//   untouched     never touched: not present
// A "cow" region (not mergeable) written before fork()ing a child that
// sleeps: its pages are mapped twice. A "thp" region (MADV_HUGEPAGE, 2 MiB
// aligned) written in full.
//
// Prints "region NAME 0xSTART 0xEND" for each region, then "ready", and
// waits until its standard input closes.
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

namespace {

constexpr std::size_t kPage = 4096;
constexpr std::size_t kHuge = 2 << 20;

[[noreturn]] void die(const char* what)
{
    std::fprintf(stderr, "snapshot_subject: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

// Fills a page with words derived from (key, index): distinct pages differ.
void fill(unsigned char* page, std::uint64_t key, std::uint64_t index)
{
    std::uint64_t x = key * 0x9e3779b97f4a7c15ull ^ (index + 1) * 0xbf58476d1ce4e5b9ull;
    for (std::size_t off = 0; off < kPage; off += 8) {
        x ^= x >> 31;
        x *= 0x94d049bb133111ebull;
        x ^= x >> 29;
        std::memcpy(page + off, &x, 8);
    }
}

unsigned char* map_anonymous(std::size_t bytes)
{
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        die("mmap");
    return static_cast<unsigned char*>(p);
}

void print_region(const char* name, const unsigned char* start, std::size_t bytes)
{
    std::printf("region %s %p %p\n", name, static_cast<const void*>(start),
                static_cast<const void*>(start + bytes));
}

}  // namespace

int main(int argc, char** argv)
{
    std::map<std::string, std::uint64_t> opt{{"--seed", 1}, {"--salt", 2}, {"--shared", 0},
                                             {"--dup", 0}, {"--unique", 0}, {"--zero-written", 0},
                                             {"--zero-read", 0}, {"--untouched", 0}, {"--cow", 0},
                                             {"--thp-mib", 0}};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!opt.count(argv[i])) {
            std::fprintf(stderr, "snapshot_subject: unknown option %s\n", argv[i]);
            return 2;
        }
        opt[argv[i]] = std::strtoull(argv[i + 1], nullptr, 0);
    }
    // Die with the test, whatever happens to it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);

    if (const std::size_t cow_bytes = opt["--cow"] * kPage) {
        unsigned char* cow = map_anonymous(cow_bytes);
        madvise(cow, cow_bytes, MADV_NOHUGEPAGE);
        for (std::size_t i = 0; i < opt["--cow"]; ++i)
            fill(cow + i * kPage, opt["--salt"] + 1, i);
        const pid_t child = fork();
        if (child < 0)
            die("fork");
        if (child == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            for (;;)
                pause();
        }
        print_region("cow", cow, cow_bytes);
    }

    const std::uint64_t counts[] = {opt["--shared"], opt["--dup"], opt["--unique"],
                                    opt["--zero-written"], opt["--zero-read"], opt["--untouched"]};
    const char* names[] = {"shared", "dup", "unique", "zero-written", "zero-read", "untouched"};
    std::size_t total = 0;
    for (std::uint64_t n : counts)
        total += n;
    if (total) {
        unsigned char* base = map_anonymous(total * kPage);
        if (madvise(base, total * kPage, MADV_NOHUGEPAGE) || madvise(base, total * kPage, MADV_MERGEABLE))
            die("madvise(MADV_MERGEABLE)");
        print_region("mergeable", base, total * kPage);
        unsigned char* p = base;
        volatile unsigned char sink = 0;
        for (int kind = 0; kind < 6; ++kind) {
            print_region(names[kind], p, counts[kind] * kPage);
            for (std::size_t i = 0; i < counts[kind]; ++i, p += kPage) {
                switch (kind) {
                case 0: fill(p, opt["--seed"], i); break;
                case 1: fill(p, opt["--salt"], ~std::uint64_t{0}); break;
                case 2: fill(p, opt["--salt"], i); break;
                case 3: fill(p, opt["--salt"], i); std::memset(p, 0, kPage); break;
                case 4: sink = sink + p[0]; break;
                default: break;
                }
            }
        }
    }

    if (const std::size_t thp_bytes = opt["--thp-mib"] << 20) {
        // Over-map to align to a huge page boundary.
        unsigned char* raw = map_anonymous(thp_bytes + kHuge);
        auto* thp = reinterpret_cast<unsigned char*>(
            (reinterpret_cast<std::uintptr_t>(raw) + kHuge - 1) & ~(kHuge - 1));
        madvise(thp, thp_bytes, MADV_HUGEPAGE);
        for (std::size_t off = 0; off < thp_bytes; off += kPage)
            thp[off] = 1;
        print_region("thp", thp, thp_bytes);
    }

    std::printf("ready\n");
    std::fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {
    }
    return 0;
}
