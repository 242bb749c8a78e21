// SPDX-License-Identifier: GPL-2.0
/*
 * SELF-e: live introspection of KVM guest memory (page accesses, KSM sharing).
 *
 * Module entry point: brings the parts up in dependency order and down in
 * reverse. See self_e.h for the map of files.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/init.h>

#include "self_e.h"

static int __init self_e_init(void)
{
	int ret;

	/* The ABI fixes these sizes; user space asserts them too. */
	BUILD_BUG_ON(sizeof(struct self_e_event) != 32);
	BUILD_BUG_ON(sizeof(struct self_e_lane_prod) != SMP_CACHE_BYTES);
	BUILD_BUG_ON(SELF_E_EV_MAX > 64);
	BUILD_BUG_ON(ARRAY_SIZE(self_e_event_names) != SELF_E_EV_MAX);

	ret = self_e_ksyms_init();
	if (ret)
		return ret;
	ret = self_e_netlink_init();
	if (ret)
		return ret;
	ret = self_e_notify_init();
	if (ret)
		goto err_notify;
	ret = self_e_vm_init();
	if (ret)
		goto err_vm;
	ret = self_e_fault_init();
	if (ret)
		goto err_fault;
	ret = self_e_ksm_init();
	if (ret)
		goto err_ksm;
	ret = self_e_unmap_init();
	if (ret)
		goto err_unmap;
	ret = self_e_access_init();
	if (ret)
		goto err_access;
	ret = self_e_dev_init();
	if (ret)
		goto err_dev;
	pr_info("loaded (ABI %u)\n", SELF_E_ABI_VERSION);
	return 0;

err_dev:
	self_e_access_exit();
err_access:
	self_e_unmap_exit();
err_unmap:
	self_e_ksm_exit();
err_ksm:
	self_e_fault_exit();
err_fault:
	self_e_vm_exit();
err_vm:
	self_e_notify_exit();
err_notify:
	self_e_netlink_exit();
	return ret;
}

static void __exit self_e_exit(void)
{
	self_e_dev_exit();
	self_e_access_exit();
	self_e_unmap_exit();
	self_e_ksm_exit();
	self_e_fault_exit();
	self_e_vm_exit();
	self_e_notify_exit();
	self_e_netlink_exit();
	pr_info("unloaded\n");
}

module_init(self_e_init);
module_exit(self_e_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("SELF-e: live introspection of KVM guest memory");
