// SPDX-License-Identifier: GPL-2.0
/*
 * Event source: KSM. Which guest pages KSM merges (into a KSM page or with
 * the zero page) and when a write or an unmerge gives a page a private copy
 * again. KSM and the fault path know pages by (mm, hva); self_e_emit_hva()
 * turns that into the VM(s) and gfn(s) behind it, so events fired in ksmd, a
 * kworker or QEMU land in the right VM: the mm comes from KSM's own data or
 * the faulting vma, never from current.
 *
 * Merges, with the mechanism chosen at load time:
 *  - kernels with KSM tracepoints (6.4+): ksm_merge_with_ksm_page at the end
 *    of try_to_merge_with_ksm_page() (err 0: merged; no ksm_page: this page
 *    became the KSM page) and ksm_merge_one_page, which fires only for merges
 *    with the zero page (use_zero_pages);
 *  - older kernels (6.1): kretprobes on those very functions,
 *    try_to_merge_with_ksm_page() and try_to_merge_one_page() with the zero
 *    page as the page to merge with.
 * COW breaks and unmerges, on every kernel: a kretprobe on do_wp_page(), the
 * write-protect fault every copy of a KSM page goes through (a vCPU's GUP, an
 * async-#PF kworker, QEMU's own write, KSM's break_ksm()). The old page is
 * read from the fault at entry; at return the PTE shows whether this fault
 * installed a private copy.
 * KSM pages migrated (compaction, NUMA balancing, memory offlining): a kprobe
 * on folio_migrate_ksm(), which moves the stable node to the new page with
 * both pages locked; every (mm, hva) on the node's list gets the new pfn.
 * KSM pages freed: a kprobe on remove_node_from_stable_tree(), on every
 * kernel (see below).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/kprobes.h>
#include <linux/ksm.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/tracepoint.h>

#include "self_e.h"

/*
 * The head of mm/ksm.c's private struct ksm_rmap_item, identical in 6.1 and
 * 6.12: the owner mm and the page's address (low bits: KSM's flags).
 */
struct self_e_ksm_rmap_item_head {
	void *rmap_list;
	void *anon_vma_or_nid;
	struct mm_struct *mm;
	unsigned long address;
};

/*
 * The rest of struct ksm_rmap_item when it is listed from the stable tree,
 * and the head of struct ksm_stable_node: the same in 6.1 and 6.12 (6.12's
 * age and remaining_skips fill 6.1's padding after oldchecksum).
 */
struct self_e_ksm_rmap_item {
	struct self_e_ksm_rmap_item_head h;
	unsigned int oldchecksum;
	u8 age, remaining_skips;
	void *head;			/* the stable node */
	struct hlist_node hlist;	/* on the stable node's hlist */
};

struct self_e_ksm_stable_node {
	union {
		struct rb_node node;
		struct {
			void *head;
			struct hlist_node hlist_dup;
			struct list_head list;
		};
	};
	struct hlist_head hlist;	/* its rmap_items: who maps the KSM page */
	unsigned long kpfn;
};

static_assert(offsetof(struct self_e_ksm_rmap_item, hlist) == 48);
static_assert(offsetof(struct self_e_ksm_stable_node, hlist) == 40);
static_assert(offsetof(struct self_e_ksm_stable_node, kpfn) == 48);

/* A merge of (mm, hva) into KSM page (or zero page) kpfn, from ksmd. */
static void emit_merge(const struct mm_struct *mm, unsigned long hva, u8 type, u8 flags,
		       unsigned long kpfn)
{
	const struct self_e_event tmpl = {
		.type = type,
		.flags = flags,
		.vcpu = SELF_E_VCPU_NONE,
		.arg = kpfn,
	};

	self_e_emit_hva(mm, hva, &tmpl, NULL);
}

static void emit_rmap_item_merge(const void *rmap_item, u8 type, u8 flags, unsigned long kpfn)
{
	const struct self_e_ksm_rmap_item_head *item = rmap_item;

	emit_merge(item->mm, item->address, type, flags, kpfn);
}

/* ---- merges on kernels with KSM tracepoints ----------------------------- */

static struct tracepoint *tp_merge_with_ksm_page, *tp_merge_one_page;

