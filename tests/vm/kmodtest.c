// SPDX-License-Identifier: GPL-2.0
/*
 * kmodtest - in-guest tests of self_e.ko's interface against ground truth.
 *
 *   kmodtest faults | two-vms | readers | overflow | watermark | bad-input | netlink
 *            | garbage-tails | no-leaks		(the security model's, 72-security.sh)
 *   KMODTEST_PID=P KMODTEST_MS=T kmodtest cycle-reader	(attach to P's VM, read T ms;
 *	KMODTEST_RING_BYTES=B asks for a ring of B bytes, KMODTEST_WATERMARK=W
 *	blocks in poll() for W records a lane instead of draining every 10 ms)
 *
 * Each test starts minivmm VMs with --wait-start (the VMM stops itself after
 * its start line, before the guest runs), attaches, lets the guest run, and
 * reads events through the mmapped ring with the very code the module
 * produces with (kmod/self_e_ring.h). The guest's page pattern is the ground
 * truth: minivmm's guest touches its code page and exactly the N data pages,
 * writing each. Prints "PASS kmod/<test>" or "FAIL kmod/<test>: why" lines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "uapi/self_e.h"
#include "self_e_ring.h"

#define DEV "/dev/self-e"
#define PAGE 4096ULL

static const char *test_name;
static int failures;

/* VMMs this test started: none may outlive it (a stopped one would hang the rig). */
static pid_t children[16];
static int nr_children;

static void kill_children(void)
{
	int i;

	for (i = 0; i < nr_children; i++)
		if (children[i] > 0 && kill(children[i], SIGKILL) == 0)
			waitpid(children[i], NULL, 0);
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL kmod/%s: ", test_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	failures++;
}

#define CHECK(cond, ...)                  \
	do {                              \
		if (!(cond)) {            \
			fail(__VA_ARGS__);  \
			return -1;        \
		}                         \
	} while (0)

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* ---- VMs ------------------------------------------------------------------ */

struct vm {
	pid_t pid;
	uint64_t gpa, pages, hva, mem_bytes, code_gpa;
	FILE *out;
};

static uint64_t json_u64(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(line, pat);
	return p ? strtoull(p + strlen(pat), NULL, 10) : UINT64_MAX;
}

/* Start minivmm stopped before its guest runs; fills @vm from its start line. */
/* The VMM holds its VM @hold seconds after the guest halts (SIGUSR1 ends that). */
static int vm_start_hold(struct vm *vm, uint64_t pages, const char *fill, const char *hold)
{
	char npages[32], line[512];
	int fds[2], status;
	pid_t pid;

	snprintf(npages, sizeof(npages), "%" PRIu64, pages);
	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execlp("minivmm", "minivmm", "--pages", npages, "--fill", fill,
		       "--wait-start", "--hold", hold, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	if (pid > 0 && nr_children < (int)(sizeof(children) / sizeof(children[0])))
		children[nr_children++] = pid;
	vm->out = fdopen(fds[0], "r");
	if (pid < 0 || !vm->out || !fgets(line, sizeof(line), vm->out)) {
		fail("minivmm did not start");
		return -1;
	}
	vm->pid = (pid_t)json_u64(line, "pid");
	vm->gpa = json_u64(line, "gpa");
	vm->pages = json_u64(line, "pages");
	vm->hva = json_u64(line, "hva");
	vm->mem_bytes = json_u64(line, "mem_bytes");
	vm->code_gpa = json_u64(line, "code_gpa");
	/* The start line comes just before it stops itself; wait for the stop. */
	if (vm->pid != pid || waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) {
		fail("minivmm %d did not stop before its guest ran", pid);
		return -1;
	}
	return 0;
}

static int vm_start(struct vm *vm, uint64_t pages, const char *fill)
{
	return vm_start_hold(vm, pages, fill, "0");
}

static void vm_go(struct vm *vm)
{
	kill(vm->pid, SIGCONT);
}

static int vm_wait(struct vm *vm)
{
	int status, i;

	if (waitpid(vm->pid, &status, 0) != vm->pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fail("minivmm %d failed (status %#x)", vm->pid, status);
		return -1;
	}
	for (i = 0; i < nr_children; i++)
		if (children[i] == vm->pid)
			children[i] = 0;
	fclose(vm->out);
	return 0;
}

/* ---- readers -------------------------------------------------------------- */

struct reader {
	int fd;
	struct self_e_attach a;
	void *cons, *ring;
	struct self_e_ring_view v;
	bool ended;
};

static int reader_attach_full(struct reader *r, pid_t pid, uint32_t ring_bytes, uint64_t mask,
			      uint32_t watermark)
{
	const struct self_e_ring_header *h;

	memset(r, 0, sizeof(*r));
	/* Read-write: the consumer positions are mapped writable and shared. */
	r->fd = open(DEV, O_RDWR | O_CLOEXEC);
	CHECK(r->fd >= 0, "open %s: %s", DEV, strerror(errno));
	r->a.flags = SELF_E_ATTACH_BY_PID;
	r->a.pid = pid;
	r->a.ring_bytes = ring_bytes;
	r->a.event_mask = mask;
	r->a.watermark = watermark;
	CHECK(ioctl(r->fd, SELF_E_IOC_ATTACH, &r->a) == 0, "attach pid %d: %s", pid,
	      strerror(errno));
	r->cons = mmap(NULL, r->a.cons_size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
		       r->a.cons_offset);
	r->ring = mmap(NULL, r->a.ring_size, PROT_READ, MAP_SHARED, r->fd, r->a.ring_offset);
	CHECK(r->cons != MAP_FAILED && r->ring != MAP_FAILED, "mmap: %s", strerror(errno));
	h = r->ring;
	CHECK(h->magic == SELF_E_RING_MAGIC && h->abi_version == SELF_E_ABI_VERSION &&
	      h->record_size == sizeof(struct self_e_event) && h->nr_lanes == r->a.nr_lanes &&
	      h->lane_order == r->a.lane_order && h->vm_id == r->a.vm_id,
	      "ring header does not match the attach reply");
	r->v.prod = (void *)((char *)r->ring + h->prod_offset);
	r->v.cons = r->cons;
	r->v.data = (void *)((char *)r->ring + h->data_offset);
	r->v.nr_lanes = h->nr_lanes;
	r->v.lane_order = h->lane_order;
	r->v.vm_id = h->vm_id;
	return 0;
}

static int reader_attach(struct reader *r, pid_t pid, uint32_t ring_bytes, uint64_t mask)
{
	return reader_attach_full(r, pid, ring_bytes, mask, 0);
}

static int reader_attach_wm(struct reader *r, pid_t pid, uint32_t watermark)
{
	return reader_attach_full(r, pid, 0, 0, watermark);
}

static void reader_close(struct reader *r)
{
	if (r->cons && r->cons != MAP_FAILED)
		munmap(r->cons, r->a.cons_size);
	if (r->ring && r->ring != MAP_FAILED)
		munmap(r->ring, r->a.ring_size);
	if (r->fd >= 0)
		close(r->fd);
}

typedef void (*event_fn)(const struct self_e_event *ev, void *arg);

/* Hand over every published record; returns how many. */
static uint64_t reader_drain(struct reader *r, event_fn fn, void *arg)
{
	uint64_t n = 0, pos;
	const struct self_e_event *ev;
	uint32_t lane;

	for (lane = 0; lane < r->v.nr_lanes; lane++) {
		pos = self_e_ring_consumer_pos(&r->v, lane);
		while ((ev = self_e_ring_peek(&r->v, lane, pos))) {
			if (ev->type == SELF_E_EV_VM_DESTROY)
				r->ended = true;
			fn(ev, arg);
			pos++;
			n++;
		}
		self_e_ring_release(&r->v, lane, pos);
	}
	return n;
}

/*
 * Read until the VM's end event, or fail after @timeout_ms. Lanes are read
 * one after another, so once the end is seen in one lane, one more pass
 * takes what other lanes published before it (the module emits the end only
 * after every earlier event is committed).
 */
static int reader_until_end(struct reader *r, event_fn fn, void *arg, uint64_t timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };

	while (!r->ended) {
		reader_drain(r, fn, arg);
		if (r->ended)
			break;
		CHECK(now_ms() < deadline, "no end event within %" PRIu64 " ms", timeout_ms);
		poll(&pfd, 1, 100);
	}
	reader_drain(r, fn, arg);
	return 0;
}

