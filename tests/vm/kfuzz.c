// SPDX-License-Identifier: GPL-2.0
/*
 * kfuzz - a structure-aware fuzzer of self_e.ko's user interface, for the rig.
 *
 *   kfuzz [--seconds N] [--seed S] [--procs P] [--threads T] [--no-vms]
 *         [--seed-file PATH] [--as-user UID [--keep-cap net_admin]] [-v]
 *
 * P processes of T threads each run random operations for N seconds (default
 * 60, or $FUZZ_SECONDS) on /dev/self-e and the "self_e" generic-netlink
 * family, while a churn process starts and kills minivmm VMs so that attach
 * targets come and go:
 *   - open (ro/rw, blocking or not), close (= detach), fork (the child goes on
 *     with the inherited files and mappings, then exits);
 *   - every ioctl of uapi/self_e.h (the list is generated from the header by
 *     CMake, so a new SELF_E_IOC_* is fuzzed with no change here), with
 *     structure-aware contents (valid and unknown VM ids and pids, reserved
 *     fields, unknown flags, zero/huge ring sizes and watermarks, bad user
 *     pointers), and their neighbours: other numbers, sizes and directions;
 *   - mmap of the consumer and ring areas at right and wrong offsets, sizes,
 *     protections, MAP_SHARED/PRIVATE; mprotect to write; partial munmap;
 *     garbage written into the consumer's own tails; reads of the ring;
 *   - read() of any size into good and bad buffers, nonblocking, or blocking
 *     under a 50 ms timer (EINTR); poll();
 *   - generic-netlink messages on raw sockets: every command number up to
 *     SELF_E_CMD_MAX + 3 and random ones, do/dump/ack/echo flags, attributes
 *     of every type up to SELF_E_A_MAX + 3 with wrong sizes, nesting bits,
 *     truncated and oversized lengths, truncated headers; joining the events
 *     group and draining it.
 * Every call's result must be success or an errno from the set allowed for
 * that call (the tables below); anything else stops the run with the call,
 * its arguments and the errno. Every value the kernel hands back (ring
 * header, producer states and records, stats, VM info, netlink attributes,
 * text lines) must not look like a kernel address (>= 0xffff800000000000,
 * other than ~0, the "none" of gfns).
 *
 * --as-user UID drops to UID (and group 65534) first; --keep-cap net_admin
 * keeps CAP_NET_ADMIN (only). Then nothing may succeed: opening the device and
 * every command of the family must fail with EPERM (EOPNOTSUPP/EINVAL for
 * commands that do not exist or messages too short to name one; with
 * CAP_NET_ADMIN also EINVAL/ERANGE for attributes genetlink's policy refuses
 * first), no data may come back, and joining the events group fails too.
 *
 * The seed is printed first and written to --seed-file; the same seed replays
 * the same operations per thread (their interleaving is the scheduler's).
 * Last line: "kfuzz: ok ..." with counts, exit 0; a failure exits 1; bad
 * arguments exit 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "uapi/self_e.h"
#include "kfuzz_ioctls.h"	/* generated: KFUZZ_IOCTLS(X), one X(name) per SELF_E_IOC_* */
#include "rigtool.h"

#define DEV		"/dev/" SELF_E_DEVICE_NAME
#define MAX_FDS		12
#define MAX_MAPS	24
#define MAX_TARGETS	32
#define MAX_THREADS	8
#define NL_BUF		65536

/* ---- options and shared counters -------------------------------------- */

static uint64_t opt_seed;
static unsigned opt_seconds = 60, opt_procs = 2, opt_threads = 3;
static bool opt_vms = true, opt_verbose, unpriv;
static const char *opt_seed_file;
static long opt_uid = -1;
static bool opt_keep_net_admin;
static uint64_t end_ns;

/* In a MAP_SHARED page: every process adds to the same counts. */
struct shared {
	atomic_bool failed;
	atomic_ullong calls, ioctls, mmaps, reads, nl_msgs, nl_replies, forks, vms, scans;
	atomic_ullong fd_left;		/* ioctls that found their fd no longer the device */
	atomic_ullong err[160];		/* errno counts (0 = success) */
};
static struct shared *sh;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- random numbers: splitmix64, one state per thread ------------------ */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(struct rng *r, uint64_t n) { return n ? rnd(r) % n : 0; }
static bool chance(struct rng *r, unsigned percent) { return below(r, 100) < percent; }

static void fill_random(struct rng *r, void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len) {
		uint64_t v = rnd(r);
		size_t n = len < 8 ? len : 8;

		memcpy(p, &v, n);
		p += n;
		len -= n;
	}
}

/* An "interesting" 32/64-bit value. */
static uint64_t interesting(struct rng *r)
{
	static const uint64_t v[] = { 0, 1, 2, 3, 4, 7, 8, 31, 32, 33, 63, 64, 4095, 4096, 4097,
				      65535, 65536, 0x7fffffff, 0x80000000, 0xffffffff,
				      0x100000000ULL, 1ULL << 62, 1ULL << 63, ~0ULL, ~0ULL - 1 };
	return chance(r, 70) ? v[below(r, sizeof(v) / sizeof(v[0]))] : rnd(r) >> below(r, 64);
}

/* A pointer the kernel cannot copy from or to. */
static void *bad_pointer(struct rng *r)
{
	static const uintptr_t v[] = { 0, 8, 4096, 0xffff888000000000ULL,
				       0xffffffff81000000ULL, 0x7ffffffff000ULL, ~0UL };
	return (void *)v[below(r, sizeof(v) / sizeof(v[0]))];
}

/* ---- checking results --------------------------------------------------- */

/* Allowed results: 0 = success, else errno values; -1 ends the list. */
#define ALLOW(...) ((const int[]){ __VA_ARGS__, -1 })

static __attribute__((format(printf, 1, 2))) void failure(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "kfuzz: FAIL (seed %#" PRIx64 ", pid %d, tid %ld): ",
		     opt_seed, getpid(), syscall(SYS_gettid));
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(2, buf, n) < 0) {
		/* nothing more to do */
	}
	atomic_store(&sh->failed, true);
	_exit(1);
}

static const char *errname(int e)
{
	static __thread char buf[48];

	if (!e)
		return "success";
	snprintf(buf, sizeof(buf), "%s (%d)", strerrorname_np(e) ?: "E?", e);
	return buf;
}

/*
 * The result of one call: rc < 0 means failure with errno e. Counts it and
 * fails the run if it is not allowed. Returns e (0 on success).
 */
static __attribute__((format(printf, 4, 5)))
int check_(const int *allowed, long rc, int e, const char *fmt, ...)
{
	int got = rc < 0 ? e : 0;
	const int *a;
	char what[512], list[256];
	size_t n = 0;
	va_list ap;

	atomic_fetch_add(&sh->calls, 1);
	atomic_fetch_add(&sh->err[got < 160 ? got : 159], 1);
	for (a = allowed; *a >= 0; a++)
		if (*a == got)
			return got;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	list[0] = 0;
	for (a = allowed; *a >= 0 && n < sizeof(list) - 40; a++)
		n += snprintf(list + n, sizeof(list) - n, "%s%s", a == allowed ? "" : ", ",
			      *a ? strerrorname_np(*a) ?: "E?" : "success");
	failure("%s -> %s; allowed: %s", what, errname(got), list);
	return got;
}

/* The call in rc runs before errno is read (function arguments are unordered). */
#define check(allowed, rc, e, ...) \
	({ long _rc = (long)(rc); int _e = (e); check_((allowed), _rc, _e, __VA_ARGS__); })

static bool kernel_address(uint64_t v)
{
	return v >= 0xffff800000000000ULL && v != ~0ULL;
}