static void probe_merge_with_ksm_page(void *data, void *ksm_page, unsigned long pfn,
				      void *rmap_item, void *mm, int err)
{
	if (!err)
		emit_rmap_item_merge(rmap_item, SELF_E_EV_KSM_MERGE,
				     ksm_page ? 0 : SELF_E_F_KSM_NEW, pfn);
}

static void probe_merge_one_page(void *data, unsigned long pfn, void *rmap_item,
				 void *mm, int err)
{
	if (!err)
		emit_rmap_item_merge(rmap_item, SELF_E_EV_KSM_ZERO, 0, pfn);
}

static int merge_tracepoints_register(void)
{
	int ret;

	ret = tracepoint_probe_register(tp_merge_with_ksm_page, probe_merge_with_ksm_page, NULL);
	if (ret)
		return ret;
	ret = tracepoint_probe_register(tp_merge_one_page, probe_merge_one_page, NULL);
	if (ret)
		tracepoint_probe_unregister(tp_merge_with_ksm_page, probe_merge_with_ksm_page, NULL);
	return ret;
}

static void merge_tracepoints_unregister(void)
{
	tracepoint_probe_unregister(tp_merge_one_page, probe_merge_one_page, NULL);
	tracepoint_probe_unregister(tp_merge_with_ksm_page, probe_merge_with_ksm_page, NULL);
}

/* ---- merges on kernels without them: kretprobes ------------------------- */

struct merge_call {
	const struct mm_struct *mm;
	unsigned long hva;
	unsigned long kpfn;
	u8 flags;
};

static void merge_call_emit(const struct merge_call *c, u8 type)
{
	emit_merge(c->mm, c->hva, type, c->flags, c->kpfn);
}

/* try_to_merge_with_ksm_page(rmap_item, page, kpage): kpage NULL makes page the KSM page. */
static int merge_with_ksm_page_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	const struct self_e_ksm_rmap_item_head *item = (void *)regs_get_kernel_argument(regs, 0);
	struct page *page = (struct page *)regs_get_kernel_argument(regs, 1);
	struct page *kpage = (struct page *)regs_get_kernel_argument(regs, 2);
	struct merge_call *c = (void *)ri->data;

	if (!self_e_mm_wanted(item->mm))
		return 1;	/* no return hook */
	c->mm = item->mm;
	c->hva = item->address;
	c->kpfn = page_to_pfn(kpage ?: page);
	c->flags = kpage ? 0 : SELF_E_F_KSM_NEW;
	return 0;
}

static int merge_with_ksm_page_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	if (regs_return_value(regs) == 0)
		merge_call_emit((void *)ri->data, SELF_E_EV_KSM_MERGE);
	return 0;
}

/* try_to_merge_one_page(vma, page, kpage): a zero-page merge when kpage is the zero page. */
static int merge_one_page_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vm_area_struct *vma = (void *)regs_get_kernel_argument(regs, 0);
	struct page *page = (struct page *)regs_get_kernel_argument(regs, 1);
	struct page *kpage = (struct page *)regs_get_kernel_argument(regs, 2);
	struct merge_call *c = (void *)ri->data;

	if (!kpage || !is_zero_pfn(page_to_pfn(kpage)) || !self_e_mm_wanted(vma->vm_mm))
		return 1;
	c->mm = vma->vm_mm;
	/* An anonymous page's index is its linear index in the vma. */
	c->hva = vma->vm_start + ((page->index - vma->vm_pgoff) << PAGE_SHIFT);
	c->kpfn = page_to_pfn(kpage);
	c->flags = 0;
	return 0;
}

static int merge_one_page_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	if (regs_return_value(regs) == 0)
		merge_call_emit((void *)ri->data, SELF_E_EV_KSM_ZERO);
	return 0;
}

/* Only ksmd calls these, one at a time. */
static struct kretprobe merge_with_ksm_page_probe = {
	.kp.symbol_name = "try_to_merge_with_ksm_page",
	.kp.flags = KPROBE_FLAG_DISABLED,
	.entry_handler = merge_with_ksm_page_entry,
	.handler = merge_with_ksm_page_ret,
	.data_size = sizeof(struct merge_call),
	.maxactive = 4,
};

