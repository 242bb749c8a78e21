// SPDX-License-Identifier: GPL-2.0
/*
 * minivmm - a tiny VMM on the raw /dev/kvm API whose guest fills pages with
 * known contents, for SELF-e's tests (page faults, KSM sharing).
 *
 *   minivmm [--mem MIB] --pages N --fill MODE [--hold SEC] [--rewrite K]
 *           [--no-merge] [--wait-start] [--slot-churn]
 *           [--loop SEC [--loop-pages K] [--loop-stride S]] [--dontneed D]
 *
 * Guest memory: one slot of --mem MiB (default 16) at guest-physical 0, backed
 * by anonymous private memory with MADV_NOHUGEPAGE (so KSM and page counts are
 * per 4 KiB page) and MADV_MERGEABLE (unless --no-merge).
 *
 * Guest layout (fixed, so later tests can name these pages):
 *   0x1000          GUEST_CODE_GPA: the code page. Guest code at its start, the
 *                   parameter block at GUEST_PARAM_GPA = 0x1800. The VMM
 *                   writes it; the guest fetches from it and reads it, so it
 *                   shows up as touched.
 *   0x100000        GUEST_DATA_GPA (1 MiB): the N data pages, written only by
 *                   the guest.
 *   everything else is never touched.
 *
 * The guest runs in 32-bit protected mode, flat segments, no paging,
 * interrupts off. Its loop writes every 8-byte word of N pages (see fill.h
 * for the contents), so each first write is a guest page fault that KVM
 * resolves, then it halts.
 *
 * MODE: unique | zero | same:S | seed:S (fill.h). unique becomes
 * unique:<pid>.<ns>, printed as "fill" in the start line.
 *
 * Phases:
 *   1. print the start line (with --wait-start, then stop with SIGSTOP until
 *      SIGCONT, so a tracer can attach to the VM before its guest runs), run
 *      the guest until HLT, print {"event":"halted"};
 *   2. keep the VM alive for --hold seconds;
 *   2b. with --loop SEC: for SEC seconds (or until SIGUSR1), the guest reads
 *      one word of each of K data pages, pages 0, S, 2S, ... (K-1)S, over and
 *      over (LOOP_PASSES_PER_RUN passes per KVM_RUN), then prints
 *      {"event":"looped"}. The pages it keeps touching are known exactly, for
 *      working-set tests; passes per second measure the guest's speed;
 *   2c. with --dontneed D: drop the first D data pages from the host
 *      (MADV_DONTNEED, as a balloon driver's VMM does), print
 *      {"event":"dontneed"}, hold again;
 *   3. with --slot-churn: give the VM a second memslot (slot 1, 16 pages of
 *      its own memory at guest-physical 1 GiB), move it to 1.25 GiB, turn on
 *      its dirty logging, delete it, and print {"event":"slots"};
 *   4. with --rewrite K: run the guest again to write the first K pages with
 *      new unique contents (no other page holds them, so this breaks KSM
 *      sharing), print {"event":"rewritten"}, hold again;
 *   5. exit 0.
 * SIGUSR1 ends the current hold at once (or the next one, if it comes during
 * a guest run), so tests need not guess how long to hold.
 *
 * stdout carries JSON lines only, each flushed at once:
 *   {"pid":P,"gpa":1048576,"pages":N,"hva":H,"mem_bytes":M,"code_gpa":4096,
 *    "fill":"seed:7","merge":true}                       (before the guest runs)
 *   {"event":"halted","pages":N,"run_ms":T}
 *   {"event":"looped","pages":K,"stride":S,"passes":P,"run_ms":T}
 *   {"event":"dontneed","pages":D}
 *   {"event":"slots","slot":1,"hva":H1,"pages":16,"gpa":G1,"moved_gpa":G2}
 *   {"event":"rewritten","pages":K,"fill":"unique:...","run_ms":T}
 * hva is the host virtual address of guest-physical 0, so page i of the fill
 * is at hva + gpa + 4096 * i in this process (/proc/P/mem, /proc/P/pagemap).
 * Errors go to stderr; any error exits 1, bad arguments exit 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "fill.h"
#include "rigtool.h"

/* No integer suffixes: GUEST_PARAM_GPA is also pasted into the guest's assembly. */
#define GUEST_CODE_GPA	0x1000
#define GUEST_PARAM_GPA	0x1800
#define GUEST_DATA_GPA	0x100000
#define MIB		(1024ull * 1024ull)
#define MAX_MEM_MIB	4095	/* the 32-bit guest addresses below 4 GiB */
#define LOOP_PASSES_PER_RUN 64	/* a guest run is short enough to check the clock between runs */