static void no_kernel_address(uint64_t v, const char *where)
{
	if (kernel_address(v))
		failure("%s: %#" PRIx64 " looks like a kernel address", where, v);
}

/* ---- shared per-process state ------------------------------------------- */

struct slot {
	pthread_rwlock_t lock;	/* ops: read lock; close: write lock */
	int fd;			/* -1: free */
	bool attached, rw;
	struct self_e_attach a;	/* what ATTACH returned */
};

enum map_kind { MAP_CONS, MAP_RING, MAP_OTHER };

struct mapping {
	pthread_rwlock_t lock;	/* touching: read lock; munmap: write lock */
	void *addr;		/* NULL: free */
	size_t len;
	enum map_kind kind;
	uint32_t nr_lanes;
};

struct target {
	uint32_t vm_id, pid;
};

static struct slot slots[MAX_FDS];
static struct mapping maps[MAX_MAPS];
static struct target targets[MAX_TARGETS];
static atomic_uint nr_targets;
static pthread_mutex_t targets_lock = PTHREAD_MUTEX_INITIALIZER;
static int nl_family, nl_mcgrp;

static void state_init(void)
{
	int i;

	for (i = 0; i < MAX_FDS; i++) {
		pthread_rwlock_init(&slots[i].lock, NULL);
		slots[i].fd = -1;
	}
	for (i = 0; i < MAX_MAPS; i++)
		pthread_rwlock_init(&maps[i].lock, NULL);
}

/* ---- netlink basics ------------------------------------------------------ */

struct nl {
	int fd;
	uint32_t seq;
	unsigned char buf[NL_BUF] __attribute__((aligned(8)));
};

static int nl_open(struct nl *nl)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int one = 1;

	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -1;
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(nl->fd);
		return -1;
	}
	nl->seq = 1;
	return 0;
}

static int nl_send(struct nl *nl, const void *msg, size_t len)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	return sendto(nl->fd, msg, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -1 : 0;
}

/* Wait up to ms for a datagram; returns its length, 0 on timeout. */
static ssize_t nl_recv(struct nl *nl, int ms)
{
	struct pollfd p = { .fd = nl->fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return 0;
	n = recv(nl->fd, nl->buf, sizeof(nl->buf), MSG_DONTWAIT);
	if (n < 0)
		check(ALLOW(EAGAIN, ENOBUFS), -1, errno, "netlink recv");
	return n < 0 ? 0 : n;
}

/* Resolve the family id and the events group with the genl controller. */
static int resolve_family(void)
{
	struct nl *nl = calloc(1, sizeof(*nl));
	struct {
		struct nlmsghdr n;
		struct genlmsghdr g;
		char attrs[64];
	} req = { 0 };
	struct nlattr *na = (struct nlattr *)req.attrs;
	ssize_t len;
	int family = -1;

	if (!nl || nl_open(nl))
		die("netlink socket: %s", strerror(errno));
	na->nla_type = CTRL_ATTR_FAMILY_NAME;
	na->nla_len = NLA_HDRLEN + sizeof(SELF_E_GENL_NAME);
	memcpy((char *)na + NLA_HDRLEN, SELF_E_GENL_NAME, sizeof(SELF_E_GENL_NAME));
	req.n.nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN + NLA_ALIGN(na->nla_len);
	req.n.nlmsg_type = GENL_ID_CTRL;
	req.n.nlmsg_flags = NLM_F_REQUEST;
	req.n.nlmsg_seq = 1;
	req.g.cmd = CTRL_CMD_GETFAMILY;
	req.g.version = 1;
	if (nl_send(nl, &req, req.n.nlmsg_len))
		die("netlink send: %s", strerror(errno));
	len = nl_recv(nl, 2000);
	for (struct nlmsghdr *h = (void *)nl->buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
		struct nlattr *a;
		int rem;

		if (h->nlmsg_type != GENL_ID_CTRL)
			continue;
		rem = h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
		for (a = (void *)((char *)NLMSG_DATA(h) + GENL_HDRLEN);
		     rem >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= rem;
		     rem -= NLA_ALIGN(a->nla_len), a = (void *)((char *)a + NLA_ALIGN(a->nla_len))) {
			if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
				family = *(uint16_t *)((char *)a + NLA_HDRLEN);
			if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_MCAST_GROUPS) {
				/* nest of nests of (ID u32, NAME string) */
				struct nlattr *g = (void *)((char *)a + NLA_HDRLEN);
				int grem = a->nla_len - NLA_HDRLEN;

				for (; grem >= NLA_HDRLEN && g->nla_len >= NLA_HDRLEN && g->nla_len <= grem;
				     grem -= NLA_ALIGN(g->nla_len), g = (void *)((char *)g + NLA_ALIGN(g->nla_len))) {
					struct nlattr *f = (void *)((char *)g + NLA_HDRLEN);
					int frem = g->nla_len - NLA_HDRLEN;
					uint32_t id = 0;
					bool ours = false;

					for (; frem >= NLA_HDRLEN && f->nla_len >= NLA_HDRLEN && f->nla_len <= frem;
					     frem -= NLA_ALIGN(f->nla_len), f = (void *)((char *)f + NLA_ALIGN(f->nla_len))) {
						if (f->nla_type == CTRL_ATTR_MCAST_GRP_ID)
							id = *(uint32_t *)((char *)f + NLA_HDRLEN);
						if (f->nla_type == CTRL_ATTR_MCAST_GRP_NAME &&
						    !strcmp((char *)f + NLA_HDRLEN, SELF_E_GENL_MCGRP))
							ours = true;
					}
					if (ours)
						nl_mcgrp = id;
				}
			}
		}
	}
	close(nl->fd);
	free(nl);
	return family;
}

/*
 * Walk attributes [p, p + len): well formed, and no 8-byte value looks like a
 * kernel address. Nests of our family (MEMSLOTS, MEMSLOT) are walked too.
 */
static void scan_attrs(const unsigned char *p, int len, int depth, const char *what)
{
	while (len >= NLA_HDRLEN) {
		const struct nlattr *a = (const void *)p;
		int alen = a->nla_len, type = a->nla_type & NLA_TYPE_MASK;
		uint64_t v;

		if (alen < NLA_HDRLEN || alen > len)
			failure("%s: malformed attribute (type %d, len %d, %d left)", what, type, alen, len);
		if (alen - NLA_HDRLEN == 8) {
			memcpy(&v, p + NLA_HDRLEN, 8);
			no_kernel_address(v, what);
		}
		/* MEMSLOTS holds MEMSLOT nests, which hold the slot's values. */
		if ((depth == 0 && type == SELF_E_A_MEMSLOTS) || depth == 1)
			scan_attrs(p + NLA_HDRLEN, alen - NLA_HDRLEN, depth + 1, what);
		len -= NLA_ALIGN(alen);
		p += NLA_ALIGN(alen);
	}
}

/*
 * Read the answers to request seq: data messages of the family are checked
 * (well formed, no kernel address; none at all when unprivileged), errors
 * and dump ends must be in allowed. Returns the number of data messages.
 */