static struct kretprobe merge_one_page_probe = {
	.kp.symbol_name = "try_to_merge_one_page",
	.kp.flags = KPROBE_FLAG_DISABLED,
	.entry_handler = merge_one_page_entry,
	.handler = merge_one_page_ret,
	.data_size = sizeof(struct merge_call),
	.maxactive = 4,
};

static struct kretprobe *merge_kretprobes[] = {
	&merge_with_ksm_page_probe,
	&merge_one_page_probe,
};

static struct kprobe *const merge_kprobes[] = {
	&merge_with_ksm_page_probe.kp,
	&merge_one_page_probe.kp,
};

/* ---- COW breaks and unmerges ------------------------------------------- */

/* 6.1 has no mark on zero PTEs that KSM merged: read its use_zero_pages knob. */
static const bool *ksm_use_zero_pages;

static bool ksm_zero_pte(pte_t pte)
{
#ifdef is_ksm_zero_pte
	return is_ksm_zero_pte(pte);
#else
	return is_zero_pfn(pte_pfn(pte)) && ksm_use_zero_pages && READ_ONCE(*ksm_use_zero_pages);
#endif
}

/*
 * break_ksm() faults with FAULT_FLAG_REMOTE and without FAULT_FLAG_ALLOW_RETRY
 * (WRITE on 6.1, UNSHARE later); GUP from a vCPU, an async-#PF worker or
 * QEMU allows retries. In ksmd it undoes a merge that failed half way (a COW
 * break); anywhere else it serves MADV_UNMERGEABLE, KSM run=2 or a
 * prctl: an unmerge. Remote accesses without retry (ptrace, /proc/PID/mem)
 * that write to a KSM page are counted as unmerges too.
 */
static u8 break_type(const struct vm_fault *vmf)
{
	bool break_ksm = (vmf->flags & FAULT_FLAG_REMOTE) && !(vmf->flags & FAULT_FLAG_ALLOW_RETRY);
	bool in_ksmd = (current->flags & PF_KTHREAD) && !strcmp(current->comm, "ksmd");

	return break_ksm && !in_ksmd ? SELF_E_EV_UNMERGE : SELF_E_EV_COW_BREAK;
}

struct cow_call {
	struct vm_fault *vmf;
	const struct mm_struct *mm;
	const struct kvm *vcpu_kvm;
	unsigned long hva;
	unsigned long old_pfn;
	u16 vcpu;
	u8 type;
};

static int wp_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vm_fault *vmf = (void *)regs_get_kernel_argument(regs, 0);
	struct cow_call *c = (void *)ri->data;
	pte_t pte = vmf->orig_pte;
	unsigned long pfn = pte_pfn(pte);
	struct kvm_vcpu *vcpu;

	/* Cheapest first: almost every write-protect fault is not on a KSM page. */
	if (!pte_present(pte))
		return 1;
	if (is_zero_pfn(pfn)) {
		if (!ksm_zero_pte(pte))
			return 1;
	} else if (!pfn_valid(pfn) || !PageKsm(pfn_to_page(pfn))) {
		return 1;
	}
	if (!self_e_mm_wanted(vmf->vma->vm_mm))
		return 1;

	vcpu = kvm_get_running_vcpu();
	c->vmf = vmf;
	c->mm = vmf->vma->vm_mm;
	c->hva = vmf->address;
	c->old_pfn = pfn;
	c->vcpu_kvm = vcpu ? vcpu->kvm : NULL;
	c->vcpu = vcpu ? vcpu->vcpu_id : SELF_E_VCPU_NONE;
	c->type = break_type(vmf);
	return 0;
}

/* The private pfn of the last break: two racing faults on one page both see it. */
static atomic_long_t last_break_pfn = ATOMIC_LONG_INIT(-1);

static int wp_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	const struct cow_call *c = (void *)ri->data;
	struct self_e_event tmpl = {
		.type = c->type,
		.vcpu = c->vcpu,
		.arg = c->old_pfn,
	};
	pte_t *ptep, pte;

	/*
	 * The caller still holds the mmap or vma lock, so the page table the
	 * fault used is still there: a present PTE with another pfn means a
	 * private copy replaced the KSM page. The loser of a race between two
	 * faults on the page sees the winner's copy: report that copy once.
	 */
	ptep = READ_ONCE(c->vmf->pte);
	if (!ptep)
		return 0;
	pte = ptep_get(ptep);
	if (!pte_present(pte) || pte_pfn(pte) == c->old_pfn ||
	    atomic_long_xchg(&last_break_pfn, pte_pfn(pte)) == pte_pfn(pte))
		return 0;
	self_e_emit_hva(c->mm, c->hva, &tmpl, c->vcpu_kvm);
	return 0;
}