/*
 * The guest code, 32-bit. In: eax = a, edx = b (fill.h), ecx = pages (>= 1),
 * edi = first page's gpa; the parameter block holds sa, sb, ca, cb. Out: at
 * HLT, ecx = 0 and edi = the end of the last page (the VMM checks both).
 */
#define STR(x) #x
#define XSTR(x) STR(x)
__asm__(
	".pushsection .rodata\n"
	".globl minivmm_guest, minivmm_guest_end\n"
	"minivmm_guest:\n"
	".code32\n"
	"1:	movl %eax, %ebx\n"		/* lo of word 0 of this page */
	"	movl %edx, %ebp\n"		/* hi */
	"2:	movl %ebx, (%edi)\n"
	"	movl %ebp, 4(%edi)\n"
	"	addl " XSTR(GUEST_PARAM_GPA) "+8, %ebx\n"	/* += ca (absolute) */
	"	addl " XSTR(GUEST_PARAM_GPA) "+12, %ebp\n"	/* += cb */
	"	addl $8, %edi\n"
	"	testl $0xfff, %edi\n"
	"	jnz 2b\n"
	"	addl " XSTR(GUEST_PARAM_GPA) "+0, %eax\n"	/* += sa */
	"	addl " XSTR(GUEST_PARAM_GPA) "+4, %edx\n"	/* += sb */
	"	decl %ecx\n"
	"	jnz 1b\n"
	"3:	hlt\n"
	"	jmp 3b\n"
	/*
	 * The loop: in ecx = passes (>= 1), edx = pages per pass (>= 1), edi =
	 * first page's gpa, esi = stride in bytes. Reads one word of each page.
	 * Out: at HLT, ecx = 0.
	 */
	".globl minivmm_loop\n"
	"minivmm_loop:\n"
	"4:	movl %edx, %ebx\n"
	"	movl %edi, %ebp\n"
	"5:	movl (%ebp), %eax\n"
	"	addl %esi, %ebp\n"
	"	decl %ebx\n"
	"	jnz 5b\n"
	"	decl %ecx\n"
	"	jnz 4b\n"
	"6:	hlt\n"
	"	jmp 6b\n"
	".code64\n"
	"minivmm_guest_end:\n"
	".popsection\n");
extern const unsigned char minivmm_guest[], minivmm_loop[], minivmm_guest_end[];

struct vm {
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;		/* host mapping of guest-physical 0 */
	uint64_t mem_bytes;
};

static long xioctl(int fd, unsigned long req, void *arg, const char *name)
{
	long r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		die("%s: %s", name, strerror(errno));
	return r;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts))
		die("clock_gettime: %s", strerror(errno));
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* kvm_util.c's vm_create(), reduced to what this guest needs. */
static void vm_create(struct vm *vm)
{
	long n;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		die("open /dev/kvm: %s", strerror(errno));
	n = xioctl(vm->kvm_fd, KVM_GET_API_VERSION, NULL, "KVM_GET_API_VERSION");
	if (n != KVM_API_VERSION)
		die("KVM API version %ld, expected %d", n, KVM_API_VERSION);
	if (xioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, (void *)(long)KVM_CAP_USER_MEMORY,
		   "KVM_CHECK_EXTENSION") <= 0)
		die("KVM lacks KVM_CAP_USER_MEMORY");
	vm->vm_fd = (int)xioctl(vm->kvm_fd, KVM_CREATE_VM, (void *)0, "KVM_CREATE_VM");
}