static int nl_answers(struct nl *nl, uint32_t seq, const int *allowed, const char *what,
		      void (*on_msg)(const struct nlmsghdr *))
{
	int msgs = 0, rounds = 0;
	ssize_t len;

	while (rounds++ < 64 && (len = nl_recv(nl, 200)) > 0) {
		for (struct nlmsghdr *h = (void *)nl->buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				check(allowed, e->error ? -1 : 0, -e->error, "netlink %s: error reply", what);
				return msgs;
			}
			if (h->nlmsg_type == NLMSG_DONE) {
				int e = h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)) ? *(int *)NLMSG_DATA(h) : 0;

				check(allowed, e ? -1 : 0, -e, "netlink %s: dump end", what);
				return msgs;
			}
			if (h->nlmsg_type == nl_family) {
				if (unpriv)
					failure("netlink %s: unprivileged request answered with data", what);
				if (h->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
					failure("netlink %s: short reply", what);
				scan_attrs((unsigned char *)NLMSG_DATA(h) + GENL_HDRLEN,
					   h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, 0, what);
				atomic_fetch_add(&sh->nl_replies, 1);
				if (on_msg)
					on_msg(h);
				msgs++;
				if (!(h->nlmsg_flags & NLM_F_MULTI))
					return msgs;
			}
		}
	}
	return msgs;
}

/* Learn the VMs there are now (attach targets) from a LIST_VMS dump. */
static void note_target(const struct nlmsghdr *h)
{
	const unsigned char *p = (unsigned char *)NLMSG_DATA(h) + GENL_HDRLEN;
	int len = h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	struct target t = { 0 };

	while (len >= NLA_HDRLEN) {
		const struct nlattr *a = (const void *)p;

		if (a->nla_type == SELF_E_A_VM_ID && a->nla_len == NLA_HDRLEN + 4)
			memcpy(&t.vm_id, p + NLA_HDRLEN, 4);
		if (a->nla_type == SELF_E_A_PID && a->nla_len == NLA_HDRLEN + 4)
			memcpy(&t.pid, p + NLA_HDRLEN, 4);
		len -= NLA_ALIGN(a->nla_len);
		p += NLA_ALIGN(a->nla_len);
	}
	pthread_mutex_lock(&targets_lock);
	targets[atomic_load(&nr_targets) % MAX_TARGETS] = t;
	atomic_fetch_add(&nr_targets, 1);
	pthread_mutex_unlock(&targets_lock);
}

static const int *nl_allowed(void)
{
	/* Unprivileged: nothing but refusals. */
	/*
	 * With CAP_NET_ADMIN, genetlink validates attributes (EINVAL, ERANGE)
	 * before the module's own check: refusals too, with no data.
	 */
	static const int refused[] = { EPERM, EOPNOTSUPP, EINVAL, ERANGE, -1 };
	static const int root[] = { 0, EINVAL, ERANGE, ENOENT, EOPNOTSUPP, EMSGSIZE, -1 };

	return unpriv ? refused : root;
}

static void refresh_targets(struct nl *nl)
{
	struct {
		struct nlmsghdr n;
		struct genlmsghdr g;
	} req = { 0 };

	req.n.nlmsg_len = sizeof(req);
	req.n.nlmsg_type = nl_family;
	req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.n.nlmsg_seq = ++nl->seq;
	req.g.cmd = SELF_E_CMD_LIST_VMS;
	req.g.version = SELF_E_GENL_VERSION;
	check(ALLOW(0), nl_send(nl, &req, sizeof(req)), errno, "netlink send LIST_VMS");
	pthread_mutex_lock(&targets_lock);
	atomic_store(&nr_targets, 0);
	pthread_mutex_unlock(&targets_lock);
	nl_answers(nl, req.n.nlmsg_seq, unpriv ? ALLOW(EPERM) : ALLOW(0), "LIST_VMS dump",
		   note_target);
}

/* Append one random attribute at p (room bytes); returns its aligned size. */
static int random_attr(struct rng *r, unsigned char *p, int room, int depth)
{
	struct nlattr *a = (void *)p;
	int plen, total;
	static const int sizes[] = { 0, 1, 2, 3, 4, 5, 8, 12, 16, 64 };

	if (room < NLA_HDRLEN + 16)
		return 0;
	a->nla_type = chance(r, 85) ? below(r, SELF_E_A_MAX + 4) : below(r, 0x8000);
	if (chance(r, 10))
		a->nla_type |= NLA_F_NESTED;
	if (chance(r, 5))
		a->nla_type |= NLA_F_NET_BYTEORDER;
	if ((a->nla_type & NLA_F_NESTED || chance(r, 10)) && depth < 3) {
		plen = 0;
		while (chance(r, 60) && plen < room - NLA_HDRLEN - 32)
			plen += random_attr(r, p + NLA_HDRLEN + plen, room - NLA_HDRLEN - plen, depth + 1);
	} else {
		plen = sizes[below(r, sizeof(sizes) / sizeof(sizes[0]))];
		if (plen > room - NLA_HDRLEN)
			plen = room - NLA_HDRLEN;
		if (plen == 4 && chance(r, 50)) {
			/* a VM id: a known one, 0, out of range */
			uint32_t v = atomic_load(&nr_targets) && chance(r, 50) ?
				     targets[below(r, MAX_TARGETS)].vm_id : (uint32_t)interesting(r);
			memcpy(p + NLA_HDRLEN, &v, 4);
		} else {
			fill_random(r, p + NLA_HDRLEN, plen);
		}
	}
	total = NLA_HDRLEN + plen;
	a->nla_len = total;
	if (chance(r, 4))	/* lie about the length */
		a->nla_len = chance(r, 50) ? below(r, NLA_HDRLEN) : total + 1 + below(r, 64);
	return NLA_ALIGN(total);
}

static void fuzz_netlink(struct rng *r, struct nl *nl)
{
	static __thread unsigned char tmsg[4096] __attribute__((aligned(8)));
	struct nlmsghdr *n = (void *)tmsg;
	struct genlmsghdr *g = NLMSG_DATA(n);
	int len = NLMSG_HDRLEN + GENL_HDRLEN, sent_len;
	char what[160];
	uint8_t cmd;

	memset(tmsg, 0, 256);
	cmd = chance(r, 90) ? below(r, SELF_E_CMD_MAX + 4) : rnd(r);
	n->nlmsg_type = chance(r, 97) ? (uint64_t)nl_family : nl_family + 1000 + below(r, 100);
	n->nlmsg_flags = NLM_F_REQUEST;
	if (chance(r, 50))
		n->nlmsg_flags |= NLM_F_DUMP;
	if (chance(r, 30))
		n->nlmsg_flags |= NLM_F_ACK;
	if (chance(r, 5))
		n->nlmsg_flags |= NLM_F_ECHO;
	if (chance(r, 3))
		n->nlmsg_flags |= rnd(r) & 0xff00;
	n->nlmsg_seq = ++nl->seq;
	g->cmd = cmd;
	g->version = chance(r, 90) ? SELF_E_GENL_VERSION : rnd(r);
	if (chance(r, 5))
		g->reserved = rnd(r);
	while (chance(r, 70) && len < 2048)
		len += random_attr(r, tmsg + len, 2048 - len, 0);
	n->nlmsg_len = len;
	sent_len = len;
	if (chance(r, 4))	/* truncated: no (whole) genl header */
		sent_len = n->nlmsg_len = NLMSG_HDRLEN + below(r, GENL_HDRLEN);
	else if (chance(r, 3))	/* header claims more or less than is sent */
		n->nlmsg_len = chance(r, 50) ? len + 1 + below(r, 256) : below(r, len);
	snprintf(what, sizeof(what), "type %#x cmd %u flags %#x len %u/%d", n->nlmsg_type, cmd,
		 n->nlmsg_flags, n->nlmsg_len, sent_len);
	atomic_fetch_add(&sh->nl_msgs, 1);
	check(ALLOW(0), nl_send(nl, tmsg, sent_len), errno, "netlink send %s", what);
	nl_answers(nl, n->nlmsg_seq, n->nlmsg_type == nl_family ? nl_allowed() :
		   ALLOW(ENOENT, EOPNOTSUPP, EINVAL, EPERM), what, NULL);
}