/* ---- what a run of minivmm must produce ----------------------------------- */

struct faults {
	const struct vm *vm;
	uint16_t vm_id;
	uint8_t *seen;		/* per gfn in the VM's memory */
	uint64_t nr_seen, events, wrong, other_vm;
	uint64_t by_type[SELF_E_EV_MAX];
	uint64_t lost;
	uint64_t end_ts, last_ts;	/* the end event's time; the latest other one */
	char why[256];
};

static void faults_init(struct faults *f, const struct vm *vm, uint16_t vm_id)
{
	memset(f, 0, sizeof(*f));
	f->vm = vm;
	f->vm_id = vm_id;
	f->seen = calloc(vm->mem_bytes / PAGE, 1);
}

static void note_wrong(struct faults *f, const char *fmt, ...)
{
	va_list ap;

	if (!f->wrong++) {
		va_start(ap, fmt);
		vsnprintf(f->why, sizeof(f->why), fmt, ap);
		va_end(ap);
	}
}

static void faults_event(const struct self_e_event *ev, void *arg)
{
	struct faults *f = arg;
	uint64_t first = f->vm->gpa / PAGE, code = f->vm->code_gpa / PAGE;
	bool data;

	f->events++;
	if (ev->type < SELF_E_EV_MAX)
		f->by_type[ev->type]++;
	/* Lanes are read one by one: order across them is by time. */
	if (ev->type == SELF_E_EV_VM_DESTROY)
		f->end_ts = ev->ts_ns;
	else if (ev->ts_ns > f->last_ts)
		f->last_ts = ev->ts_ns;
	if (ev->type == SELF_E_EV_LOST) {
		f->lost += ev->arg;
		return;
	}
	if (ev->vm_id != f->vm_id) {
		f->other_vm++;
		return;
	}
	if (ev->type != SELF_E_EV_FAULT)
		return;
	if (ev->gfn >= f->vm->mem_bytes / PAGE) {
		note_wrong(f, "gfn %#" PRIx64 " outside guest memory", (uint64_t)ev->gfn);
		return;
	}
	if (f->seen[ev->gfn]++) {
		note_wrong(f, "gfn %#" PRIx64 " faulted twice", (uint64_t)ev->gfn);
		return;
	}
	f->nr_seen++;
	data = ev->gfn >= first && ev->gfn < first + f->vm->pages;
	if (!data && ev->gfn != code)
		note_wrong(f, "gfn %#" PRIx64 " was never touched by the guest", (uint64_t)ev->gfn);
	else if (data && (ev->flags & (SELF_E_F_WRITE | SELF_E_F_PREFETCH | SELF_E_F_EXEC)) !=
				 SELF_E_F_WRITE)
		note_wrong(f, "data gfn %#" PRIx64 " has flags %#x, not a write", (uint64_t)ev->gfn,
			   ev->flags);
	else if (!data && (ev->flags & SELF_E_F_WRITE))
		note_wrong(f, "code gfn %#" PRIx64 " reported as written", (uint64_t)ev->gfn);
	else if (!(ev->flags & SELF_E_F_WRITABLE) && data)
		note_wrong(f, "data gfn %#" PRIx64 " mapped read-only", (uint64_t)ev->gfn);
	else if (ev->flags & SELF_E_F_LEVEL_MASK)
		note_wrong(f, "gfn %#" PRIx64 " mapped huge; minivmm asks for 4k", (uint64_t)ev->gfn);
	else if (!ev->arg)
		note_wrong(f, "gfn %#" PRIx64 " without a host pfn", (uint64_t)ev->gfn);
	else if (ev->vcpu != 0)
		note_wrong(f, "gfn %#" PRIx64 " from vcpu %u; minivmm has only vcpu 0",
			   (uint64_t)ev->gfn, ev->vcpu);
}