/* Anonymous private guest RAM at guest-physical 0, as slot 0. */
static void vm_add_memory(struct vm *vm, uint64_t bytes, bool merge)
{
	struct kvm_userspace_memory_region region = { 0 };
	void *p;

	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		die("mmap %" PRIu64 " bytes of guest memory: %s", bytes, strerror(errno));
	/* Per-4K pages: a THP would be one KSM/pagemap unit for 512 pages. */
	if (madvise(p, bytes, MADV_NOHUGEPAGE))
		die("madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
	if (merge && madvise(p, bytes, MADV_MERGEABLE))
		die("madvise(MADV_MERGEABLE): %s (kernel without KSM?)", strerror(errno));
	vm->mem = p;
	vm->mem_bytes = bytes;

	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = bytes;
	region.userspace_addr = (uintptr_t)p;
	xioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION");
}

#define CHURN_SLOT	1
#define CHURN_PAGES	16
#define CHURN_GPA	(1ULL << 30)
#define CHURN_MOVED_GPA	(5ULL << 28)

/*
 * Every kind of memslot change KVM has, on a slot of its own: create, move,
 * flags only, delete. The memory stays mapped (KVM never owned it).
 */
static void vm_slot_churn(struct vm *vm)
{
	struct kvm_userspace_memory_region region = { 0 };
	size_t bytes = CHURN_PAGES * FILL_PAGE_SIZE;
	void *p;

	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap %zu bytes for slot %d: %s", bytes, CHURN_SLOT, strerror(errno));
	region.slot = CHURN_SLOT;
	region.guest_phys_addr = CHURN_GPA;
	region.memory_size = bytes;
	region.userspace_addr = (uintptr_t)p;
	xioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION (create)");
	region.guest_phys_addr = CHURN_MOVED_GPA;
	xioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION (move)");
	region.flags = KVM_MEM_LOG_DIRTY_PAGES;
	xioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION (flags)");
	region.memory_size = 0;
	xioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION (delete)");
	printf("{\"event\":\"slots\",\"slot\":%d,\"hva\":%" PRIuPTR ",\"pages\":%d,\"gpa\":%llu"
	       ",\"moved_gpa\":%llu}\n", CHURN_SLOT, (uintptr_t)p, CHURN_PAGES, CHURN_GPA,
	       CHURN_MOVED_GPA);
	fflush(stdout);
}

static void vm_vcpu_add(struct vm *vm)
{
	long size;

	vm->vcpu_fd = (int)xioctl(vm->vm_fd, KVM_CREATE_VCPU, (void *)0, "KVM_CREATE_VCPU");
	size = xioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, NULL, "KVM_GET_VCPU_MMAP_SIZE");
	if (size < (long)sizeof(struct kvm_run))
		die("KVM_GET_VCPU_MMAP_SIZE returned %ld", size);
	vm->run_size = (size_t)size;
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED)
		die("mmap kvm_run: %s", strerror(errno));
}

static void set_flat_segment(struct kvm_segment *s, uint16_t selector, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = selector;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->db = 1;
	s->g = 1;
}

/* 32-bit protected mode, flat, no paging: the loaded descriptor caches are
 * enough, the guest never reloads a segment, so no GDT is needed. */
static void vcpu_setup_pm32(struct vm *vm)
{
	struct kvm_sregs sregs;

	xioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
	set_flat_segment(&sregs.cs, 0x08, 0x0b);	/* code, execute/read, accessed */
	set_flat_segment(&sregs.ds, 0x10, 0x03);	/* data, read/write, accessed */
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 = 0x11;				/* PE | ET; caches on */
	sregs.cr4 = 0;
	sregs.efer = 0;
	xioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
}

static void write_guest_code(struct vm *vm, const struct fill_params *p)
{
	size_t len = (size_t)(minivmm_guest_end - minivmm_guest);
	uint32_t param[4] = { p->sa, p->sb, p->ca, p->cb };

	if (len > GUEST_PARAM_GPA - GUEST_CODE_GPA)
		die("guest code is %zu bytes, too large", len);
	memcpy(vm->mem + GUEST_CODE_GPA, minivmm_guest, len);
	memcpy(vm->mem + GUEST_PARAM_GPA, param, sizeof(param));
}

/* KVM_RUN until the guest halts; any other exit is an error. */
static void vcpu_run_to_hlt(struct vm *vm)
{
	for (;;) {
		if (ioctl(vm->vcpu_fd, KVM_RUN, NULL) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die("KVM_RUN: %s", strerror(errno));
		}
		switch (vm->run->exit_reason) {
		case KVM_EXIT_HLT:
			break;
		case KVM_EXIT_INTR:
			continue;
		case KVM_EXIT_FAIL_ENTRY:
			die("KVM_RUN: entry failed, hardware reason 0x%llx",
			    (unsigned long long)vm->run->fail_entry.hardware_entry_failure_reason);
		case KVM_EXIT_INTERNAL_ERROR:
			die("KVM_RUN: internal error, suberror %u",
			    vm->run->internal.suberror);
		case KVM_EXIT_SHUTDOWN:
			die("KVM_RUN: guest shut down (triple fault)");
		default:
			die("KVM_RUN: unexpected exit reason %u", vm->run->exit_reason);
		}
		break;
	}
}

