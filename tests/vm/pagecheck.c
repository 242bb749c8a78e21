// SPDX-License-Identifier: GPL-2.0
/*
 * pagecheck - ground truth about a range of another process's pages, from
 * /proc/PID/pagemap, /proc/kpageflags and /proc/PID/mem. Needs root.
 *
 *   pagecheck --pid P --addr A --pages N [--expect SPEC] [--list] [--json]
 *       One range: prints
 *         pages=N present= swapped= ksm= anon= multi= zero= thp= distinct=
 *         maxshare= [content_ok= content_bad= first_bad=] kpf_ksm_ok=
 *       ksm, anon, zero, thp count pages with that kpageflags bit; multi
 *       those whose page is mapped more than once (/proc/kpagecount);
 *       distinct is the number of different pfns among the present pages,
 *       maxshare the most pages of the range on one pfn. With --expect (a
 *       fill.h spec, page 0 = the page at A) the bytes are compared too.
 *       kpf_ksm_ok is 0 when this kernel's KPF_KSM cannot be trusted: it is
 *       set on a fresh anonymous page of pagecheck's own (Debian's 6.12.95
 *       sets it on every anonymous page); then only pfn equality, multi and
 *       /proc/PID/ksm_merging_pages tell merged pages.
 *
 *   pagecheck --pid P --addr A --pages N --pid2 Q --addr2 B [--json]
 *       Two ranges, page i against page i: prints
 *         pairs=N same_pfn= both_ksm= cross= a_present= a_ksm= a_distinct=
 *         b_present= b_ksm= b_distinct= a_multi= b_multi= kpf_ksm_ok=
 *       same_pfn counts i where both are present on the same pfn; cross
 *       counts i where page i of A shares its pfn with a page j != i of B.
 *
 * --list adds one line per page: "i pfn PKZ map=mapcount kpf=flags" (P, K,
 * Z or '-': present, KPF_KSM, zero page).
 * --json prints the same keys as one JSON object instead.
 * Addresses may be decimal or 0x-hex. The pagemap is read before any content,
 * because reading a missing page through /proc/P/mem would map it.
 * Exit status: 0 when the numbers were printed (the caller asserts them),
 * 1 on errors, 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include "fill.h"
#include "rigtool.h"

#define PM_PRESENT	(1ull << 63)
#define PM_SWAPPED	(1ull << 62)
#define PM_PFN_MASK	((1ull << 55) - 1)

/* include/uapi/linux/kernel-page-flags.h */
#define KPF_ANON	12
#define KPF_KSM		21
#define KPF_THP		22
#define KPF_ZERO_PAGE	24

struct page_info {
	uint64_t pfn;		/* 0 unless present */
	uint64_t flags;		/* /proc/kpageflags */
	uint64_t mapcount;	/* /proc/kpagecount */
	bool present, swapped, ksm, zero, thp, anon;
};

struct range {
	pid_t pid;
	uint64_t addr;
	struct page_info *pg;
	/* summary */
	uint64_t present, swapped, ksm, zero, thp, anon, multi, distinct, maxshare;
};

static int open_proc(pid_t pid, const char *what)
{
	char path[64];
	int fd;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, what);
	else
		snprintf(path, sizeof(path), "/proc/%s", what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	return fd;
}

static void pread_full(int fd, void *buf, size_t len, uint64_t off, const char *what)
{
	ssize_t n;
	size_t done = 0;

	while (done < len) {
		n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read %s at %#" PRIx64 ": %s", what, off + done, strerror(errno));
		if (n == 0)
			die("read %s at %#" PRIx64 ": unexpected end", what, off + done);
		done += (size_t)n;
	}
}

struct pfn_idx {
	uint64_t pfn, idx;
};