/* The set seen must be exactly the code page and the N data pages. */
static int faults_check(struct faults *f)
{
	uint64_t first = f->vm->gpa / PAGE, i;

	CHECK(!f->wrong, "%s (%" PRIu64 " wrong events)", f->why, f->wrong);
	CHECK(!f->other_vm, "%" PRIu64 " events of another VM", f->other_vm);
	CHECK(f->end_ts && f->last_ts < f->end_ts,
	      "an event at %" PRIu64 " ns, after the VM's end at %" PRIu64 " ns", f->last_ts,
	      f->end_ts);
	CHECK(f->seen[f->vm->code_gpa / PAGE], "no fault on the code page");
	for (i = 0; i < f->vm->pages; i++)
		CHECK(f->seen[first + i], "data page %" PRIu64 " (gfn %#" PRIx64 ") missing", i,
		      first + i);
	CHECK(f->nr_seen == f->vm->pages + 1, "%" PRIu64 " gfns seen, %" PRIu64 " touched",
	      f->nr_seen, f->vm->pages + 1);
	return 0;
}

/* ---- tests ---------------------------------------------------------------- */

static int test_faults(void)
{
	struct self_e_memslot slots[8];
	struct self_e_vm_info info = { 0 };
	struct self_e_stats st;
	struct faults f;
	struct reader r;
	struct vm vm;

	if (vm_start(&vm, 256, "seed:3") || reader_attach(&r, vm.pid, 0, 0))
		return -1;
	CHECK(r.a.pid == (uint32_t)vm.pid && r.a.vm_id, "attach reply pid %u vm %u", r.a.pid,
	      r.a.vm_id);

	/* Memslots agree with minivmm's layout. */
	info.vm_id = r.a.vm_id;
	info.nr_slots = 8;
	info.slots_ptr = (uintptr_t)slots;
	CHECK(ioctl(r.fd, SELF_E_IOC_GET_VM, &info) == 0, "GET_VM: %s", strerror(errno));
	CHECK(info.pid == (uint32_t)vm.pid && info.nr_vcpus == 1 && info.nr_slots == 1,
	      "GET_VM: pid %u vcpus %u slots %u", info.pid, info.nr_vcpus, info.nr_slots);
	CHECK(slots[0].base_gfn == 0 && slots[0].npages == vm.mem_bytes / PAGE &&
	      slots[0].hva == vm.hva, "memslot gfn %#llx pages %llu hva %#llx, minivmm: hva %#llx",
	      (unsigned long long)slots[0].base_gfn, (unsigned long long)slots[0].npages,
	      (unsigned long long)slots[0].hva, (unsigned long long)vm.hva);

	faults_init(&f, &vm, r.a.vm_id);
	vm_go(&vm);
	if (reader_until_end(&r, faults_event, &f, 60000) || vm_wait(&vm) || faults_check(&f))
		return -1;
	CHECK(f.by_type[SELF_E_EV_VM_DESTROY] == 1, "%" PRIu64 " end events",
	      f.by_type[SELF_E_EV_VM_DESTROY]);

	/* Nothing after the end; poll says so; the counters add up. */
	CHECK(reader_drain(&r, faults_event, &f) == 0, "records after the end event");
	{
		struct pollfd pfd = { .fd = r.fd, .events = POLLIN };

		char line[256];

		CHECK(poll(&pfd, 1, 1000) == 1 && (pfd.revents & POLLHUP), "no POLLHUP at the end");
		/* A reader of one VM whose VM has ended reads end of file. */
		CHECK(read(r.fd, line, sizeof(line)) == 0, "read() after the end: not EOF");
	}
	CHECK(ioctl(r.fd, SELF_E_IOC_GET_STATS, &st) == 0, "GET_STATS: %s", strerror(errno));
	CHECK(st.dropped == 0 && st.produced == f.events &&
	      st.by_type[SELF_E_EV_FAULT] == f.by_type[SELF_E_EV_FAULT],
	      "stats: produced %llu dropped %llu faults %llu; read %" PRIu64 " events, %" PRIu64
	      " faults", (unsigned long long)st.produced, (unsigned long long)st.dropped,
	      (unsigned long long)st.by_type[SELF_E_EV_FAULT], f.events,
	      f.by_type[SELF_E_EV_FAULT]);
	reader_close(&r);
	return 0;
}

static int test_two_vms(void)
{
	struct reader ra, rb;
	struct faults fa, fb;
	struct vm a, b;

	if (vm_start(&a, 128, "seed:1") || vm_start(&b, 96, "seed:1") ||
	    reader_attach(&ra, a.pid, 0, 0) || reader_attach(&rb, b.pid, 0, 0))
		return -1;
	CHECK(ra.a.vm_id != rb.a.vm_id, "two VMs, one id %u", ra.a.vm_id);
	faults_init(&fa, &a, ra.a.vm_id);
	faults_init(&fb, &b, rb.a.vm_id);
	vm_go(&a);
	vm_go(&b);
	if (reader_until_end(&ra, faults_event, &fa, 60000) ||
	    reader_until_end(&rb, faults_event, &fb, 60000) || vm_wait(&a) || vm_wait(&b) ||
	    faults_check(&fa) || faults_check(&fb))
		return -1;
	reader_close(&ra);
	reader_close(&rb);
	return 0;
}

static int test_readers(void)
{
	struct reader r1, r2;
	struct faults f1, f2;
	struct vm vm;

	if (vm_start(&vm, 200, "unique") || reader_attach(&r1, vm.pid, 0, 0) ||
	    reader_attach(&r2, vm.pid, 0, SELF_E_EVENT_MASK(SELF_E_EV_FAULT) |
					      SELF_E_EVENT_MASK(SELF_E_EV_VM_DESTROY)))
		return -1;
	CHECK(r1.a.vm_id == r2.a.vm_id, "two readers of one VM, ids %u and %u", r1.a.vm_id,
	      r2.a.vm_id);
	faults_init(&f1, &vm, r1.a.vm_id);
	faults_init(&f2, &vm, r2.a.vm_id);
	vm_go(&vm);
	if (reader_until_end(&r1, faults_event, &f1, 60000) ||
	    reader_until_end(&r2, faults_event, &f2, 60000) || vm_wait(&vm) ||
	    faults_check(&f1) || faults_check(&f2))
		return -1;
	CHECK(f1.by_type[SELF_E_EV_FAULT] == f2.by_type[SELF_E_EV_FAULT],
	      "readers saw %" PRIu64 " and %" PRIu64 " faults", f1.by_type[SELF_E_EV_FAULT],
	      f2.by_type[SELF_E_EV_FAULT]);
	reader_close(&r1);
	reader_close(&r2);
	return 0;
}