/* Run the guest loop over pages [0, n) of the data area; returns ns taken. */
static uint64_t run_fill(struct vm *vm, const struct fill_params *p, uint64_t n)
{
	struct kvm_regs regs = { 0 };
	uint64_t t0, t;

	write_guest_code(vm, p);
	regs.rflags = 0x2;
	regs.rip = GUEST_CODE_GPA;
	regs.rax = p->a;
	regs.rdx = p->b;
	regs.rcx = n;
	regs.rdi = GUEST_DATA_GPA;
	xioctl(vm->vcpu_fd, KVM_SET_REGS, &regs, "KVM_SET_REGS");

	t0 = now_ns();
	vcpu_run_to_hlt(vm);
	t = now_ns() - t0;

	/* The guest's own registers say whether it wrote what it was asked to. */
	xioctl(vm->vcpu_fd, KVM_GET_REGS, &regs, "KVM_GET_REGS");
	if ((uint32_t)regs.rcx != 0 ||
	    (uint32_t)regs.rdi != (uint32_t)(GUEST_DATA_GPA + n * FILL_PAGE_SIZE))
		die("guest halted early: ecx=%#llx edi=%#llx rip=%#llx, expected ecx=0 edi=%#llx",
		    (unsigned long long)regs.rcx, (unsigned long long)regs.rdi,
		    (unsigned long long)regs.rip,
		    (unsigned long long)(GUEST_DATA_GPA + n * FILL_PAGE_SIZE));
	return t;
}

/* Whether SIGUSR1 came (and take it). */
static bool sigusr1_taken(void)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	return sigtimedwait(&set, NULL, &zero) == SIGUSR1;
}

/*
 * Read pages 0, stride, 2 stride, ... (k pages) of the data area over and over
 * for SEC seconds or until SIGUSR1; returns ns taken, *passes the passes run.
 */
static uint64_t run_loop(struct vm *vm, uint64_t k, uint64_t stride, double sec,
			 uint64_t *passes)
{
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(sec * 1e9);
	struct kvm_regs regs;

	*passes = 0;
	while (now_ns() < end && !sigusr1_taken()) {
		memset(&regs, 0, sizeof(regs));
		regs.rflags = 0x2;
		regs.rip = GUEST_CODE_GPA + (uint64_t)(minivmm_loop - minivmm_guest);
		regs.rcx = LOOP_PASSES_PER_RUN;
		regs.rdx = k;
		regs.rdi = GUEST_DATA_GPA;
		regs.rsi = stride * FILL_PAGE_SIZE;
		xioctl(vm->vcpu_fd, KVM_SET_REGS, &regs, "KVM_SET_REGS");
		vcpu_run_to_hlt(vm);
		xioctl(vm->vcpu_fd, KVM_GET_REGS, &regs, "KVM_GET_REGS");
		if ((uint32_t)regs.rcx != 0)
			die("guest loop halted early: ecx=%#llx rip=%#llx",
			    (unsigned long long)regs.rcx, (unsigned long long)regs.rip);
		*passes += LOOP_PASSES_PER_RUN;
	}
	return now_ns() - t0;
}

/* Wait SEC seconds, or until SIGUSR1 (blocked, so it cannot be lost). */
static void hold(double sec)
{
	uint64_t end = now_ns() + (uint64_t)(sec * 1e9);
	struct timespec ts;
	sigset_t set;
	uint64_t left, t;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		t = now_ns();
		if (t >= end)
			return;
		left = end - t;
		ts.tv_sec = (time_t)(left / 1000000000ull);
		ts.tv_nsec = (long)(left % 1000000000ull);
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGUSR1)
			return;
		if (sig < 0 && errno != EAGAIN && errno != EINTR)
			die("sigtimedwait: %s", strerror(errno));
	}
}

/* unique:<pid>.<ns>: pid and time make it differ across VMs and runs. */
static void unique_spec(char *buf, size_t len)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts))
		die("clock_gettime: %s", strerror(errno));
	snprintf(buf, len, "unique:%ld.%lld%09ld", (long)getpid(),
		 (long long)ts.tv_sec, ts.tv_nsec);
}

static uint64_t parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		usage_error("%s '%s': not a number", opt, s);
	v = strtoull(s, &end, 10);
	if (errno || *end)
		usage_error("%s '%s': not a number", opt, s);
	if (v < min || v > max)
		usage_error("%s %llu: must be %" PRIu64 "..%" PRIu64, opt, v, min, max);
	return v;
}

static double parse_seconds(const char *opt, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0 && v <= 1e6))
		usage_error("%s '%s': must be seconds, 0..1000000", opt, s);
	return v;
}