/* Any task may take a write-protect fault; most return at once (entry returns 1). */
static struct kretprobe wp_probe = {
	.kp.symbol_name = "do_wp_page",
	.kp.flags = KPROBE_FLAG_DISABLED,
	.entry_handler = wp_entry,
	.handler = wp_ret,
	.data_size = sizeof(struct cow_call),
	.maxactive = 64,
};

/* ---- init/exit --------------------------------------------------------- */

static bool have_ksm_tracepoints;

/* ---- KSM pages migrated ------------------------------------------------ */

/* @tmpl for each (mm, address) on stable node @node's list; its list must hold still. */
static void emit_node_mappers(const struct self_e_ksm_stable_node *node,
			      const struct self_e_event *tmpl)
{
	const struct self_e_ksm_rmap_item *item;

	hlist_for_each_entry(item, &node->hlist, hlist)
		if (self_e_mm_wanted(item->h.mm))
			self_e_emit_hva(item->h.mm, item->h.address, tmpl, NULL);
}

/* folio_migrate_ksm(newfolio, folio): both locked, so the node's list holds still. */
static int migrate_ksm_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct folio *newfolio = (void *)regs_get_kernel_argument(regs, 0);
	const struct folio *folio = (void *)regs_get_kernel_argument(regs, 1);
	unsigned long mapping = (unsigned long)READ_ONCE(folio->mapping);
	const struct self_e_ksm_stable_node *node;
	const struct self_e_event tmpl = {
		.type = SELF_E_EV_KSM_MIGRATE,
		.vcpu = SELF_E_VCPU_NONE,
		.arg = folio_pfn(newfolio),
	};

	if ((mapping & PAGE_MAPPING_FLAGS) != PAGE_MAPPING_KSM)
		return 0;
	node = (const void *)(mapping & ~PAGE_MAPPING_FLAGS);
	if (!node)
		return 0;
	emit_node_mappers(node, &tmpl);
	return 0;
}

static struct kprobe migrate_probe = {
	.symbol_name = "folio_migrate_ksm",
	.pre_handler = migrate_ksm_pre,
	.flags = KPROBE_FLAG_DISABLED,
};

/* ---- KSM pages freed ---------------------------------------------------- */

/*
 * A KSM page is freed when its last mapping goes (COW breaks, unmerges,
 * unmaps); KSM notices later, when it next looks at the page's stable node
 * and finds it stale (get_ksm_page()/ksm_get_folio()), or when KSM run=2,
 * a merge_across_nodes/max_page_sharing switch or memory hot-remove drops
 * the node of an unmapped page. Both end in remove_node_from_stable_tree(),
 * which takes every rmap_item still on the node off KSM's counts
 * (ksm_merging_pages): the (mm, address) pairs that mapped the page and
 * whose leave KSM has not processed yet. Each gets one SELF_E_EV_KSM_FREE
 * per gfn, with the node's kpfn. A node whose list is empty names no VM and
 * gives no event.
 *
 * Its callers hold ksm_thread_mutex, under which KSM alone changes the list
 * (stable_tree_append(), remove_rmap_item_from_tree()), so it holds still at
 * entry: the function walks it next. The function is only called for plain
 * nodes and the dups of a chain (max_page_sharing), never for a chain head
 * (it BUG()s on one), so hlist is a list of rmap_items here. 6.12's
 * ksm_remove_rmap_item tracepoint inside it skips the last rmap_item, and
 * ksm_remove_ksm_page names no node: neither would do. Not the page-free
 * tracepoint either: there the node may be freed under us by ksmd.
 */
static int remove_node_pre(struct kprobe *p, struct pt_regs *regs)
{
	const struct self_e_ksm_stable_node *node = (void *)regs_get_kernel_argument(regs, 0);
	const struct self_e_event tmpl = {
		.type = SELF_E_EV_KSM_FREE,
		.vcpu = SELF_E_VCPU_NONE,
		.arg = node->kpfn,
	};

	emit_node_mappers(node, &tmpl);
	return 0;
}