static int test_overflow(void)
{
	struct pollfd pfd;
	struct self_e_stats st;
	struct faults f;
	struct reader r;
	struct vm vm;
	uint64_t pending = 0, deadline;
	uint32_t lane;
	long cpus = sysconf(_SC_NPROCESSORS_CONF);

	/* Four records per lane, and nobody reads until the VM is gone. */
	if (vm_start(&vm, 1024, "unique") ||
	    reader_attach(&r, vm.pid, 4 * sizeof(struct self_e_event) * cpus, 0))
		return -1;
	CHECK(r.a.lane_order == 2, "lane order %u for a 4-record ring", r.a.lane_order);
	faults_init(&f, &vm, r.a.vm_id);
	vm_go(&vm);
	if (vm_wait(&vm))
		return -1;
	deadline = now_ms() + 10000;
	pfd.fd = r.fd;
	pfd.events = POLLIN;
	while (!(poll(&pfd, 1, 100) == 1 && (pfd.revents & POLLHUP)))
		CHECK(now_ms() < deadline, "no POLLHUP after the VM ended");

	while (reader_drain(&r, faults_event, &f))
		;
	CHECK(ioctl(r.fd, SELF_E_IOC_GET_STATS, &st) == 0, "GET_STATS: %s", strerror(errno));
	for (lane = 0; lane < r.v.nr_lanes; lane++)
		pending += r.v.prod[lane].lost_pending;
	CHECK(st.dropped > 0, "a 4-record ring did not overflow");
	CHECK(st.produced == f.events - f.by_type[SELF_E_EV_LOST] + st.dropped,
	      "produced %llu != read %" PRIu64 " + dropped %llu", (unsigned long long)st.produced,
	      f.events - f.by_type[SELF_E_EV_LOST], (unsigned long long)st.dropped);
	CHECK(f.lost + pending == st.dropped, "LOST records say %" PRIu64 " (+%" PRIu64
	      " pending), dropped %llu", f.lost, pending, (unsigned long long)st.dropped);
	CHECK(!f.wrong, "%s", f.why);
	printf("# overflow: produced %llu, read %" PRIu64 ", dropped %llu, LOST records %" PRIu64
	       "\n", (unsigned long long)st.produced, f.events - f.by_type[SELF_E_EV_LOST],
	       (unsigned long long)st.dropped, f.by_type[SELF_E_EV_LOST]);
	reader_close(&r);
	return 0;
}

/* poll() reports a ring readable only once a lane holds the watermark. */
static int test_watermark(void)
{
	struct pollfd pfd;
	struct faults f;
	struct reader r;
	struct vm vm;
	char line[512];

	/* 16 data pages and the code page: 17 faults, below a watermark of 64. */
	if (vm_start_hold(&vm, 16, "seed:9", "60") || reader_attach_wm(&r, vm.pid, 64))
		return -1;
	CHECK(r.a.watermark == 64, "watermark %u, asked for 64", r.a.watermark);
	faults_init(&f, &vm, r.a.vm_id);
	pfd.fd = r.fd;
	pfd.events = POLLIN;
	vm_go(&vm);
	CHECK(fgets(line, sizeof(line), vm.out) && strstr(line, "\"halted\""),
	      "minivmm did not halt");
	CHECK(poll(&pfd, 1, 300) == 0, "readable with 17 events below a watermark of 64 "
	      "(revents %#x)", pfd.revents);
	/* The records are there all the same; the end makes the ring readable. */
	kill(vm.pid, SIGUSR1);
	if (reader_until_end(&r, faults_event, &f, 60000) || vm_wait(&vm) || faults_check(&f))
		return -1;
	reader_close(&r);
	return 0;
}

/* ---- bad input ------------------------------------------------------------ */

static int expect_errno(const char *what, int rc, int want)
{
	CHECK(rc == -1 && errno == want, "%s: got %d/%s, want %s", what, rc,
	      rc == -1 ? strerror(errno) : "success", strerror(want));
	return 0;
}

static int unprivileged_open(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(open(DEV, O_RDONLY) == -1 && errno == EPERM ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status),
	      "unprivileged child failed");
	CHECK(WEXITSTATUS(status) == 0, "unprivileged open: not EPERM (child %d)",
	      WEXITSTATUS(status));
	return 0;
}