/* The events group: join (EPERM unprivileged), drain, leave. */
static void fuzz_mcast(struct rng *r)
{
	struct nl *nl = malloc(sizeof(*nl));
	int grp = nl_mcgrp, rc, rounds;

	if (!nl || nl_open(nl)) {
		free(nl);
		return;
	}
	rc = setsockopt(nl->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp));
	check(unpriv ? ALLOW(EPERM) : ALLOW(0), rc, errno, "join group %d (%s)", grp,
	      SELF_E_GENL_MCGRP);
	for (rounds = 0; !rc && rounds < (int)below(r, 5); rounds++) {
		ssize_t len = nl_recv(nl, 20);

		for (struct nlmsghdr *h = (void *)nl->buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len))
			if (h->nlmsg_type == nl_family && h->nlmsg_len >= NLMSG_HDRLEN + GENL_HDRLEN)
				scan_attrs((unsigned char *)NLMSG_DATA(h) + GENL_HDRLEN,
					   h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, 0, "notification");
	}
	close(nl->fd);
	free(nl);
}

/* ---- the device ---------------------------------------------------------- */

static const struct {
	const char *name;
	unsigned int cmd;
} uapi_ioctls[] = {
#define X(name) { #name, name },
	KFUZZ_IOCTLS(X)
#undef X
};
#define NR_UAPI_IOCTLS (sizeof(uapi_ioctls) / sizeof(uapi_ioctls[0]))

static struct target pick_target(struct rng *r)
{
	unsigned n = atomic_load(&nr_targets);
	struct target t;

	if (n && chance(r, 70)) {
		pthread_mutex_lock(&targets_lock);
		t = targets[below(r, n < MAX_TARGETS ? n : MAX_TARGETS)];
		pthread_mutex_unlock(&targets_lock);
		return t;
	}
	t.vm_id = interesting(r);
	t.pid = chance(r, 50) ? (uint32_t)getpid() : (uint32_t)interesting(r);
	return t;
}

static void fuzz_attach_arg(struct rng *r, struct self_e_attach *a)
{
	struct target t = pick_target(r);

	memset(a, 0, sizeof(*a));
	a->flags = chance(r, 40) ? SELF_E_ATTACH_BY_PID : 0;
	if (chance(r, 5))
		a->flags = rnd(r);
	a->vm_id = t.vm_id;
	a->pid = t.pid;
	/* ring sizes: default, tiny, small, large, huge */
	switch (below(r, 6)) {
	case 0: a->ring_bytes = 0; break;
	case 1: a->ring_bytes = below(r, 512); break;
	case 2: a->ring_bytes = 4096 << below(r, 6); break;
	case 3: a->ring_bytes = 1U << (16 + below(r, 5)); break;
	case 4: a->ring_bytes = 1U << 22; break;	/* huge ones: op_huge_ring() */
	default: a->ring_bytes = rnd(r) & 0xfffff; break;
	}
	a->event_mask = chance(r, 80) ? below(r, SELF_E_EVENT_MASK_ALL + 1) : rnd(r);
	a->watermark = chance(r, 70) ? below(r, 64) : (uint32_t)interesting(r);
	if (chance(r, 5))
		a->reserved0 = rnd(r);
	if (chance(r, 5))
		a->reserved[below(r, 4)] = rnd(r);
	if (chance(r, 3))
		fill_random(r, &a->nr_lanes, sizeof(*a) - offsetof(struct self_e_attach, nr_lanes));
}

static void check_stats(const struct self_e_stats *st)
{
	uint64_t sum = 0;
	int t;

	for (t = 0; t < SELF_E_EV_MAX; t++) {
		no_kernel_address(st->by_type[t], "stats.by_type");
		sum += st->by_type[t];
	}
	no_kernel_address(st->produced, "stats.produced");
	no_kernel_address(st->dropped, "stats.dropped");
	if (st->reserved[0] || st->reserved[1])
		failure("stats: reserved fields not zero");
	/* Counters are read lane by lane while events come: no exact check here. */
	(void)sum;
}

static dev_t dev_rdev;	/* the device's number, to tell it from another file */

/*
 * ENOTTY from one of the device's own ioctls: the module never answers its
 * ioctls so, so either the fd number no longer names /dev/self-e (a race in
 * this harness) or it is a real failure. Counts and skips the first; leaves
 * the second (and errno) to check().
 */
static bool fd_left_device(long rc, int fd)
{
	int e = errno;
	struct stat st;

	if (rc >= 0 || e != ENOTTY)
		return false;
	if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == dev_rdev) {
		errno = e;
		return false;
	}
	atomic_fetch_add(&sh->fd_left, 1);
	return true;
}

