// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * insn_marks: a QEMU TCG plugin that counts the instructions the emulated
 * machine executes (guest kernel, nested guests, user space), in all and per
 * vCPU, and prints the running counts whenever the guest executes a marker,
 * so that a benchmark inside the rig can measure work in instructions instead
 * of the wall time a busy host blurs.
 *
 * A marker is the otherwise unused no-op `nopl 0x5e1fe0NN(%rax)` (bytes
 * 0f 1f 80 NN e0 1f 5e); tests/vm/insnmark.c executes it. Each execution
 * prints, through QEMU's log (-d plugin), one line:
 *   insn-mark NN TOTAL VCPU0 VCPU1 ...
 * The count is added per translation block as the block starts, so a count
 * may include the few instructions that follow the marker in its block.
 * Per-vCPU counts tell the work of a pinned task's CPU (the faulting guest's)
 * from the work of others (a reader on another CPU).
 * Needs -accel tcg,thread=single (plain counters, no atomics).
 *
 *   qemu-system-x86_64 -d plugin -plugin insn_marks.so ...
 *
 * With the argument profile=on it also says where the instructions went:
 * between markers 2k and 2k+1 (setup k, as bench/kmod_bench.sh numbers its
 * setups) every guest-kernel block's executions are counted, and at exit
 * one line per block and setup is printed:
 *   insn-prof K VADDR INSTRUCTIONS
 * with the instructions of all other code (user space, nested guests) under
 * VADDR 0. bench/tcg/insn_profile.sh names the blocks' functions from the
 * guest's /proc/kallsyms.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MARK_OPCODE	"\x0f\x1f\x80"
#define MARK_LEN	7
#define MARK_HIGH	0x5e1fe000u	/* displacement & ~0xff */
#define MAX_VCPUS	16
#define MAX_SETUPS	8
#define KERNEL_START	0xffff800000000000ull

static uint64_t total, per_vcpu[MAX_VCPUS];
static unsigned int nr_vcpus;

/* Profiling: one record per translated block, its size and counts. */
struct block {
	uint64_t vaddr;
	uint64_t insns;
	uint64_t count[MAX_SETUPS];	/* instructions executed per setup */
	struct block *next;
};

static bool profiling;
static int setup = -1;		/* between markers 2k and 2k+1: k */
static struct block *blocks;

static void on_mark(unsigned int vcpu __attribute__((unused)), void *udata)
{
	unsigned int i, id = (unsigned int)(uintptr_t)udata;
	char line[64 + 21 * MAX_VCPUS];
	int len;

	len = snprintf(line, sizeof(line), "insn-mark %u %" PRIu64, id, total);
	for (i = 0; i < nr_vcpus; i++)
		len += snprintf(line + len, sizeof(line) - len, " %" PRIu64, per_vcpu[i]);
	snprintf(line + len, sizeof(line) - len, "\n");
	qemu_plugin_outs(line);
	setup = (id % 2 == 0 && id / 2 < MAX_SETUPS) ? (int)(id / 2) : -1;
}

static inline void count(unsigned int vcpu, uint64_t n)
{
	total += n;
	if (vcpu < MAX_VCPUS)
		per_vcpu[vcpu] += n;
}

static void on_block(unsigned int vcpu, void *udata)
{
	count(vcpu, (uintptr_t)udata);
}

static void on_block_profiled(unsigned int vcpu, void *udata)
{
	struct block *b = udata;

	count(vcpu, b->insns);
	if (setup >= 0)
		b->count[setup] += b->insns;
}

static void print_counts(uint64_t vaddr, const uint64_t *count)
{
	char line[96];
	int k;

	for (k = 0; k < MAX_SETUPS; k++) {
		if (!count[k])
			continue;
		snprintf(line, sizeof(line), "insn-prof %d %016" PRIx64 " %" PRIu64 "\n",
			 k, vaddr, count[k]);
		qemu_plugin_outs(line);
	}
}

static void on_exit_print(qemu_plugin_id_t id __attribute__((unused)), void *p __attribute__((unused)))
{
	uint64_t other[MAX_SETUPS] = { 0 };
	struct block *b;
	int k;

	for (b = blocks; b; b = b->next) {
		if (b->vaddr >= KERNEL_START) {
			print_counts(b->vaddr, b->count);
			continue;
		}
		for (k = 0; k < MAX_SETUPS; k++)
			other[k] += b->count[k];
	}
	print_counts(0, other);
}

/* A record per block, never freed: QEMU does not say when a block goes. */
static void profile_block(struct qemu_plugin_tb *tb, size_t n)
{
	struct block *b = calloc(1, sizeof(*b));

	if (!b) {
		fprintf(stderr, "insn_marks: out of memory\n");
		abort();
	}
	b->vaddr = qemu_plugin_tb_vaddr(tb);
	b->insns = n;
	b->next = blocks;
	blocks = b;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block_profiled, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void on_translate(qemu_plugin_id_t id __attribute__((unused)), struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	if (profiling)
		profile_block(tb, n);
	else
		qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS,
						     (void *)(uintptr_t)n);

	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const unsigned char *d = qemu_plugin_insn_data(insn);
		uint32_t disp;

		if (qemu_plugin_insn_size(insn) != MARK_LEN || memcmp(d, MARK_OPCODE, 3))
			continue;
		memcpy(&disp, d + 3, sizeof(disp));	/* x86: little endian */
		if ((disp & ~0xffu) != MARK_HIGH)
			continue;
		qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS,
						       (void *)(uintptr_t)(disp & 0xff));
	}
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	profiling = argc == 1 && !strcmp(argv[0], "profile=on");
	if (!info->system_emulation || argc > profiling) {
		fprintf(stderr, "insn_marks: system emulation only; the one argument: profile=on\n");
		return -1;
	}
	nr_vcpus = info->system.max_vcpus < MAX_VCPUS ? (unsigned int)info->system.max_vcpus : MAX_VCPUS;
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	if (profiling)
		qemu_plugin_register_atexit_cb(id, on_exit_print, NULL);
	return 0;
}