static void usage(void)
{
	puts("usage: minivmm [--mem MIB] --pages N --fill MODE [--hold SEC] [--rewrite K] [--no-merge]\n"
	     "               [--wait-start] [--slot-churn] [--loop SEC [--loop-pages K] [--loop-stride S]]\n"
	     "\n"
	     "Run a KVM guest that writes N 4 KiB pages from guest-physical 1 MiB, then halts.\n"
	     "\n"
	     "  --mem MIB     guest memory in MiB (default 16); N pages must fit above 1 MiB\n"
	     "  --pages N     pages the guest writes\n"
	     "  --fill MODE   unique | zero | same:S | seed:S (see fill.h)\n"
	     "  --hold SEC    keep the VM alive SEC seconds after each phase (default 0);\n"
	     "                SIGUSR1 ends a hold early\n"
	     "  --rewrite K   after the first hold, the guest rewrites the first K pages with\n"
	     "                new unique contents, then holds again\n"
	     "  --no-merge    do not madvise(MADV_MERGEABLE) the guest memory\n"
	     "  --wait-start  stop (SIGSTOP) after the start line until SIGCONT\n"
	     "  --slot-churn  after the first hold, create, move, flag and delete a second\n"
	     "                memslot\n"
	     "  --loop SEC    after the first hold, the guest reads data pages 0, S, 2S, ...\n"
	     "                (K of them) over and over for SEC seconds (SIGUSR1 ends it)\n"
	     "  --loop-pages K   pages the loop touches (default: all N)\n"
	     "  --loop-stride S  distance between them, in pages (default 1)\n"
	     "  --dontneed D  after the first hold (and loop), drop the first D data pages from\n"
	     "                the host (MADV_DONTNEED), then hold again\n"
	     "\n"
	     "stdout: one JSON line at start (pid, gpa, pages, hva, mem_bytes, code_gpa,\n"
	     "fill, merge), then {\"event\":\"halted\"}, {\"event\":\"looped\"}, {\"event\":\"slots\"} and\n"
	     "{\"event\":\"rewritten\"} lines.");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "pages", required_argument, NULL, 'p' },
		{ "fill", required_argument, NULL, 'f' },
		{ "hold", required_argument, NULL, 'H' },
		{ "rewrite", required_argument, NULL, 'r' },
		{ "no-merge", no_argument, NULL, 'n' },
		{ "wait-start", no_argument, NULL, 'w' },
		{ "slot-churn", no_argument, NULL, 's' },
		{ "loop", required_argument, NULL, 'L' },
		{ "loop-pages", required_argument, NULL, 'K' },
		{ "loop-stride", required_argument, NULL, 'S' },
		{ "dontneed", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t mem_mib = 16, pages = 0, rewrite = 0, room, t;
	uint64_t loop_pages = 0, loop_stride = 1, passes, dontneed = 0;
	const char *fill = NULL, *why = "";
	char spec[128], respec[128];
	struct fill_params fp, rp;
	bool merge = true, wait_start = false, slot_churn = false;
	double hold_sec = 0, loop_sec = 0;
	struct vm vm;
	sigset_t set;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': mem_mib = parse_u64("--mem", optarg, 2, MAX_MEM_MIB); break;
		case 'p': pages = parse_u64("--pages", optarg, 1, UINT32_MAX); break;
		case 'f': fill = optarg; break;
		case 'H': hold_sec = parse_seconds("--hold", optarg); break;
		case 'r': rewrite = parse_u64("--rewrite", optarg, 1, UINT32_MAX); break;
		case 'n': merge = false; break;
		case 'w': wait_start = true; break;
		case 's': slot_churn = true; break;
		case 'L': loop_sec = parse_seconds("--loop", optarg); break;
		case 'K': loop_pages = parse_u64("--loop-pages", optarg, 1, UINT32_MAX); break;
		case 'S': loop_stride = parse_u64("--loop-stride", optarg, 1, UINT32_MAX); break;
		case 'D': dontneed = parse_u64("--dontneed", optarg, 1, UINT32_MAX); break;
		case 'h': usage(); return 0;
		default: usage_error("bad arguments");
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!pages)
		usage_error("--pages is required");
	if (!fill)
		usage_error("--fill is required");
	room = (mem_mib * MIB - GUEST_DATA_GPA) / FILL_PAGE_SIZE;
	if (pages > room)
		usage_error("--pages %" PRIu64 " does not fit: --mem %" PRIu64
			    " leaves %" PRIu64 " pages above 1 MiB", pages, mem_mib, room);
	if (rewrite > pages)
		usage_error("--rewrite %" PRIu64 " is more than --pages %" PRIu64, rewrite, pages);
	if (dontneed > pages)
		usage_error("--dontneed %" PRIu64 " is more than --pages %" PRIu64, dontneed, pages);
	if ((loop_pages || loop_stride != 1) && !loop_sec)
		usage_error("--loop-pages and --loop-stride need --loop SEC");
	if (!loop_pages)
		loop_pages = (pages + loop_stride - 1) / loop_stride;
	if ((loop_pages - 1) * loop_stride >= pages)
		usage_error("--loop-pages %" PRIu64 " with --loop-stride %" PRIu64
			    " reaches past --pages %" PRIu64, loop_pages, loop_stride, pages);
	if (strcmp(fill, "unique") == 0)
		unique_spec(spec, sizeof(spec));
	else if (strncmp(fill, "unique:", 7) == 0)
		usage_error("--fill unique takes no token: minivmm makes one");
	else if ((size_t)snprintf(spec, sizeof(spec), "%s", fill) >= sizeof(spec))
		usage_error("--fill '%s': longer than %zu characters", fill, sizeof(spec) - 1);
	if (fill_parse(spec, &fp, &why))
		usage_error("--fill '%s': %s", fill, why);
	/* JSON strings below are printed raw: keep them plain. */
	if (strpbrk(spec, "\"\\") || strpbrk(spec, "\n\t"))
		usage_error("--fill '%s': no quotes, backslashes or control characters", fill);

	/* Blocked for good: hold() takes it with sigtimedwait(). */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		die("sigprocmask: %s", strerror(errno));
	if (setvbuf(stdout, NULL, _IOLBF, 0))
		die("setvbuf failed");

	memset(&vm, 0, sizeof(vm));
	vm_create(&vm);
	vm_add_memory(&vm, mem_mib * MIB, merge);
	vm_vcpu_add(&vm);
	vcpu_setup_pm32(&vm);

	printf("{\"pid\":%ld,\"gpa\":%d,\"pages\":%" PRIu64 ",\"hva\":%" PRIuPTR
	       ",\"mem_bytes\":%" PRIu64 ",\"code_gpa\":%d,\"fill\":\"%s\",\"merge\":%s}\n",
	       (long)getpid(), GUEST_DATA_GPA, pages, (uintptr_t)vm.mem, vm.mem_bytes,
	       GUEST_CODE_GPA, spec, merge ? "true" : "false");
	fflush(stdout);
	if (wait_start && raise(SIGSTOP))
		die("raise(SIGSTOP): %s", strerror(errno));

	t = run_fill(&vm, &fp, pages);
	printf("{\"event\":\"halted\",\"pages\":%" PRIu64 ",\"run_ms\":%" PRIu64 "}\n",
	       pages, t / 1000000);
	fflush(stdout);
	hold(hold_sec);

	if (loop_sec) {
		t = run_loop(&vm, loop_pages, loop_stride, loop_sec, &passes);
		printf("{\"event\":\"looped\",\"pages\":%" PRIu64 ",\"stride\":%" PRIu64
		       ",\"passes\":%" PRIu64 ",\"run_ms\":%" PRIu64 "}\n",
		       loop_pages, loop_stride, passes, t / 1000000);
		fflush(stdout);
	}
	if (dontneed) {
		if (madvise(vm.mem + GUEST_DATA_GPA, dontneed * FILL_PAGE_SIZE, MADV_DONTNEED))
			die("madvise(MADV_DONTNEED) of %" PRIu64 " pages: %s", dontneed, strerror(errno));
		printf("{\"event\":\"dontneed\",\"pages\":%" PRIu64 "}\n", dontneed);
		fflush(stdout);
		hold(hold_sec);
	}
	if (slot_churn)
		vm_slot_churn(&vm);
	if (rewrite) {
		unique_spec(respec, sizeof(respec));
		if (fill_parse(respec, &rp, &why))
			die("internal: rewrite spec '%s': %s", respec, why);
		t = run_fill(&vm, &rp, rewrite);
		printf("{\"event\":\"rewritten\",\"pages\":%" PRIu64 ",\"fill\":\"%s\",\"run_ms\":%"
		       PRIu64 "}\n", rewrite, respec, t / 1000000);
		fflush(stdout);
		hold(hold_sec);
	}
	if (fflush(stdout) || ferror(stdout))
		die("writing stdout: %s", strerror(errno));
	return 0;
}