static void fuzz_ioctl(struct rng *r, struct slot *s)
{
	union {
		struct self_e_attach a;
		struct self_e_stats st;
		struct self_e_vm_info info;
		uint64_t mask;
		unsigned char raw[4096];
	} u;
	struct self_e_memslot ms[8];
	unsigned int cmd;
	void *arg = &u;
	bool badptr = chance(r, 8);
	long rc;
	int e, fd = s->fd;

	memset(&u, 0, sizeof(u));
	atomic_fetch_add(&sh->ioctls, 1);
	switch (below(r, 10)) {
	case 0: case 1:
		cmd = SELF_E_IOC_ATTACH;
		fuzz_attach_arg(r, &u.a);
		if (badptr)
			arg = bad_pointer(r);
		rc = ioctl(fd, cmd, arg);
		if (fd_left_device(rc, fd))
			return;
		e = check(ALLOW(0, EFAULT, EINVAL, EBUSY, ENOENT, ESRCH, ENOMEM), rc, errno,
			  "ioctl(ATTACH, {flags %#x vm %u pid %u ring %u mask %#llx wm %u res0 %u res %#llx %#llx %#llx %#llx}%s)",
			  u.a.flags, u.a.vm_id, u.a.pid, u.a.ring_bytes,
			  (unsigned long long)u.a.event_mask, u.a.watermark, u.a.reserved0,
			  (unsigned long long)u.a.reserved[0], (unsigned long long)u.a.reserved[1],
			  (unsigned long long)u.a.reserved[2], (unsigned long long)u.a.reserved[3],
			  badptr ? " bad pointer" : "");
		if (!e) {
			if (u.a.cons_offset != 0 || u.a.ring_offset != u.a.cons_size || !u.a.nr_lanes ||
			    u.a.ring_size < u.a.ring_bytes)
				failure("ATTACH answered an inconsistent layout (cons %#llx+%#llx ring %#llx+%#llx)",
					(unsigned long long)u.a.cons_offset, (unsigned long long)u.a.cons_size,
					(unsigned long long)u.a.ring_offset, (unsigned long long)u.a.ring_size);
			s->a = u.a;
			s->attached = true;
		}
		return;
	case 2:
		cmd = SELF_E_IOC_SET_MASK;
		u.mask = chance(r, 80) ? below(r, SELF_E_EVENT_MASK_ALL + 1) : rnd(r);
		rc = ioctl(fd, cmd, badptr ? bad_pointer(r) : arg);
		if (fd_left_device(rc, fd))
			return;
		check(ALLOW(0, EFAULT, EINVAL), rc, errno, "ioctl(SET_MASK, %#llx%s)",
		      (unsigned long long)u.mask, badptr ? " bad pointer" : "");
		return;
	case 3:
		cmd = SELF_E_IOC_GET_STATS;
		rc = ioctl(fd, cmd, badptr ? bad_pointer(r) : arg);
		if (fd_left_device(rc, fd))
			return;
		e = check(ALLOW(0, EFAULT, EINVAL), rc, errno, "ioctl(GET_STATS%s)",
			  badptr ? ", bad pointer" : "");
		if (!e && !badptr)
			check_stats(&u.st);
		return;
	case 4: case 5: {
		struct target t = pick_target(r);

		cmd = SELF_E_IOC_GET_VM;
		u.info.vm_id = t.vm_id;
		u.info.nr_slots = chance(r, 70) ? below(r, 9) : (uint32_t)interesting(r);
		u.info.slots_ptr = (uintptr_t)ms;
		if (u.info.nr_slots > 8 || chance(r, 8))
			u.info.slots_ptr = chance(r, 50) ? (uintptr_t)bad_pointer(r) : rnd(r);
		if (chance(r, 5))
			u.info.reserved[below(r, 2)] = rnd(r);
		rc = ioctl(fd, cmd, badptr ? bad_pointer(r) : arg);
		if (fd_left_device(rc, fd))
			return;
		e = check(ALLOW(0, EFAULT, EINVAL, ENOENT, ENOMEM), rc, errno,
			  "ioctl(GET_VM, {vm %u nr_slots %u slots_ptr %#llx res %#llx %#llx}%s)",
			  t.vm_id, u.info.nr_slots, (unsigned long long)u.info.slots_ptr,
			  (unsigned long long)u.info.reserved[0], (unsigned long long)u.info.reserved[1],
			  badptr ? " bad pointer" : "");
		if (!e && !badptr && u.info.slots_ptr == (uintptr_t)ms) {
			for (unsigned i = 0; i < u.info.nr_slots && i < 8; i++) {
				no_kernel_address(ms[i].hva, "GET_VM slot hva");
				no_kernel_address(ms[i].base_gfn, "GET_VM slot gfn");
			}
		}
		return;
	}
	case 6: {
		/* A uapi ioctl (a new one included) with random contents. */
		unsigned i = below(r, NR_UAPI_IOCTLS);

		cmd = uapi_ioctls[i].cmd;
		fill_random(r, u.raw, sizeof(u.raw));
		rc = ioctl(fd, cmd, badptr ? bad_pointer(r) : arg);
		if (fd_left_device(rc, fd))
			return;
		check(ALLOW(0, EFAULT, EINVAL, EBUSY, ENOENT, ESRCH, ENOMEM, ENOTTY), rc, errno,
		      "ioctl(%s, random bytes%s)", uapi_ioctls[i].name, badptr ? ", bad pointer" : "");
		if (cmd == SELF_E_IOC_ATTACH && rc == 0) {
			s->a = u.a;
			s->attached = true;
		}
		return;
	}
	default: {
		/* Neighbours: a uapi number with another size, direction, nr or type. */
		unsigned base = uapi_ioctls[below(r, NR_UAPI_IOCTLS)].cmd, dir, size, nr, type;
		const char *how;

		dir = _IOC_DIR(base);
		size = _IOC_SIZE(base);
		nr = _IOC_NR(base);
		type = _IOC_TYPE(base);
		switch (below(r, 5)) {
		case 0: size = chance(r, 50) ? size + (chance(r, 50) ? 8 : -8) : below(r, 512); how = "size"; break;
		case 1: dir = (dir + 1 + below(r, 3)) & 3; how = "direction"; break;
		case 2: nr = chance(r, 70) ? below(r, 16) : below(r, 256); how = "number"; break;
		case 3:
			/*
			 * Not a type the VFS answers itself before the driver
			 * (FS_IOC_* 'f', FIFREEZE 'X', FIO* 'T', FICLONE 0x94,
			 * FS_IOC_GETFSUUID 0x15): those may read the argument
			 * first (EFAULT) and are not the module's.
			 */
			do
				type = _IOC_TYPE(base) ^ (1 + below(r, 255));
			while (type == 'f' || type == 'X' || type == 'T' || type == 0x94 || type == 0x15);
			how = "type";
			break;
		default: {
			static const unsigned generic[] = { FIONREAD, TCGETS, FIOQSIZE };

			base = generic[below(r, 3)];
			dir = _IOC_DIR(base), size = _IOC_SIZE(base), nr = _IOC_NR(base), type = _IOC_TYPE(base);
			how = "generic";
			break;
		}
		}
		cmd = _IOC(dir, type, nr, size);
		fill_random(r, u.raw, sizeof(u.raw));
		for (unsigned i = 0; i < NR_UAPI_IOCTLS; i++)
			if (cmd == uapi_ioctls[i].cmd)
				return;	/* landed on a real one */
		rc = ioctl(fd, cmd, badptr ? bad_pointer(r) : arg);
		if (fd_left_device(rc, fd))
			return;
		check(ALLOW(ENOTTY, EINVAL), rc, errno, "ioctl(%#x: %s of %#x changed)", cmd, how, base);
		return;
	}
	}
}

/* ---- mappings ------------------------------------------------------------ */

static void scan_ring(const struct mapping *m)
{
	const struct self_e_ring_header *h = m->addr;
	const uint64_t *w = m->addr;
	size_t i, n;

	if (m->len < sizeof(*h))
		return;
	if (h->magic != SELF_E_RING_MAGIC || h->record_size != sizeof(struct self_e_event))
		failure("ring header: magic %#x record size %u", h->magic, h->record_size);
	if (h->reserved[0] || h->reserved[1] || h->reserved[2] || h->reserved[3])
		failure("ring header: reserved fields not zero");
	/* Header and producer states: every word. */
	n = h->data_offset / 8 < m->len / 8 ? h->data_offset / 8 : m->len / 8;
	for (i = 0; i < n; i++)
		no_kernel_address(w[i], "ring header/producer state");
	/* Records: ts, gfn, arg. */
	for (i = h->data_offset; i + sizeof(struct self_e_event) <= m->len; i += sizeof(struct self_e_event)) {
		const struct self_e_event *ev = (const void *)((const char *)m->addr + i);

		no_kernel_address(ev->ts_ns, "ring record ts");
		no_kernel_address(ev->gfn, "ring record gfn");
		no_kernel_address(ev->arg, "ring record arg");
	}
	atomic_fetch_add(&sh->scans, 1);
}

