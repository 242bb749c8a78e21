// SPDX-License-Identifier: GPL-2.0
/*
 * insnmark ID: execute marker ID (0..15) for bench/tcg/insn_marks.c, the QEMU
 * plugin that then prints how many instructions the machine has executed so
 * far. Without the plugin the marker is a no-op.
 */
#include <stdio.h>
#include <stdlib.h>

/* nopl 0x5e1fe0NN(%rax): 0f 1f 80 NN e0 1f 5e */
#define MARK(n) case n: asm volatile("nopl %c0(%%rax)" :: "i"(0x5e1fe000 + (n)) : "memory"); break

int main(int argc, char **argv)
{
	char *end;
	long id = argc == 2 ? strtol(argv[1], &end, 0) : -1;

	if (argc != 2 || *end || id < 0 || id > 15) {
		fprintf(stderr, "usage: insnmark ID (0..15)\n");
		return 2;
	}
	switch (id) {
	MARK(0); MARK(1); MARK(2); MARK(3); MARK(4); MARK(5); MARK(6); MARK(7);
	MARK(8); MARK(9); MARK(10); MARK(11); MARK(12); MARK(13); MARK(14); MARK(15);
	}
	return 0;
}
