// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * insn_marks: a QEMU TCG plugin that counts the instructions the emulated
 * machine executes (all vCPUs: guest kernel, nested guests, user space) and
 * prints the running total whenever the guest executes a marker, so that a
 * benchmark inside the rig can measure work in instructions instead of the
 * wall time a busy host blurs.
 *
 * A marker is the otherwise unused no-op `nopl 0x5e1fe0NN(%rax)` (bytes
 * 0f 1f 80 NN e0 1f 5e); tests/vm/insnmark.c executes it. Each execution
 * prints, through QEMU's log (-d plugin), one line:
 *   insn-mark NN TOTAL
 * The count is added per translation block as the block starts, so a total
 * may include the few instructions that follow the marker in its block.
 * Needs -accel tcg,thread=single (one counter, no atomics).
 *
 *   qemu-system-x86_64 -d plugin -plugin insn_marks.so ...
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MARK_OPCODE	"\x0f\x1f\x80"
#define MARK_LEN	7
#define MARK_HIGH	0x5e1fe000u	/* displacement & ~0xff */

static uint64_t total;

static void on_mark(unsigned int vcpu __attribute__((unused)), void *udata)
{
	char line[64];

	snprintf(line, sizeof(line), "insn-mark %u %" PRIu64 "\n",
		 (unsigned int)(uintptr_t)udata, total);
	qemu_plugin_outs(line);
}

static void on_translate(qemu_plugin_id_t id __attribute__((unused)), struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &total, n);
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const unsigned char *b = qemu_plugin_insn_data(insn);
		uint32_t disp;

		if (qemu_plugin_insn_size(insn) != MARK_LEN || memcmp(b, MARK_OPCODE, 3))
			continue;
		memcpy(&disp, b + 3, sizeof(disp));	/* x86: little endian */
		if ((disp & ~0xffu) != MARK_HIGH)
			continue;
		qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS,
						       (void *)(uintptr_t)(disp & 0xff));
	}
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv __attribute__((unused)))
{
	if (!info->system_emulation || argc) {
		fprintf(stderr, "insn_marks: system emulation only, no arguments\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	return 0;
}