static void fuzz_mmap(struct rng *r, struct slot *s)
{
	struct mapping *m = NULL;
	uint64_t off, len;
	enum map_kind kind;
	int prot, flags, i, e;
	void *p;

	for (i = 0; i < MAX_MAPS && !m; i++) {
		struct mapping *c = &maps[below(r, MAX_MAPS)];

		if (!c->addr && !pthread_rwlock_trywrlock(&c->lock)) {
			if (!c->addr)
				m = c;
			else
				pthread_rwlock_unlock(&c->lock);
		}
	}
	if (!m)
		return;
	kind = below(r, 3);
	switch (kind) {
	case MAP_CONS: off = 0; len = s->a.cons_size; break;
	case MAP_RING: off = s->a.ring_offset; len = s->a.ring_size; break;
	default:
		off = chance(r, 50) ? below(r, 64) * 4096 : interesting(r) & ~4095ULL;
		len = chance(r, 50) ? (below(r, 64) + 1) * 4096 : interesting(r);
		break;
	}
	if (!s->attached && kind != MAP_OTHER) {
		off = below(r, 4) * 4096;
		len = 4096 << below(r, 4);
	}
	if (chance(r, 15))
		len += chance(r, 50) ? 4096 : -4096ULL;
	if (chance(r, 10))
		off += 4096;
	if (len > (1ULL << 34) || !len)
		len = 4096;
	prot = PROT_READ;
	if (kind == MAP_CONS ? chance(r, 80) : chance(r, 20))
		prot |= PROT_WRITE;
	if (chance(r, 5))
		prot = chance(r, 50) ? PROT_NONE : PROT_READ | PROT_EXEC;
	flags = chance(r, 85) ? MAP_SHARED : MAP_PRIVATE;
	atomic_fetch_add(&sh->mmaps, 1);
	p = mmap(NULL, len, prot, flags, s->fd, off);
	e = check(ALLOW(0, EINVAL, EPERM, ENODEV, EACCES, ENOMEM, EOVERFLOW), p == MAP_FAILED ? -1 : 0,
		  errno, "mmap(len %#llx, prot %#x, %s, off %#llx; attached %d cons %#llx ring %#llx+%#llx, fd %s)",
		  (unsigned long long)len, prot, flags == MAP_SHARED ? "shared" : "private",
		  (unsigned long long)off, s->attached, (unsigned long long)s->a.cons_size,
		  (unsigned long long)s->a.ring_offset, (unsigned long long)s->a.ring_size,
		  s->rw ? "rw" : "ro");
	if (e) {
		pthread_rwlock_unlock(&m->lock);
		return;
	}
	/* The ring area is never writable, and cannot become so. */
	if (s->attached && off == s->a.ring_offset && off) {
		if (prot & PROT_WRITE)
			failure("mmap of the ring area with PROT_WRITE succeeded (%s)",
				flags == MAP_SHARED ? "shared" : "private");
		check(ALLOW(EACCES), mprotect(p, len, PROT_READ | PROT_WRITE), errno,
		      "mprotect(ring area, PROT_READ|PROT_WRITE)");
		m->kind = prot & PROT_READ ? MAP_RING : MAP_OTHER;
	} else {
		m->kind = s->attached && off == 0 && (prot & PROT_WRITE) ? MAP_CONS : MAP_OTHER;
		if (!(prot & PROT_READ))
			m->kind = MAP_OTHER;
	}
	m->nr_lanes = s->a.nr_lanes;
	m->addr = p;
	m->len = len;
	pthread_rwlock_unlock(&m->lock);
}

static void fuzz_munmap(struct rng *r)
{
	struct mapping *m = &maps[below(r, MAX_MAPS)];

	pthread_rwlock_wrlock(&m->lock);
	if (m->addr) {
		if (chance(r, 20) && m->len > 4096) {
			/* drop the last page only */
			check(ALLOW(0), munmap((char *)m->addr + m->len - 4096, 4096), errno, "munmap(tail page)");
			m->len -= 4096;
			if (m->kind == MAP_RING)
				m->kind = MAP_OTHER;
		} else {
			check(ALLOW(0), munmap(m->addr, m->len), errno, "munmap(%p, %#zx)", m->addr, m->len);
			m->addr = NULL;
		}
	}
	pthread_rwlock_unlock(&m->lock);
}

/* Use a mapping: scan the ring, or write garbage into our own tails. */
static void fuzz_touch(struct rng *r)
{
	struct mapping *m = &maps[below(r, MAX_MAPS)];

	pthread_rwlock_rdlock(&m->lock);
	if (m->addr && m->kind == MAP_RING && chance(r, 30)) {
		scan_ring(m);
	} else if (m->addr && m->kind == MAP_CONS) {
		struct self_e_lane_cons *c = m->addr;
		uint32_t lane = below(r, m->nr_lanes ? m->nr_lanes : 1);

		if (lane * sizeof(*c) < m->len) {
			if (chance(r, 50))
				c[lane].tail = interesting(r);
			else
				c[lane].tail += below(r, 64) - 16;
		}
	}
	pthread_rwlock_unlock(&m->lock);
}

/* ---- read and poll ------------------------------------------------------ */

static void alarm_handler(int sig) { (void)sig; }

static void scan_text(const char *p, size_t n)
{
	const char *end = p + n;

	while (p < end) {
		const char *eq = memchr(p, '=', end - p);
		char num[24];
		size_t k = 0;

		if (!eq)
			break;
		p = eq + 1;
		while (p < end && k < sizeof(num) - 1 && *p != ' ' && *p != '\n')
			num[k++] = *p++;
		num[k] = 0;
		if (k && (num[0] >= '0' && num[0] <= '9'))
			no_kernel_address(strtoull(num, NULL, 0), "text stream value");
	}
}

static void fuzz_read(struct rng *r, struct slot *s, timer_t timer)
{
	static const size_t sizes[] = { 0, 1, 7, 64, 100, 4096, 65536 };
	static __thread char buf[65536];
	size_t size = chance(r, 80) ? sizes[below(r, 7)] : below(r, sizeof(buf));
	bool blocking = chance(r, 15), bad = chance(r, 8);
	struct itimerspec its = { .it_value.tv_nsec = 50 * 1000000 };
	void *dst = bad ? bad_pointer(r) : buf;
	ssize_t n;
	int fl = fcntl(s->fd, F_GETFL);

	atomic_fetch_add(&sh->reads, 1);
	if (blocking) {
		if (fl & O_NONBLOCK)
			blocking = false;
		else
			timer_settime(timer, 0, &its, NULL);
	}
	if (!blocking && !(fl & O_NONBLOCK)) {
		/* a blocking file: do not block without the timer */
		struct pollfd p = { .fd = s->fd, .events = POLLIN };

		if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLHUP)))
			return;
		/* Another thread may drain it first: arm the timer all the same. */
		timer_settime(timer, 0, &its, NULL);
		blocking = true;
	}
	n = read(s->fd, dst, size);
	if (blocking) {
		struct itimerspec off = { 0 };

		timer_settime(timer, 0, &off, NULL);
	}
	check(ALLOW(0, EAGAIN, EFAULT, EINTR, ENOMEM), n, errno, "read(%zu bytes%s, %s)", size,
	      bad ? ", bad buffer" : "", blocking ? "blocking" : "nonblocking");
	if (n > 0 && !bad)
		scan_text(buf, n);
	if (n > (ssize_t)size)
		failure("read(%zu) returned %zd", size, n);
}

static void fuzz_poll(struct rng *r, struct slot *s)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN | (chance(r, 20) ? POLLOUT : 0) };
	int n = poll(&p, 1, below(r, 20));

	check(ALLOW(0, EINTR), n, errno, "poll(events %#x)", p.events);
	if (n > 0 && (p.revents & POLLNVAL))
		failure("poll: POLLNVAL on an open file");
}

/* ---- the operation loop ------------------------------------------------- */

static int open_flags(struct rng *r, bool *rw)
{
	int fl = O_CLOEXEC;

	*rw = chance(r, 70);
	fl |= *rw ? O_RDWR : O_RDONLY;
	if (chance(r, 70))
		fl |= O_NONBLOCK;
	return fl;
}

static void op_open(struct rng *r)
{
	struct slot *s = &slots[below(r, MAX_FDS)];
	bool rw;
	int fd, fl = open_flags(r, &rw);

	if (pthread_rwlock_trywrlock(&s->lock))
		return;
	if (s->fd < 0) {
		fd = open(DEV, fl);
		check(unpriv ? ALLOW(EPERM) : ALLOW(0, EMFILE, ENOMEM), fd, errno, "open(%s, %#x)", DEV, fl);
		if (fd >= 0) {
			s->fd = fd;
			s->rw = rw;
			s->attached = false;
			memset(&s->a, 0, sizeof(s->a));
		}
	}
	pthread_rwlock_unlock(&s->lock);
}

