// SPDX-License-Identifier: GPL-2.0
/*
 * SELF-e: live introspection of KVM guest memory (page accesses, KSM sharing).
 *
 * Module entry point. This is the skeleton the rest of the module grows from.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/init.h>

#include "uapi/self_e.h"
#include "self_e_ring.h"

static int __init self_e_init(void)
{
	/* The ABI fixes these sizes; user space asserts them too. */
	BUILD_BUG_ON(sizeof(struct self_e_event) != 32);
	BUILD_BUG_ON(sizeof(struct self_e_lane_prod) != SMP_CACHE_BYTES);
	BUILD_BUG_ON(SELF_E_EV_MAX > 64);

	pr_info("loaded (ABI %u)\n", SELF_E_ABI_VERSION);
	return 0;
}

static void __exit self_e_exit(void)
{
	pr_info("unloaded\n");
}

module_init(self_e_init);
module_exit(self_e_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("SELF-e: live introspection of KVM guest memory");