static int test_bad_input(void)
{
	struct self_e_attach a;
	struct self_e_vm_info info;
	struct self_e_stats st;
	struct reader r;
	struct vm vm;
	uint64_t mask;
	void *p;
	int fd;

	if (unprivileged_open())
		return -1;
	fd = open(DEV, O_RDONLY);
	CHECK(fd >= 0, "open: %s", strerror(errno));

	if (expect_errno("unknown ioctl", ioctl(fd, _IO(SELF_E_IOC_MAGIC, 99)), ENOTTY) ||
	    expect_errno("attach with a wrong size",
			 ioctl(fd, _IOWR(SELF_E_IOC_MAGIC, 1, uint64_t), &mask), ENOTTY) ||
	    expect_errno("stats before attach", ioctl(fd, SELF_E_IOC_GET_STATS, &st), EINVAL) ||
	    expect_errno("mmap before attach",
			 mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0,
			 EINVAL) ||
	    expect_errno("attach, bad pointer", ioctl(fd, SELF_E_IOC_ATTACH, (void *)8), EFAULT))
		return -1;

	memset(&a, 0, sizeof(a));
	a.vm_id = 60000;
	if (expect_errno("attach to an unknown VM id", ioctl(fd, SELF_E_IOC_ATTACH, &a), ENOENT))
		return -1;
	a.flags = SELF_E_ATTACH_BY_PID;
	a.pid = getpid();
	if (expect_errno("attach to a pid without a VM", ioctl(fd, SELF_E_IOC_ATTACH, &a), ESRCH))
		return -1;
	a.flags = 0x80;
	if (expect_errno("attach with unknown flags", ioctl(fd, SELF_E_IOC_ATTACH, &a), EINVAL))
		return -1;
	a.flags = 0;
	a.reserved[2] = 1;
	if (expect_errno("attach with reserved bits", ioctl(fd, SELF_E_IOC_ATTACH, &a), EINVAL))
		return -1;
	a.reserved[2] = 0;
	a.event_mask = 1ULL << 63;
	if (expect_errno("attach with unknown event types", ioctl(fd, SELF_E_IOC_ATTACH, &a),
			 EINVAL))
		return -1;
	mask = 1ULL << 62;
	if (expect_errno("mask with unknown event types", ioctl(fd, SELF_E_IOC_SET_MASK, &mask),
			 EINVAL) ||
	    expect_errno("mask, bad pointer", ioctl(fd, SELF_E_IOC_SET_MASK, (void *)8), EFAULT))
		return -1;
	memset(&info, 0, sizeof(info));
	info.vm_id = 60000;
	if (expect_errno("GET_VM of an unknown VM", ioctl(fd, SELF_E_IOC_GET_VM, &info), ENOENT))
		return -1;

	/* With a VM: attach twice, bad ring sizes, bad mmaps, bad slot pointer. */
	if (vm_start(&vm, 16, "zero"))
		return -1;
	memset(&a, 0, sizeof(a));
	a.flags = SELF_E_ATTACH_BY_PID;
	a.pid = vm.pid;
	a.ring_bytes = 32;
	if (expect_errno("attach with a ring too small", ioctl(fd, SELF_E_IOC_ATTACH, &a), EINVAL))
		return -1;
	a.ring_bytes = 0;
	a.watermark = 1U << 30;
	if (expect_errno("watermark beyond the lane", ioctl(fd, SELF_E_IOC_ATTACH, &a), EINVAL))
		return -1;
	close(fd);

	if (reader_attach(&r, vm.pid, 0, 0))
		return -1;
	info.vm_id = r.a.vm_id;
	info.nr_slots = 4;
	info.slots_ptr = 8;
	a = r.a;
	if (expect_errno("second attach", ioctl(r.fd, SELF_E_IOC_ATTACH, &a), EBUSY) ||
	    expect_errno("GET_VM, bad slot pointer", ioctl(r.fd, SELF_E_IOC_GET_VM, &info),
			 EFAULT))
		return -1;
	p = mmap(NULL, r.a.ring_size, PROT_READ | PROT_WRITE, MAP_SHARED, r.fd, r.a.ring_offset);
	if (expect_errno("writable ring mapping", p == MAP_FAILED ? -1 : 0, EPERM))
		return -1;
	p = mmap(NULL, r.a.ring_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, r.fd, r.a.ring_offset);
	if (expect_errno("writable private ring mapping", p == MAP_FAILED ? -1 : 0, EPERM))
		return -1;
	/* A private read-only one may be made, but not made writable (copy-on-write). */
	p = mmap(NULL, r.a.ring_size, PROT_READ, MAP_PRIVATE, r.fd, r.a.ring_offset);
	CHECK(p != MAP_FAILED, "private read-only ring mapping: %s", strerror(errno));
	CHECK(mprotect(p, r.a.ring_size, PROT_READ | PROT_WRITE) == -1 && errno == EACCES,
	      "mprotect made a private ring mapping writable");
	munmap(p, r.a.ring_size);
	p = mmap(NULL, r.a.ring_size + 4096, PROT_READ, MAP_SHARED, r.fd, r.a.ring_offset);
	if (expect_errno("ring mapping of a wrong size", p == MAP_FAILED ? -1 : 0, EINVAL))
		return -1;
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, r.fd, r.a.ring_offset + r.a.ring_size);
	if (expect_errno("mapping at a wrong offset", p == MAP_FAILED ? -1 : 0, EINVAL))
		return -1;
	p = mmap(NULL, r.a.cons_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, r.fd, 0);
	if (expect_errno("private consumer mapping", p == MAP_FAILED ? -1 : 0, EINVAL))
		return -1;
	CHECK(mprotect(r.ring, r.a.ring_size, PROT_READ | PROT_WRITE) == -1 && errno == EACCES,
	      "mprotect made the ring writable");

	/* All of that left the reader working: the VM's events still arrive whole. */
	{
		struct faults f;

		faults_init(&f, &vm, r.a.vm_id);
		vm_go(&vm);
		if (reader_until_end(&r, faults_event, &f, 60000) || vm_wait(&vm) ||
		    faults_check(&f))
			return -1;
	}
	reader_close(&r);
	return 0;
}

/* ---- generic netlink ------------------------------------------------------ */

struct nl_seen {
	pid_t want_pid;
	int vms, found, slots, cmd, error;
	uint64_t hva, npages;
	uint32_t vm_id;
};

static int nl_on_msg(struct nl_msg *msg, void *arg)
{
	struct nl_seen *s = arg;
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[SELF_E_A_MAX + 1], *slot, *st[SELF_E_SLOT_A_MAX + 1];
	int rem;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, SELF_E_A_MAX, NULL))
		return NL_SKIP;
	s->cmd = gh->cmd;
	s->vms++;
	if (tb[SELF_E_A_PID] && (pid_t)nla_get_u32(tb[SELF_E_A_PID]) == s->want_pid) {
		s->found++;
		s->vm_id = tb[SELF_E_A_VM_ID] ? nla_get_u32(tb[SELF_E_A_VM_ID]) : 0;
		if (tb[SELF_E_A_MEMSLOTS])
			nla_for_each_nested(slot, tb[SELF_E_A_MEMSLOTS], rem) {
				if (nla_parse_nested(st, SELF_E_SLOT_A_MAX, slot, NULL))
					continue;
				s->slots++;
				if (st[SELF_E_SLOT_A_HVA])
					s->hva = nla_get_u64(st[SELF_E_SLOT_A_HVA]);
				if (st[SELF_E_SLOT_A_NPAGES])
					s->npages = nla_get_u64(st[SELF_E_SLOT_A_NPAGES]);
			}
	}
	return NL_OK;
}

static int nl_on_error(struct sockaddr_nl *who __attribute__((unused)), struct nlmsgerr *err, void *arg)
{
	struct nl_seen *s = arg;

	s->error = err->error;
	return NL_STOP;
}

/* Send one request; returns the kernel's answer (0 or -errno). */
static int nl_request(struct nl_sock *sk, int family, uint8_t cmd, int flags,
		      int (*add)(struct nl_msg *), struct nl_seen *seen)
{
	struct nl_msg *msg = nlmsg_alloc();
	int ret;

	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, flags, cmd, SELF_E_GENL_VERSION);
	if (add)
		add(msg);
	seen->error = 0;
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, nl_on_msg, seen);
	nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, nl_on_error, seen);
	ret = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (ret < 0)
		return -EIO;
	ret = nl_recvmsgs_default(sk);
	if (seen->error)
		return seen->error;	/* the kernel's -errno */
	return ret < 0 ? -EIO : 0;
}

static int add_unknown_vm(struct nl_msg *msg)
{
	return nla_put_u32(msg, SELF_E_A_VM_ID, 65000);
}