static struct kprobe remove_node_probe = {
	.symbol_name = "remove_node_from_stable_tree",
	.pre_handler = remove_node_pre,
	.flags = KPROBE_FLAG_DISABLED,
};

/*
 * Every kprobe here is registered disabled (KPROBE_FLAG_DISABLED) and armed
 * only while somebody reads (sources.c).
 */
static struct kprobe *const ksm_kprobes[] = {
	&wp_probe.kp,
	&migrate_probe,
	&remove_node_probe,
};

int self_e_ksm_init(void)
{
	int ret;

	ksm_use_zero_pages = (const bool *)self_e_lookup_symbol("ksm_use_zero_pages");
	tp_merge_with_ksm_page = (void *)self_e_lookup_symbol("__tracepoint_ksm_merge_with_ksm_page");
	tp_merge_one_page = (void *)self_e_lookup_symbol("__tracepoint_ksm_merge_one_page");
	have_ksm_tracepoints = tp_merge_with_ksm_page && tp_merge_one_page;

	if (!have_ksm_tracepoints) {
		ret = register_kretprobes(merge_kretprobes, ARRAY_SIZE(merge_kretprobes));
		if (ret) {
			pr_err("cannot hook KSM merges (kretprobes): %d\n", ret);
			return ret;
		}
	}
	ret = register_kretprobe(&wp_probe);
	if (ret) {
		pr_err("cannot hook do_wp_page for COW breaks: %d\n", ret);
		goto err_merge;
	}
	ret = register_kprobe(&migrate_probe);
	if (ret) {
		pr_err("cannot hook folio_migrate_ksm for KSM page moves: %d\n", ret);
		goto err_wp;
	}
	ret = register_kprobe(&remove_node_probe);
	if (ret) {
		pr_err("cannot hook remove_node_from_stable_tree for KSM pages freed: %d\n", ret);
		goto err_migrate;
	}
	return 0;

err_migrate:
	unregister_kprobe(&migrate_probe);
err_wp:
	unregister_kretprobe(&wp_probe);
err_merge:
	if (!have_ksm_tracepoints)
		unregister_kretprobes(merge_kretprobes, ARRAY_SIZE(merge_kretprobes));
	return ret;
}

/* Enable @n kprobes, or none: on failure the ones enabled are disabled again. */
static int enable_kprobes(struct kprobe *const *kps, int n)
{
	int i, ret;

	for (i = 0; i < n; i++) {
		ret = enable_kprobe(kps[i]);
		if (ret) {
			while (i--)
				disable_kprobe(kps[i]);
			return ret;
		}
	}
	return 0;
}

static void disable_kprobes(struct kprobe *const *kps, int n)
{
	while (n--)
		disable_kprobe(kps[n]);
}

static int merges_arm(void)
{
	if (have_ksm_tracepoints)
		return merge_tracepoints_register();
	return enable_kprobes(merge_kprobes, ARRAY_SIZE(merge_kprobes));
}

static void merges_disarm(void)
{
	if (have_ksm_tracepoints)
		merge_tracepoints_unregister();
	else
		disable_kprobes(merge_kprobes, ARRAY_SIZE(merge_kprobes));
}

int self_e_ksm_arm(void)
{
	int ret;

	ret = merges_arm();
	if (ret)
		return ret;
	ret = enable_kprobes(ksm_kprobes, ARRAY_SIZE(ksm_kprobes));
	if (ret)
		merges_disarm();
	return ret;
}

void self_e_ksm_disarm(void)
{
	disable_kprobes(ksm_kprobes, ARRAY_SIZE(ksm_kprobes));
	merges_disarm();
}

void self_e_ksm_exit(void)
{
	unregister_kprobe(&remove_node_probe);
	unregister_kprobe(&migrate_probe);
	unregister_kretprobe(&wp_probe);
	if (have_ksm_tracepoints)
		tracepoint_synchronize_unregister();	/* the last disarming's probes */
	else
		unregister_kretprobes(merge_kretprobes, ARRAY_SIZE(merge_kretprobes));
}