static int cmp_pfn_idx(const void *a, const void *b)
{
	const struct pfn_idx *x = a, *y = b;

	if (x->pfn != y->pfn)
		return x->pfn < y->pfn ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Fill r->pg[0..n) from the pagemap, kpageflags and kpagecount, then the summary. */
static void scan_range(struct range *r, uint64_t n, int kpf_fd, int kpc_fd)
{
	uint64_t *pm, *pfns, i, k, run;
	int fd;

	r->pg = calloc(n, sizeof(*r->pg));
	pm = calloc(n, sizeof(*pm));
	pfns = calloc(n, sizeof(*pfns));
	if (!r->pg || !pm || !pfns)
		die("out of memory");

	fd = open_proc(r->pid, "pagemap");
	pread_full(fd, pm, n * sizeof(*pm), r->addr / FILL_PAGE_SIZE * sizeof(*pm), "pagemap");
	close(fd);

	for (i = k = 0; i < n; i++) {
		struct page_info *p = &r->pg[i];
		uint64_t flags;

		p->swapped = pm[i] & PM_SWAPPED;
		p->present = pm[i] & PM_PRESENT;
		if (!p->present)
			continue;
		p->pfn = pm[i] & PM_PFN_MASK;
		if (!p->pfn)
			die("pagemap shows pfn 0 for a present page: not root?");
		pread_full(kpf_fd, &flags, sizeof(flags), p->pfn * sizeof(flags), "/proc/kpageflags");
		pread_full(kpc_fd, &p->mapcount, sizeof(p->mapcount), p->pfn * sizeof(p->mapcount),
			   "/proc/kpagecount");
		p->flags = flags;
		p->ksm = flags & (1ull << KPF_KSM);
		p->zero = flags & (1ull << KPF_ZERO_PAGE);
		p->thp = flags & (1ull << KPF_THP);
		p->anon = flags & (1ull << KPF_ANON);
		r->present++;
		r->ksm += p->ksm;
		r->zero += p->zero;
		r->thp += p->thp;
		r->anon += p->anon;
		r->multi += p->mapcount > 1;
		pfns[k++] = p->pfn;
	}
	for (i = 0; i < n; i++)
		r->swapped += r->pg[i].swapped;

	qsort(pfns, k, sizeof(*pfns), cmp_u64);
	for (i = 0, run = 0; i < k; i++) {
		if (i == 0 || pfns[i] != pfns[i - 1]) {
			r->distinct++;
			run = 0;
		}
		if (++run > r->maxshare)
			r->maxshare = run;
	}
	free(pm);
	free(pfns);
}

/* Compare each page's bytes with the fill; returns the number that match. */
static uint64_t check_content(const struct range *r, uint64_t n, const struct fill_params *fp,
			      int64_t *first_bad)
{
	unsigned char want[FILL_PAGE_SIZE], got[FILL_PAGE_SIZE];
	uint64_t i, ok = 0;
	int fd;

	*first_bad = -1;
	fd = open_proc(r->pid, "mem");
	for (i = 0; i < n; i++) {
		fill_page(fp, i, want);
		pread_full(fd, got, sizeof(got), r->addr + i * FILL_PAGE_SIZE, "mem");
		if (memcmp(want, got, sizeof(got)) == 0)
			ok++;
		else if (*first_bad < 0)
			*first_bad = (int64_t)i;
	}
	close(fd);
	return ok;
}

/* key=value pairs or one JSON object, built up by put(). */
static bool json;
static int nput;

static void put(const char *key, int64_t v)
{
	if (json)
		printf("%s\"%s\":%" PRId64, nput ? "," : "{", key, v);
	else
		printf("%s%s=%" PRId64, nput ? " " : "", key, v);
	nput++;
}

static void put_end(void)
{
	puts(json ? "}" : "");
}

static void list_pages(const struct range *r, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		const struct page_info *p = &r->pg[i];

		printf("%" PRIu64 " %#" PRIx64 " %c%c%c map=%" PRIu64 " kpf=%#" PRIx64 "\n", i,
		       p->pfn, p->present ? 'P' : '-', p->ksm ? 'K' : '-', p->zero ? 'Z' : '-',
		       p->mapcount, p->flags);
	}
}

/*
 * Does KPF_KSM mean KSM on this kernel? Some kernels (seen on Debian's
 * 6.12.95) set it for every anonymous page: test it on a page of our own
 * that KSM never saw.
 */