static int add_bad_vm_attr(struct nl_msg *msg)
{
	return nla_put_u8(msg, SELF_E_A_VM_ID, 1);	/* u8 where a u32 belongs */
}

static int test_netlink(void)
{
	struct nl_seen seen = { 0 };
	struct nl_sock *sk = nl_socket_alloc(), *mon = nl_socket_alloc();
	int family, grp, ret, status;
	struct vm vm;
	pid_t child;

	CHECK(sk && mon && genl_connect(sk) == 0 && genl_connect(mon) == 0, "netlink sockets");
	family = genl_ctrl_resolve(sk, SELF_E_GENL_NAME);
	CHECK(family > 0, "family %s not found: %d", SELF_E_GENL_NAME, family);
	grp = genl_ctrl_resolve_grp(sk, SELF_E_GENL_NAME, SELF_E_GENL_MCGRP);
	CHECK(grp > 0, "multicast group not found: %d", grp);
	nl_socket_disable_seq_check(mon);
	CHECK(nl_socket_add_membership(mon, grp) == 0, "cannot join the events group");

	if (vm_start(&vm, 32, "zero"))
		return -1;
	seen.want_pid = vm.pid;
	ret = nl_request(sk, family, SELF_E_CMD_LIST_VMS, NLM_F_DUMP, NULL, &seen);
	CHECK(ret == 0, "LIST_VMS: %d", ret);
	CHECK(seen.found == 1 && seen.slots == 1 && seen.hva == vm.hva &&
	      seen.npages == vm.mem_bytes / PAGE,
	      "LIST_VMS: VM of pid %d found %d times, %d slots, hva %#" PRIx64, vm.pid,
	      seen.found, seen.slots, seen.hva);

	/* The VM's creation reached the multicast group (it may come after others). */
	{
		struct nl_seen note = { .want_pid = vm.pid };
		uint64_t deadline = now_ms() + 5000;

		nl_socket_modify_cb(mon, NL_CB_VALID, NL_CB_CUSTOM, nl_on_msg, &note);
		nl_socket_set_nonblocking(mon);
		while (!(note.found && note.cmd == SELF_E_CMD_VM_NEW) && now_ms() < deadline)
			if (nl_recvmsgs_default(mon) < 0)
				usleep(20000);
		CHECK(note.found, "no VM_NEW notification for pid %d", vm.pid);
	}

	ret = nl_request(sk, family, SELF_E_CMD_GET_STATS, 0, add_unknown_vm, &seen);
	CHECK(ret == -ENOENT, "GET_STATS of an unknown VM: %d, want -ENOENT", ret);
	ret = nl_request(sk, family, SELF_E_CMD_GET_STATS, 0, add_bad_vm_attr, &seen);
	CHECK(ret == -EINVAL || ret == -ERANGE, "GET_STATS with a malformed VM id: %d", ret);
	ret = nl_request(sk, family, 77, 0, NULL, &seen);
	CHECK(ret == -EOPNOTSUPP, "unknown command: %d, want -EOPNOTSUPP", ret);

	/* Unprivileged: refused. */
	child = fork();
	if (child == 0) {
		struct nl_seen s2 = { 0 };
		struct nl_sock *u;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		u = nl_socket_alloc();
		if (!u || genl_connect(u))
			_exit(3);
		_exit(nl_request(u, family, SELF_E_CMD_LIST_VMS, NLM_F_DUMP, NULL, &s2) == -EPERM ?
			      0 : 1);
	}
	CHECK(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "unprivileged LIST_VMS was not refused with EPERM");

	vm_go(&vm);
	if (vm_wait(&vm))
		return -1;
	nl_socket_free(sk);
	nl_socket_free(mon);
	return 0;
}

/* ---- security: garbage tails, no kernel addresses ------------------------ */

/* A consumer's garbage: anything, near the head, behind it, or ahead of it. */
static uint64_t garbage_tail(uint64_t *rng, uint64_t head)
{
	uint64_t x;

	*rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
	x = *rng >> 11;
	switch (x % 6) {
	case 0: return x;
	case 1: return ~0ULL - (x % 64);
	case 2: return head + (x % 4096);
	case 3: return head - (x % 4096);
	case 4: return 0;
	default: return head;
	}
}

/*
 * A consumer that writes garbage into its own tails while the VM produces
 * (and reads its ring through read(), whose kernel side trusts those tails
 * too) can make the kernel drop its events, nothing else: afterwards the
 * module's counts still add up as the ABI defines them (events offered =
 * sum(head) - sum(lost_records) + sum(dropped), dropped = sum of the lanes'
 * dropped), it was offered exactly the events an honest reader of the same
 * VM got, the ring header is intact and every record in the ring belongs to
 * the VM. (The kernel log, checked by the rig, shows no write out of bounds.)
 */
