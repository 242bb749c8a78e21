// SPDX-License-Identifier: GPL-2.0
/*
 * Unexported symbols. kallsyms_lookup_name() itself is not exported since
 * 5.7; a kprobe on it resolves its address, after which it answers for the
 * symbols SELF-e needs (KVM's vm_list and kvm_lock, its MMU tracepoints).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>

#include "self_e.h"

static unsigned long (*lookup_name)(const char *name);

int self_e_ksyms_init(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	int ret;

	ret = register_kprobe(&kp);
	if (ret) {
		pr_err("cannot find kallsyms_lookup_name (kprobe: %d)\n", ret);
		return ret;
	}
	lookup_name = (unsigned long (*)(const char *))kp.addr;
	unregister_kprobe(&kp);
	return 0;
}

/* Address of @name, or 0. */
unsigned long self_e_lookup_symbol(const char *name)
{
	return lookup_name ? lookup_name(name) : 0;
}