static void op_close(struct rng *r)
{
	struct slot *s = &slots[below(r, MAX_FDS)];

	pthread_rwlock_wrlock(&s->lock);
	if (s->fd >= 0) {
		check(ALLOW(0), close(s->fd), errno, "close");
		s->fd = -1;
		s->attached = false;
	}
	pthread_rwlock_unlock(&s->lock);
}

static void one_op(struct rng *r, struct nl *nl, timer_t timer);

/*
 * A huge ring (up to the module's cap per lane) on a file of its own, closed
 * at once, so that a few of them cannot take the guest's memory.
 */
static void op_huge_ring(struct rng *r)
{
	static const uint32_t huge[] = { 1U << 26, 1U << 28, 1U << 31, 0xffffffffU };
	struct self_e_attach a;
	struct target t = pick_target(r);
	int fd = open(DEV, O_RDWR | O_CLOEXEC), e;

	if (fd < 0) {
		check(unpriv ? ALLOW(EPERM) : ALLOW(EMFILE, ENOMEM), -1, errno, "open(%s)", DEV);
		return;
	}
	memset(&a, 0, sizeof(a));
	a.flags = chance(r, 50) ? SELF_E_ATTACH_BY_PID : 0;
	a.vm_id = t.vm_id;
	a.pid = t.pid;
	a.ring_bytes = huge[below(r, 4)];
	e = check(ALLOW(0, ENOENT, ESRCH, ENOMEM), ioctl(fd, SELF_E_IOC_ATTACH, &a), errno,
		  "ioctl(ATTACH, {flags %#x vm %u pid %u ring %#x})", a.flags, t.vm_id, t.pid,
		  a.ring_bytes);
	if (!e && a.ring_bytes > (1U << 20) * 32 * a.nr_lanes)
		failure("ATTACH: a ring of %u bytes is over the 2^20 records per lane cap", a.ring_bytes);
	close(fd);
}

/* The child of a fork goes on with inherited files and mappings for a while. */
static void op_fork(struct rng *r, struct nl *nl, timer_t timer)
{
	uint64_t cseed = rnd(r);
	pid_t pid;
	int status, i;

	atomic_fetch_add(&sh->forks, 1);
	pid = fork();
	if (pid == 0) {
		struct rng cr = { cseed };
		struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGALRM };

		/* Timers are not inherited. */
		sev._sigev_un._tid = syscall(SYS_gettid);
		if (timer_create(CLOCK_MONOTONIC, &sev, &timer))
			_exit(3);

		/*
		 * Other threads' locks were copied as they were: an entry one of
		 * them held may be half changed (closed, unmapped), so forget it,
		 * then start the locks afresh.
		 */
		for (i = 0; i < MAX_FDS; i++) {
			if (pthread_rwlock_trywrlock(&slots[i].lock) ||
			    (slots[i].fd >= 0 && fcntl(slots[i].fd, F_GETFD) < 0))
				slots[i].fd = -1;
			pthread_rwlock_init(&slots[i].lock, NULL);
		}
		for (i = 0; i < MAX_MAPS; i++) {
			if (pthread_rwlock_trywrlock(&maps[i].lock))
				maps[i].addr = NULL;
			pthread_rwlock_init(&maps[i].lock, NULL);
		}
		pthread_mutex_init(&targets_lock, NULL);
		/*
		 * A netlink socket of its own: on the inherited one, replies the
		 * child leaves unread would wait for the parent's next requests,
		 * whose sequence numbers the child's copy reused, and answer them
		 * (seen: a success for a message to no family).
		 */
		nl = malloc(sizeof(*nl));
		if (!nl || nl_open(nl))
			_exit(3);
		for (i = 0; i < 40 && now_ns() < end_ns; i++)
			one_op(&cr, nl, timer);
		_exit(0);
	}
	check(ALLOW(0, EAGAIN, ENOMEM), pid, errno, "fork");
	if (pid > 0)
		waitpid(pid, &status, 0);
}

static void one_op(struct rng *r, struct nl *nl, timer_t timer)
{
	unsigned what = below(r, 100);
	struct slot *s;

	if (what < 6) {
		op_open(r);
		return;
	}
	if (what < 9) {
		op_close(r);
		return;
	}
	if (what < 19) {
		if (!unpriv)
			fuzz_netlink(r, nl);
		else if (chance(r, 50))
			fuzz_netlink(r, nl);
		return;
	}
	if (what < 20) {
		fuzz_mcast(r);
		return;
	}
	if (what < 22) {
		refresh_targets(nl);
		return;
	}
	if (what < 24) {
		fuzz_munmap(r);
		return;
	}
	if (what < 32) {
		fuzz_touch(r);
		return;
	}
	if (what == 32) {
		if (chance(r, 30))
			op_fork(r, nl, timer);
		else if (chance(r, 10))
			op_huge_ring(r);
		return;
	}
	if (unpriv) {
		op_open(r);
		return;
	}
	s = &slots[below(r, MAX_FDS)];
	if (pthread_rwlock_tryrdlock(&s->lock))
		return;
	if (s->fd >= 0) {
		if (what < 60)
			fuzz_ioctl(r, s);
		else if (what < 72)
			fuzz_mmap(r, s);
		else if (what < 92)
			fuzz_read(r, s, timer);
		else
			fuzz_poll(r, s);
	}
	pthread_rwlock_unlock(&s->lock);
}

struct worker {
	pthread_t t;
	uint64_t seed;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct rng r = { w->seed };
	struct nl *nl = malloc(sizeof(*nl));
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGALRM };
	timer_t timer;

	sev._sigev_un._tid = syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer))
		die("timer_create: %s", strerror(errno));
	if (!nl || nl_open(nl))
		die("netlink socket: %s", strerror(errno));
	refresh_targets(nl);
	while (now_ns() < end_ns && !atomic_load(&sh->failed))
		one_op(&r, nl, timer);
	close(nl->fd);
	free(nl);
	return NULL;
}

static void worker_process(unsigned p)
{
	struct worker w[MAX_THREADS];
	struct sigaction sa = { .sa_handler = alarm_handler };	/* no SA_RESTART: EINTR */
	unsigned t;
	int i;

	sigaction(SIGALRM, &sa, NULL);
	state_init();
	for (t = 0; t < opt_threads; t++) {
		w[t].seed = opt_seed ^ (0x100000001b3ULL * (p * 64 + t + 1));
		if (pthread_create(&w[t].t, NULL, worker_main, &w[t]))
			die("pthread_create failed");
	}
	for (t = 0; t < opt_threads; t++)
		pthread_join(w[t].t, NULL);
	for (i = 0; i < MAX_MAPS; i++)
		if (maps[i].addr)
			munmap(maps[i].addr, maps[i].len);
	for (i = 0; i < MAX_FDS; i++)
		if (slots[i].fd >= 0)
			close(slots[i].fd);
	_exit(0);
}

/* Start and end minivmm VMs until the end: 1-2 at a time, some killed early. */
static void churn_process(void)
{
	struct rng r = { opt_seed ^ 0xc0ffee };
	pid_t vms[2] = { 0, 0 };
	int i, status, devnull = open("/dev/null", O_RDWR);

	while (now_ns() < end_ns && !atomic_load(&sh->failed)) {
		for (i = 0; i < 2; i++) {
			if (vms[i] && waitpid(vms[i], &status, WNOHANG) == vms[i])
				vms[i] = 0;
			if (!vms[i] && chance(&r, 50)) {
				char pages[16];

				snprintf(pages, sizeof(pages), "%u", 1 + (unsigned)below(&r, 256));
				vms[i] = fork();
				if (vms[i] == 0) {
					dup2(devnull, 1);
					dup2(devnull, 2);
					execlp("minivmm", "minivmm", "--mem", "4", "--pages", pages, "--fill",
					       chance(&r, 50) ? "unique" : "zero", "--hold",
					       chance(&r, 50) ? "0" : "1", (char *)NULL);
					_exit(127);
				}
				if (vms[i] > 0)
					atomic_fetch_add(&sh->vms, 1);
				else
					vms[i] = 0;
			} else if (vms[i] && chance(&r, 5)) {
				kill(vms[i], SIGKILL);
			}
		}
		usleep(50000 + below(&r, 200000));
	}
	for (i = 0; i < 2; i++)
		if (vms[i]) {
			kill(vms[i], SIGKILL);
			waitpid(vms[i], &status, 0);
		}
	_exit(0);
}