static int test_garbage_tails(void)
{
	struct self_e_stats st, st2;
	struct faults f2;
	struct reader r, r2;
	struct vm vm;
	struct pollfd pfd = { .events = POLLIN };
	const struct self_e_ring_header *h;
	struct self_e_ring_header hdr0;
	uint64_t rng = 0x5eed, heads = 0, lost_records = 0, dropped = 0, sum = 0, writes = 0;
	uint64_t deadline, i, n;
	uint32_t lane;
	char buf[4096];
	int t;

	if (vm_start(&vm, 2048, "unique") || reader_attach(&r2, vm.pid, 0, 0) ||
	    reader_attach(&r, vm.pid, 64 * sizeof(struct self_e_event) *
			  sysconf(_SC_NPROCESSORS_CONF), 0))
		return -1;
	h = r.ring;
	hdr0 = *h;
	faults_init(&f2, &vm, r2.a.vm_id);
	fcntl(r.fd, F_SETFL, O_NONBLOCK);
	vm_go(&vm);
	deadline = now_ms() + 60000;
	while (!r2.ended) {
		for (lane = 0; lane < r.v.nr_lanes; lane++) {
			__atomic_store_n(&r.v.cons[lane].tail,
					 garbage_tail(&rng, __atomic_load_n(&r.v.prod[lane].head,
									    __ATOMIC_RELAXED)),
					 __ATOMIC_RELEASE);
			writes++;
		}
		if (rng & 1)
			n = read(r.fd, buf, sizeof(buf));	/* may be -1 EAGAIN */
		reader_drain(&r2, faults_event, &f2);
		CHECK(now_ms() < deadline, "the VM did not end within 60 s");
		usleep(200);
	}
	(void)n;
	if (vm_wait(&vm))
		return -1;
	reader_drain(&r2, faults_event, &f2);
	/* r's end is delivered too: POLLHUP. */
	pfd.fd = r.fd;
	deadline = now_ms() + 10000;
	while (!(poll(&pfd, 1, 100) == 1 && (pfd.revents & POLLHUP)))
		CHECK(now_ms() < deadline, "no POLLHUP after the VM ended");

	CHECK(ioctl(r.fd, SELF_E_IOC_GET_STATS, &st) == 0, "GET_STATS: %s", strerror(errno));
	CHECK(ioctl(r2.fd, SELF_E_IOC_GET_STATS, &st2) == 0, "GET_STATS: %s", strerror(errno));
	for (lane = 0; lane < r.v.nr_lanes; lane++) {
		heads += r.v.prod[lane].head;
		lost_records += r.v.prod[lane].lost_records;
		dropped += r.v.prod[lane].dropped;
	}
	for (t = 0; t < SELF_E_EV_MAX; t++)
		sum += st.by_type[t];
	CHECK(memcmp(&hdr0, h, sizeof(hdr0)) == 0, "the ring header changed");
	CHECK(st.dropped > 0, "garbage tails on a 64-record ring dropped nothing (%" PRIu64
	      " tail writes)", writes);
	CHECK(st.produced == heads - lost_records + dropped,
	      "produced %llu != sum(head) %" PRIu64 " - lost records %" PRIu64 " + dropped %" PRIu64,
	      (unsigned long long)st.produced, heads, lost_records, dropped);
	CHECK(st.dropped == dropped, "stats dropped %llu, lanes dropped %" PRIu64,
	      (unsigned long long)st.dropped, dropped);
	CHECK(sum == st.produced, "by_type adds up to %" PRIu64 ", produced %llu", sum,
	      (unsigned long long)st.produced);
	/* The honest reader: lost nothing, read all it was offered. */
	CHECK(st2.dropped == 0 && st2.produced == f2.events,
	      "honest reader: produced %llu, dropped %llu, read %" PRIu64,
	      (unsigned long long)st2.produced, (unsigned long long)st2.dropped, f2.events);
	CHECK(st.produced == st2.produced, "garbage reader offered %llu events, honest one %llu",
	      (unsigned long long)st.produced, (unsigned long long)st2.produced);
	for (i = 0; i < ((uint64_t)r.v.nr_lanes << r.v.lane_order); i++) {
		const struct self_e_event *ev = &r.v.data[i];

		CHECK(ev->seq == 0 || (ev->type > SELF_E_EV_NONE && ev->type < SELF_E_EV_MAX &&
				       ev->vm_id == r.a.vm_id),
		      "record %" PRIu64 ": type %u vm %u", i, ev->type, ev->vm_id);
	}
	if (faults_check(&f2))
		return -1;
	printf("# garbage-tails: %" PRIu64 " tail writes; offered %llu, dropped %llu, in the ring %"
	       PRIu64 " (+%" PRIu64 " LOST records); honest reader read %" PRIu64 "\n", writes,
	       (unsigned long long)st.produced, (unsigned long long)st.dropped,
	       heads - lost_records, lost_records, f2.events);
	reader_close(&r);
	reader_close(&r2);
	return 0;
}

static uint64_t leak_checked;
static char leak_why[256];

/* Kernel virtual addresses (x86-64, 4- or 5-level): the top half, but for ~0. */
static void leak_check(uint64_t v, const char *where)
{
	leak_checked++;
	if (v >= 0xffff800000000000ULL && v != ~0ULL && !leak_why[0])
		snprintf(leak_why, sizeof(leak_why), "%s: %#" PRIx64 " looks like a kernel address",
			 where, v);
}

static void leak_event(const struct self_e_event *ev, void *arg)
{
	(void)arg;
	leak_check(ev->ts_ns, "event ts");
	leak_check(ev->gfn, "event gfn");
	leak_check(ev->arg, "event arg");
}

static void leak_attrs(struct nlattr *head, int len, int depth)
{
	struct nlattr *a;
	int rem;

	nla_for_each_attr(a, head, len, rem) {
		if (nla_len(a) == 8)
			leak_check(nla_get_u64(a), "netlink attribute");
		if ((depth == 0 && nla_type(a) == SELF_E_A_MEMSLOTS) || depth == 1)
			leak_attrs(nla_data(a), nla_len(a), depth + 1);
	}
}

static int leak_on_msg(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);

	(*(int *)arg)++;
	leak_attrs(genlmsg_attrdata(nlmsg_data(h), 0), genlmsg_attrlen(nlmsg_data(h), 0), 0);
	return NL_OK;
}

static void leak_text(const char *p, size_t n)
{
	const char *end = p + n;

	while (p < end && (p = memchr(p, '=', end - p))) {
		p++;
		if (p < end && *p >= '0' && *p <= '9')
			leak_check(strtoull(p, NULL, 0), "text stream");
	}
}

/*
 * Nothing the module hands out looks like a kernel address: ring header,
 * producer states and records, stats, GET_VM with memslots, the text stream,
 * netlink replies (LIST_VMS, GET_STATS) and notifications (VM_NEW, MEMSLOT,
 * VM_DEL). pfns, gfns and user hvas are fine; kernel pointers are not.
 */