static bool kpf_ksm_trustworthy(int kpf_fd)
{
	uint64_t pm, flags;
	volatile char *p;
	int fd;

	p = mmap(NULL, FILL_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	p[0] = 1;
	fd = open_proc(getpid(), "pagemap");
	pread_full(fd, &pm, sizeof(pm), (uintptr_t)p / FILL_PAGE_SIZE * sizeof(pm), "own pagemap");
	close(fd);
	if (!(pm & PM_PRESENT) || !(pm & PM_PFN_MASK))
		die("own page not in the pagemap: not root?");
	pread_full(kpf_fd, &flags, sizeof(flags), (pm & PM_PFN_MASK) * sizeof(flags),
		   "/proc/kpageflags");
	munmap((void *)p, FILL_PAGE_SIZE);
	return !(flags & (1ull << KPF_KSM));
}

static uint64_t parse_num(const char *opt, const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		usage_error("%s '%s': not a number", opt, s);
	v = strtoull(s, &end, 0);
	if (errno || *end)
		usage_error("%s '%s': not a number", opt, s);
	return v;
}

static void usage(void)
{
	puts("usage: pagecheck --pid P --addr A --pages N [--expect SPEC] [--list] [--json]\n"
	     "       pagecheck --pid P --addr A --pages N --pid2 Q --addr2 B [--json]\n"
	     "\n"
	     "Counts present/ksm/zero pages and distinct pfns of N pages at address A of\n"
	     "process P (pagemap + kpageflags); --expect also compares their bytes with a\n"
	     "minivmm fill (zero, same:S, seed:S, unique:T); with --pid2/--addr2 compares\n"
	     "two ranges page by page. Needs root.");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "addr", required_argument, NULL, 'a' },
		{ "pages", required_argument, NULL, 'n' },
		{ "pid2", required_argument, NULL, 'P' },
		{ "addr2", required_argument, NULL, 'A' },
		{ "expect", required_argument, NULL, 'e' },
		{ "list", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct range a = { 0 }, b = { 0 };
	bool have_addr = false, have_addr2 = false, list = false;
	const char *expect = NULL, *why = "";
	struct fill_params fp;
	uint64_t n = 0, i, j, ok;
	int64_t first_bad;
	int c, kpf, kpc;
	bool kpf_ok;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': a.pid = (pid_t)parse_num("--pid", optarg); break;
		case 'a': a.addr = parse_num("--addr", optarg); have_addr = true; break;
		case 'n': n = parse_num("--pages", optarg); break;
		case 'P': b.pid = (pid_t)parse_num("--pid2", optarg); break;
		case 'A': b.addr = parse_num("--addr2", optarg); have_addr2 = true; break;
		case 'e': expect = optarg; break;
		case 'l': list = true; break;
		case 'j': json = true; break;
		case 'h': usage(); return 0;
		default: usage_error("bad arguments");
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (a.pid <= 0 || !have_addr || !n)
		usage_error("--pid, --addr and --pages (> 0) are required");
	if (n > (1u << 24))
		usage_error("--pages %" PRIu64 ": at most %u", n, 1u << 24);
	if ((a.addr | b.addr) % FILL_PAGE_SIZE)
		usage_error("addresses must be 4 KiB aligned");
	if ((b.pid > 0) != have_addr2)
		usage_error("--pid2 and --addr2 go together");
	if (b.pid > 0 && (expect || list))
		usage_error("--expect and --list take one range");
	if (expect && fill_parse(expect, &fp, &why))
		usage_error("--expect '%s': %s", expect, why);

	kpf = open_proc(0, "kpageflags");
	kpc = open_proc(0, "kpagecount");
	kpf_ok = kpf_ksm_trustworthy(kpf);
	scan_range(&a, n, kpf, kpc);

	if (b.pid <= 0) {
		put("pages", (int64_t)n);
		put("present", (int64_t)a.present);
		put("swapped", (int64_t)a.swapped);
		put("ksm", (int64_t)a.ksm);
		put("anon", (int64_t)a.anon);
		put("multi", (int64_t)a.multi);
		put("zero", (int64_t)a.zero);
		put("thp", (int64_t)a.thp);
		put("distinct", (int64_t)a.distinct);
		put("maxshare", (int64_t)a.maxshare);
		if (expect) {
			ok = check_content(&a, n, &fp, &first_bad);
			put("content_ok", (int64_t)ok);
			put("content_bad", (int64_t)(n - ok));
			put("first_bad", first_bad);
		}
		put("kpf_ksm_ok", kpf_ok);
		put_end();
		if (list)
			list_pages(&a, n);
		return 0;
	}

	scan_range(&b, n, kpf, kpc);
	{
		uint64_t same = 0, both_ksm = 0, cross = 0;

		for (i = 0; i < n; i++) {
			if (a.pg[i].present && b.pg[i].present && a.pg[i].pfn == b.pg[i].pfn)
				same++;
			both_ksm += a.pg[i].ksm && b.pg[i].ksm;
		}
		/* cross: look each pfn of A up among B's (pfn, index) pairs. */
		struct pfn_idx *sorted = calloc(n, sizeof(*sorted));
		uint64_t m = 0, lo, hi, mid;

		if (!sorted)
			die("out of memory");
		for (j = 0; j < n; j++)
			if (b.pg[j].present)
				sorted[m++] = (struct pfn_idx){ b.pg[j].pfn, j };
		qsort(sorted, m, sizeof(*sorted), cmp_pfn_idx);
		for (i = 0; i < n; i++) {
			if (!a.pg[i].present)
				continue;
			lo = 0;
			hi = m;
			while (lo < hi) {	/* first entry with pfn >= a's */
				mid = lo + (hi - lo) / 2;
				if (sorted[mid].pfn < a.pg[i].pfn)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (j = lo; j < m && sorted[j].pfn == a.pg[i].pfn; j++) {
				if (sorted[j].idx != i) {
					cross++;
					break;
				}
			}
		}
		free(sorted);
		put("pairs", (int64_t)n);
		put("same_pfn", (int64_t)same);
		put("both_ksm", (int64_t)both_ksm);
		put("cross", (int64_t)cross);
		put("a_present", (int64_t)a.present);
		put("a_ksm", (int64_t)a.ksm);
		put("a_distinct", (int64_t)a.distinct);
		put("b_present", (int64_t)b.present);
		put("b_ksm", (int64_t)b.ksm);
		put("b_distinct", (int64_t)b.distinct);
		put("a_multi", (int64_t)a.multi);
		put("b_multi", (int64_t)b.multi);
		put("kpf_ksm_ok", kpf_ok);
		put_end();
	}
	return 0;
}