/* ---- privileges ----------------------------------------------------------- */

static void drop_privileges(void)
{
	gid_t g = 65534;

	if (opt_keep_net_admin && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		die("prctl(PR_SET_KEEPCAPS): %s", strerror(errno));
	if (setgroups(1, &g) || setgid(g) || setuid(opt_uid))
		die("dropping to uid %ld: %s", opt_uid, strerror(errno));
	if (opt_keep_net_admin) {
		struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct d[2] = { 0 };

		d[0].effective = d[0].permitted = 1U << CAP_NET_ADMIN;
		if (syscall(SYS_capset, &h, d))
			die("capset(CAP_NET_ADMIN): %s", strerror(errno));
	}
	unpriv = true;
}

/* ---- main ------------------------------------------------------------------ */

static void usage(void)
{
	printf("usage: kfuzz [--seconds N] [--seed S] [--procs P] [--threads T] [--no-vms]\n"
	       "             [--seed-file PATH] [--as-user UID [--keep-cap net_admin]] [-v]\n"
	       "Fuzzes /dev/%s and the '%s' netlink family; see the top of kfuzz.c.\n"
	       "Seconds default to $FUZZ_SECONDS, else 60. Exit: 0 ok, 1 failure, 2 usage.\n",
	       SELF_E_DEVICE_NAME, SELF_E_GENL_NAME);
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end)
		usage_error("%s: '%s' is not a number", what, s);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "procs", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "no-vms", no_argument, NULL, 'n' },
		{ "seed-file", required_argument, NULL, 'f' },
		{ "as-user", required_argument, NULL, 'u' },
		{ "keep-cap", required_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	pid_t pids[17], churn = 0;
	uint64_t t0;
	bool seed_given = false;
	int c, status, bad = 0;
	unsigned p, i;

	if (getenv("FUZZ_SECONDS"))
		opt_seconds = parse_u64(getenv("FUZZ_SECONDS"), "FUZZ_SECONDS");
	while ((c = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
		switch (c) {
		case 's': opt_seconds = parse_u64(optarg, "--seconds"); break;
		case 'S': opt_seed = parse_u64(optarg, "--seed"); seed_given = true; break;
		case 'p': opt_procs = parse_u64(optarg, "--procs"); break;
		case 't': opt_threads = parse_u64(optarg, "--threads"); break;
		case 'n': opt_vms = false; break;
		case 'f': opt_seed_file = optarg; break;
		case 'u': opt_uid = parse_u64(optarg, "--as-user"); break;
		case 'k':
			if (strcmp(optarg, "net_admin"))
				usage_error("--keep-cap: only net_admin is supported");
			opt_keep_net_admin = true;
			break;
		case 'v': opt_verbose = true; break;
		case 'h': usage(); return 0;
		default: usage_error("bad arguments");
		}
	}
	if (optind != argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!opt_procs || opt_procs > 16 || !opt_threads || opt_threads > MAX_THREADS)
		usage_error("--procs must be 1..16 and --threads 1..%d", MAX_THREADS);
	if (opt_keep_net_admin && opt_uid < 0)
		usage_error("--keep-cap needs --as-user");
	if (!seed_given)
		opt_seed = now_ns() ^ ((uint64_t)getpid() << 32);
	printf("kfuzz: seed %#" PRIx64 " (replay: kfuzz --seed %#" PRIx64 " --seconds %u --procs %u --threads %u%s%s)\n",
	       opt_seed, opt_seed, opt_seconds, opt_procs, opt_threads,
	       opt_uid >= 0 ? " --as-user ..." : "", opt_vms ? "" : " --no-vms");
	fflush(stdout);
	if (opt_seed_file) {
		FILE *f = fopen(opt_seed_file, "w");

		if (!f || fprintf(f, "%#" PRIx64 "\n", opt_seed) < 0 || fclose(f))
			die("%s: %s", opt_seed_file, strerror(errno));
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	{
		struct stat st;

		if (stat(DEV, &st) == 0)
			dev_rdev = st.st_rdev;
	}

	nl_family = resolve_family();
	if (nl_family <= 0)
		die("generic-netlink family '%s' not found (is self_e.ko loaded?)", SELF_E_GENL_NAME);
	if (nl_mcgrp <= 0)
		die("multicast group '%s' not found", SELF_E_GENL_MCGRP);
	if (opt_verbose)
		fprintf(stderr, "kfuzz: family %d, group %d, %zu uapi ioctls\n", nl_family, nl_mcgrp,
			NR_UAPI_IOCTLS);

	t0 = now_ns();
	end_ns = t0 + (uint64_t)opt_seconds * 1000000000ULL;
	if (opt_vms && opt_uid < 0) {
		churn = fork();
		if (churn == 0)
			churn_process();
	}
	for (p = 0; p < opt_procs; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			if (opt_uid >= 0)
				drop_privileges();
			worker_process(p);
		}
		if (pids[p] < 0)
			die("fork: %s", strerror(errno));
	}
	for (p = 0; p < opt_procs; p++) {
		if (waitpid(pids[p], &status, 0) != pids[p] || !WIFEXITED(status) || WEXITSTATUS(status)) {
			if (!atomic_load(&sh->failed))
				fprintf(stderr, "kfuzz: FAIL (seed %#" PRIx64 "): worker %u ended with status %#x%s\n",
					opt_seed, p, status,
					WIFSIGNALED(status) ? " (killed by a signal)" : "");
			bad = 1;
		}
	}
	if (churn > 0)
		waitpid(churn, &status, 0);
	if (bad || atomic_load(&sh->failed))
		return 1;
	if (sh->fd_left)
		printf("kfuzz: %llu ioctls found their fd no longer /dev/self-e (a race on fd numbers in kfuzz, not counted)\n",
		       (unsigned long long)sh->fd_left);

	{
		double s = (now_ns() - t0) / 1e9;
		char errs[1024];
		size_t n = 0;

		errs[0] = 0;
		for (i = 1; i < 160; i++)
			if (sh->err[i] && n < sizeof(errs) - 40)
				n += snprintf(errs + n, sizeof(errs) - n, " %s=%llu",
					      strerrorname_np(i) ?: "E?", (unsigned long long)sh->err[i]);
		printf("kfuzz: ok: %.1f s, %llu calls (%.0f/s): %llu ioctls, %llu mmaps, %llu reads, "
		       "%llu netlink messages (%llu data replies), %llu forks, %llu VMs started, %llu ring scans; "
		       "success=%llu%s\n",
		       s, (unsigned long long)sh->calls, sh->calls / s, (unsigned long long)sh->ioctls,
		       (unsigned long long)sh->mmaps, (unsigned long long)sh->reads,
		       (unsigned long long)sh->nl_msgs, (unsigned long long)sh->nl_replies,
		       (unsigned long long)sh->forks, (unsigned long long)sh->vms,
		       (unsigned long long)sh->scans, (unsigned long long)sh->err[0], errs);
	}
	return 0;
}