static int test_no_leaks(void)
{
	struct self_e_memslot slots[8];
	struct self_e_vm_info info = { 0 };
	struct self_e_stats st;
	struct nl_sock *sk = nl_socket_alloc(), *mon = nl_socket_alloc();
	struct reader r;
	struct vm vm;
	struct nl_msg *msg;
	char buf[65536];
	const uint64_t *w;
	uint64_t i, text_bytes = 0;
	int family, grp, msgs = 0, notes = 0, text, t, pass;
	ssize_t n;

	CHECK(sk && mon && genl_connect(sk) == 0 && genl_connect(mon) == 0, "netlink sockets");
	family = genl_ctrl_resolve(sk, SELF_E_GENL_NAME);
	grp = genl_ctrl_resolve_grp(sk, SELF_E_GENL_NAME, SELF_E_GENL_MCGRP);
	CHECK(family > 0 && grp > 0, "family/group not found: %d %d", family, grp);
	nl_socket_disable_seq_check(mon);
	CHECK(nl_socket_add_membership(mon, grp) == 0, "cannot join the events group");
	nl_socket_modify_cb(mon, NL_CB_VALID, NL_CB_CUSTOM, leak_on_msg, &notes);
	nl_socket_set_nonblocking(mon);
	text = open(DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	CHECK(text >= 0, "open: %s", strerror(errno));
	n = read(text, buf, sizeof(buf));	/* starts the all-VM stream */

	if (vm_start_hold(&vm, 256, "unique", "1") || reader_attach(&r, vm.pid, 0, 0))
		return -1;
	vm_go(&vm);
	for (pass = 0; pass < 2; pass++) {
		/* pass 0 while the VM lives, pass 1 after it ended */
		if (pass == 1) {
			kill(vm.pid, SIGUSR1);
			if (reader_until_end(&r, leak_event, NULL, 30000))
				return -1;
		}
		usleep(300000);
		info.vm_id = r.a.vm_id;
		info.nr_slots = 8;
		info.slots_ptr = (uintptr_t)slots;
		if (ioctl(r.fd, SELF_E_IOC_GET_VM, &info) == 0) {
			leak_check(info.slots_ptr, "GET_VM slots_ptr");
			for (i = 0; i < info.nr_slots && i < 8; i++) {
				leak_check(slots[i].hva, "memslot hva");
				leak_check(slots[i].base_gfn, "memslot gfn");
				leak_check(slots[i].npages, "memslot npages");
			}
		}
		reader_drain(&r, leak_event, NULL);
		CHECK(ioctl(r.fd, SELF_E_IOC_GET_STATS, &st) == 0, "GET_STATS: %s", strerror(errno));
		w = (const uint64_t *)&st;
		for (i = 0; i < sizeof(st) / 8; i++)
			leak_check(w[i], "stats");
		/* The whole ring area: header, producer states, records. */
		w = r.ring;
		for (i = 0; i < r.a.ring_size / 8; i++)
			leak_check(w[i], "ring area");
		while ((n = read(text, buf, sizeof(buf))) > 0) {
			leak_text(buf, n);
			text_bytes += n;
		}
		for (t = 0; t < 3; t++) {
			msg = nlmsg_alloc();
			genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
				    t == 0 ? NLM_F_DUMP : 0,
				    t == 0 ? SELF_E_CMD_LIST_VMS : SELF_E_CMD_GET_STATS,
				    SELF_E_GENL_VERSION);
			if (t == 2)
				nla_put_u32(msg, SELF_E_A_VM_ID, r.a.vm_id);
			nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, leak_on_msg, &msgs);
			CHECK(nl_send_auto(sk, msg) >= 0, "netlink send");
			nlmsg_free(msg);
			nl_recvmsgs_default(sk);	/* GET_STATS of an ended VM: ENOENT */
		}
		while (nl_recvmsgs_default(mon) > 0)
			;
	}
	if (vm_wait(&vm))
		return -1;
	usleep(300000);
	while (nl_recvmsgs_default(mon) > 0)
		;
	while ((n = read(text, buf, sizeof(buf))) > 0) {
		leak_text(buf, n);
		text_bytes += n;
	}
	CHECK(!leak_why[0], "%s", leak_why);
	CHECK(msgs >= 3 && notes >= 2 && text_bytes > 0,
	      "too little looked at: %d replies, %d notifications, %" PRIu64 " text bytes", msgs,
	      notes, text_bytes);
	printf("# no-leaks: %" PRIu64 " values checked (%d netlink replies, %d notifications, %"
	       PRIu64 " text bytes)\n", leak_checked, msgs, notes, text_bytes);
	close(text);
	reader_close(&r);
	nl_socket_free(sk);
	nl_socket_free(mon);
	return 0;
}

/*
 * Attach to the newest VM of a running VMM, read for a while, detach. With
 * KMODTEST_WATERMARK it reads as libself's readers do: blocked in poll()
 * until a lane holds that many records (at most 100 ms), then drains;
 * without, it drains every 10 ms.
 */
static int test_cycle_reader(void)
{
	char *ms = getenv("KMODTEST_MS");
	char *ring_bytes = getenv("KMODTEST_RING_BYTES");
	char *watermark = getenv("KMODTEST_WATERMARK");
	uint64_t until = now_ms() + (ms ? strtoull(ms, NULL, 10) : 500);
	struct faults f;
	struct reader r;
	struct vm none = { .mem_bytes = 0 };
	struct pollfd pfd = { .events = POLLIN };
	pid_t pid = getenv("KMODTEST_PID") ? atoi(getenv("KMODTEST_PID")) : 0;

	CHECK(pid > 0, "KMODTEST_PID is not set");
	if (reader_attach_full(&r, pid, ring_bytes ? strtoul(ring_bytes, NULL, 10) : 0, 0,
			       watermark ? strtoul(watermark, NULL, 10) : 0))
		return -1;
	faults_init(&f, &none, r.a.vm_id);
	pfd.fd = r.fd;
	while (now_ms() < until && !r.ended) {
		reader_drain(&r, faults_event, &f);
		if (watermark)
			poll(&pfd, 1, 100);
		else
			usleep(10000);
	}
	reader_close(&r);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(void);
		bool quiet;	/* a helper for shell tests: no PASS line of its own */
	} tests[] = {
		{ "faults", test_faults, false },
		{ "two-vms", test_two_vms, false },
		{ "readers", test_readers, false },
		{ "overflow", test_overflow, false },
		{ "watermark", test_watermark, false },
		{ "bad-input", test_bad_input, false },
		{ "netlink", test_netlink, false },
		{ "garbage-tails", test_garbage_tails, false },
		{ "no-leaks", test_no_leaks, false },
		{ "cycle-reader", test_cycle_reader, true },
	};
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	atexit(kill_children);
	if (argc != 2) {
		fprintf(stderr, "usage: kmodtest TEST\ntests:");
		for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
			fprintf(stderr, " %s", tests[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (strcmp(argv[1], tests[i].name))
			continue;
		test_name = tests[i].name;
		if (tests[i].fn() == 0 && !failures && !tests[i].quiet)
			printf("PASS kmod/%s\n", test_name);
		return failures ? 1 : 0;
	}
	fprintf(stderr, "kmodtest: unknown test '%s'\n", argv[1]);
	return 2;
}
