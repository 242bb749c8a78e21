// SPDX-License-Identifier: GPL-2.0
/*
 * Event source: host pages of guest RAM going away, as one SELF_E_EV_UNMAP
 * per run of gfns.
 *
 * Every way the core mm drops the pages of a range of an mm funnels into
 * unmap_page_range(): munmap, MADV_DONTNEED/MADV_REMOVE (what balloons and
 * virtio-mem do to guest RAM), truncation of shared memory behind it, the
 * OOM reaper, and exit_mmap() when the VMM exits (before KVM lets go of the
 * VM). A kprobe at its entry sees the vma and the range; the VM and its gfns
 * follow from the vma's mm and the memslot mirror (self_e_emit_hva_range()).
 * hugetlbfs ranges take another path (__unmap_hugepage_range) and are not
 * reported.
 *
 * unmap_page_range() runs for every unmap on the host: the probe is enabled
 * only while somebody reads (sources.c), and then costs an mm hash lookup
 * when no VM of that mm is read.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kprobes.h>
#include <linux/mm_types.h>

#include "self_e.h"

static int unmap_page_range_pre(struct kprobe *p, struct pt_regs *regs)
{
	/* unmap_page_range(tlb, vma, addr, end, details) */
	const struct vm_area_struct *vma = (void *)regs_get_kernel_argument(regs, 1);
	unsigned long start = regs_get_kernel_argument(regs, 2);
	unsigned long end = regs_get_kernel_argument(regs, 3);
	const struct self_e_event tmpl = {
		.type = SELF_E_EV_UNMAP,
		.vcpu = SELF_E_VCPU_NONE,
	};

	if (start < end && self_e_mm_wanted(vma->vm_mm))
		self_e_emit_hva_range(vma->vm_mm, start, end, &tmpl);
	return 0;
}

static struct kprobe unmap_probe = {
	.symbol_name = "unmap_page_range",
	.pre_handler = unmap_page_range_pre,
	.flags = KPROBE_FLAG_DISABLED,
};

int self_e_unmap_init(void)
{
	int ret = register_kprobe(&unmap_probe);

	if (ret)
		pr_err("cannot hook unmap_page_range: %d\n", ret);
	return ret;
}

int self_e_unmap_arm(void)
{
	return enable_kprobe(&unmap_probe);
}

void self_e_unmap_disarm(void)
{
	disable_kprobe(&unmap_probe);
}

void self_e_unmap_exit(void)
{
	unregister_kprobe(&unmap_probe);
}
