// SPDX-License-Identifier: GPL-2.0
/*
 * Event source: which guest pages a VM accessed, sampled every interval
 * through KVM's own aging of its page tables.
 *
 * A fault shows a page's first touch only; once KVM has mapped the page, the
 * guest's accesses set the accessed bit of KVM's SPTE and nothing else. A
 * sampling pass asks KVM, the way the host's reclaim does, to clear those
 * bits over the VM's guest RAM (its mmu notifier's clear_young), and notes
 * which were set:
 *  - TDP MMU: one clear_young call per 2 MiB of guest RAM. Every SPTE it ages
 *    fires KVM's kvm_tdp_mmu_spte_changed tracepoint (gfn, mapping level, old
 *    SPTE); only the sampling thread's own calls are counted.
 *  - Shadow MMU (rmaps: tdp_mmu=0, or a nested guest): no tracepoint, so one
 *    call per 4 KiB page, whose answer is that page's bit. A huge mapping is
 *    then seen at the first page of it a pass looks at.
 * clear_young does not flush TLBs, so a pass that found accesses flushes the
 * VM's, or an access through a cached translation would not set the bit
 * again. A pass looks at no more than its budget of pages; a VM with more
 * RAM is covered by a window that moves on with each pass.
 *
 * The host's reclaim: it reads the same bits (folio_referenced -> clear_young)
 * to tell used pages from unused ones, and sampling clears them first. So
 * that reclaim still learns of the access, each accessed page found through
 * the tracepoint is marked accessed in the host's LRU (mark_page_accessed),
 * as KVM itself does for an accessed SPTE it zaps: reclaim then sees the
 * page as used, through PG_referenced / the active list, instead of through
 * the SPTE. Passes of the shadow MMU (per-page calls) do not know the pfn and
 * do not do this: reclaim may then take a page the guest used within the last
 * interval for a cold one.
 *
 * Passes run on one ordered workqueue, so at most one pass ages at a time:
 * the probe knows the pass by the task that runs it. The probe is attached
 * only while some VM is sampled: KVM fires the tracepoint for every SPTE it
 * changes, guest faults included.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/kvm_host.h>
#include <linux/mmu_notifier.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/tracepoint.h>
#include <linux/vmalloc.h>

#include "self_e.h"
#include "kvm_private.h"

#define CHUNK_PAGES	512		/* one clear_young call: 2 MiB, one huge SPTE */
#define MAX_SEGS	64		/* memslot pieces one window may span */
#define EMIT_BATCH	1024		/* records emitted with preemption off, in one lane */
#define SPTE_PFN_MASK	GENMASK_ULL(51, 12)

/* A piece of the window: part of one memslot of address space 0. */
struct sample_seg {
	u64 gfn, npages, hva;
	u64 bit;			/* its first bit in the pass bitmap; 64-aligned */
};

struct self_e_sampler {
	struct self_e_vm *vm;		/* holds a reference */
	struct delayed_work work;
	u32 interval_ms, budget;
	u64 cursor;			/* the next window's first page, in as-0 RAM order */
	unsigned long *bits;		/* the pass's accessed pages, per segment */
	u64 nr_bits;
	struct sample_seg seg[MAX_SEGS];
	u32 nr_seg;
	/* The chunk being aged, for the probe. */
	u64 chunk_gfn, chunk_end, chunk_bit;
	u64 carry_gfn, carry_end;	/* a huge SPTE aged earlier covers these gfns */
	u64 marked;			/* pages the probe marked in this chunk */
	bool coarse;
};

static struct workqueue_struct *sample_wq;
static DEFINE_MUTEX(sample_lock);	/* samplers, readers' requests, nr_samplers */
static unsigned int nr_samplers;	/* the probe is attached while > 0 */
static struct tracepoint *tp_spte_changed;
#if SELF_E_KVM_6_12
static bool *tdp_mmu_enabled_param;	/* kvm.ko's tdp_mmu; per VM in 6.1 */
#endif

/* The pass in progress, and the task that runs it. */
static struct self_e_sampler *aging;
static struct task_struct *aging_task;

/* Whether aging @kvm may go through rmaps, where no tracepoint tells the gfn. */
static bool kvm_has_rmaps(struct kvm *kvm)
{
#if SELF_E_KVM_6_12
	if (!tdp_mmu_enabled_param || !READ_ONCE(*tdp_mmu_enabled_param))
		return true;
#else
	if (!kvm->arch.tdp_mmu_enabled)
		return true;
#endif
	return smp_load_acquire(&kvm->arch.shadow_root_allocated);
}

static void mark(struct self_e_sampler *s, u64 gfn, u64 pages)
{
	u64 start = max(gfn, s->chunk_gfn), end = min(gfn + pages, s->chunk_end);

	if (start >= end)
		return;
	bitmap_set(s->bits, s->chunk_bit + (start - s->chunk_gfn), end - start);
	s->marked += end - start;
}

/* Hand the access on to the host's reclaim, as KVM does when it zaps an accessed SPTE. */
static void mark_host_accessed(u64 spte)
{
	unsigned long pfn = (spte & SPTE_PFN_MASK) >> PAGE_SHIFT;
	struct page *page;

	if (!pfn_valid(pfn))
		return;
	page = pfn_to_page(pfn);
	if (!PageReserved(page))
		mark_page_accessed(page);
}

/*
 * KVM changed a TDP MMU SPTE. Under mmu_lock; the page is mapped, so it
 * cannot go away meanwhile. During our clear_young, the only change is the
 * aging of an accessed leaf SPTE.
 */
static void probe_spte_changed(void *data, int as_id, gfn_t gfn, int level, u64 old_spte,
			       u64 new_spte)
{
	struct self_e_sampler *s = READ_ONCE(aging);
	u64 pages = KVM_PAGES_PER_HPAGE(level);

	if (!s || READ_ONCE(aging_task) != current || as_id != 0)
		return;
	mark(s, gfn, pages);
	if (gfn < s->chunk_end && gfn + pages > s->chunk_end) {
		s->carry_gfn = s->chunk_end;
		s->carry_end = gfn + pages;
	}
	mark_host_accessed(old_spte);
}

/* The window of this pass: up to budget pages of as-0 RAM from the cursor on. */
static u64 plan_window(struct self_e_sampler *s, const struct self_e_memslot *slots, u32 nr)
{
	u64 total = 0, skip, want, bit = 0;
	u32 i, pass;

	for (i = 0; i < nr; i++)
		if (!(slots[i].id >> 15))
			total += slots[i].npages;
	s->nr_seg = 0;
	if (!total)
		return 0;
	if (s->cursor >= total)
		s->cursor = 0;
	skip = s->cursor;
	want = min_t(u64, total, s->budget);
	/* Twice round the slots: the window may wrap past the last one. */
	for (pass = 0; pass < 2 && want && s->nr_seg < MAX_SEGS; pass++) {
		for (i = 0; i < nr && want && s->nr_seg < MAX_SEGS; i++) {
			const struct self_e_memslot *m = &slots[i];
			struct sample_seg *seg;
			u64 n;

			if (m->id >> 15)
				continue;
			if (skip >= m->npages) {
				skip -= m->npages;
				continue;
			}
			n = min(m->npages - skip, want);
			seg = &s->seg[s->nr_seg++];
			seg->gfn = m->base_gfn + skip;
			seg->hva = m->hva + (skip << PAGE_SHIFT);
			seg->npages = n;
			seg->bit = bit;
			bit = round_up(bit + n, 64);
			want -= n;
			skip = 0;
		}
	}
	s->cursor += min_t(u64, total, s->budget) - want;
	return total;
}

/* Age one segment in chunks; returns whether any page was accessed. */
static bool age_segment(struct self_e_sampler *s, struct kvm *kvm, const struct sample_seg *seg,
			bool per_page)
{
	struct mmu_notifier *mn = &kvm->mmu_notifier;
	u64 g, next, end = seg->gfn + seg->npages, i;
	bool young = false;
	int y;

	for (g = seg->gfn; g < end; g = next) {
		unsigned long hva = seg->hva + ((g - seg->gfn) << PAGE_SHIFT);

		next = min(round_down(g, CHUNK_PAGES) + CHUNK_PAGES, end);
		s->chunk_gfn = g;
		s->chunk_end = next;
		s->chunk_bit = seg->bit + (g - seg->gfn);
		if (s->carry_gfn < s->carry_end)
			mark(s, s->carry_gfn, s->carry_end - s->carry_gfn);
		s->marked = 0;

		if (per_page) {
			for (i = 0; i < next - g; i++) {
				y = mn->ops->clear_young(mn, kvm->mm, hva + (i << PAGE_SHIFT),
							 hva + ((i + 1) << PAGE_SHIFT));
				if (y)
					__set_bit(s->chunk_bit + i, s->bits);
				young |= y;
			}
		} else {
			y = mn->ops->clear_young(mn, kvm->mm, hva, hva + ((next - g) << PAGE_SHIFT));
			/* Young but no SPTE told us which: a shadow root came up meanwhile. */
			if (y && !s->marked) {
				bitmap_set(s->bits, s->chunk_bit, next - g);
				s->coarse = true;
			}
			young |= y;
		}
		cond_resched();
	}
	return young;
}

static void emit_one(struct self_e_vm *vm, u8 type, u8 flags, u64 gfn, u64 arg)
{
	struct self_e_event ev = {
		.type = type,
		.flags = flags,
		.vcpu = SELF_E_VCPU_NONE,
		.vm_id = vm->id,
		.ts_ns = self_e_now(),
		.gfn = gfn,
		.arg = arg,
	};

	rcu_read_lock();
	self_e_emit(vm, &ev);
	rcu_read_unlock();
}

/* Each segment's accessed blocks, then the segment itself. */
static void emit_pass(struct self_e_sampler *s, bool partial)
{
	u8 flags = (partial ? SELF_E_F_SAMPLE_PARTIAL : 0) |
		   (s->coarse ? SELF_E_F_SAMPLE_COARSE : 0);
	u32 i, batch = 0;
	u64 off;

	preempt_disable();
	for (i = 0; i < s->nr_seg; i++) {
		const struct sample_seg *seg = &s->seg[i];

		for (off = 0; off < seg->npages; off += 64) {
			u64 word = s->bits[(seg->bit + off) / BITS_PER_LONG];

			if (seg->npages - off < 64)
				word &= GENMASK_ULL(seg->npages - off - 1, 0);
			if (!word)
				continue;
			emit_one(s->vm, SELF_E_EV_ACCESS, 0, seg->gfn + off, word);
			if (++batch == EMIT_BATCH) {
				batch = 0;
				preempt_enable();
				cond_resched();
				preempt_disable();
			}
		}
		emit_one(s->vm, SELF_E_EV_SAMPLE,
			 flags | (i + 1 == s->nr_seg ? SELF_E_F_SAMPLE_END : 0), seg->gfn,
			 seg->npages);
	}
	preempt_enable();
}

static void sample_pass(struct self_e_sampler *s, struct kvm *kvm)
{
	struct self_e_memslot *slots;
	bool per_page, young = false;
	u64 total, covered = 0;
	int nr;
	u32 i;

	nr = self_e_vm_copy_slots(s->vm, NULL, 0);
	slots = kmalloc_array(max(nr, 1), sizeof(*slots), GFP_KERNEL);
	if (!slots)
		return;
	nr = min(nr, self_e_vm_copy_slots(s->vm, slots, nr));
	total = plan_window(s, slots, nr);
	kfree(slots);
	if (!s->nr_seg)
		return;

	bitmap_zero(s->bits, s->nr_bits);
	s->coarse = false;
	s->carry_gfn = s->carry_end = 0;
	per_page = kvm_has_rmaps(kvm);

	WRITE_ONCE(aging_task, current);
	WRITE_ONCE(aging, s);
	for (i = 0; i < s->nr_seg; i++)
		young |= age_segment(s, kvm, &s->seg[i], per_page);
	WRITE_ONCE(aging, NULL);
	WRITE_ONCE(aging_task, NULL);

	/* The next access through a cached translation must set the bit again. */
	if (young)
		kvm_flush_remote_tlbs(kvm);
	for (i = 0; i < s->nr_seg; i++)
		covered += s->seg[i].npages;
	emit_pass(s, covered < total);
}

static void sample_work(struct work_struct *work)
{
	struct self_e_sampler *s = container_of(to_delayed_work(work), struct self_e_sampler,
						 work);
	struct self_e_vm *vm = s->vm;
	u64 t0 = ktime_get_ns(), took, period;
	struct kvm *kvm;

	kvm = self_e_vm_get_kvm(vm);
	if (!kvm)
		return;		/* the VM is going: no more passes */
	if (self_e_vm_wanted(vm))
		sample_pass(s, kvm);
	kvm_put_kvm(kvm);

	took = ktime_get_ns() - t0;
	WRITE_ONCE(vm->sample_passes, vm->sample_passes + 1);
	WRITE_ONCE(vm->sample_ns, vm->sample_ns + took);
	period = (u64)s->interval_ms * NSEC_PER_MSEC;
	queue_delayed_work(sample_wq, &s->work,
			   took < period ? nsecs_to_jiffies(period - took) : 0);
}

static void sampler_free(struct self_e_sampler *s)
{
	vfree(s->bits);
	self_e_vm_put(s->vm);
	kfree(s);
	/* No pass runs any more; a probe still running sees aging NULL. */
	if (!--nr_samplers)
		tracepoint_probe_unregister(tp_spte_changed, probe_spte_changed, NULL);
}

static struct self_e_sampler *sampler_new(struct self_e_vm *vm)
{
	struct self_e_sampler *s = kzalloc(sizeof(*s), GFP_KERNEL);
	int ret;

	if (!s)
		return NULL;
	if (!nr_samplers) {
		ret = tracepoint_probe_register(tp_spte_changed, probe_spte_changed, NULL);
		if (ret) {
			pr_warn_ratelimited("cannot attach to kvm_tdp_mmu_spte_changed: %d\n", ret);
			kfree(s);
			return NULL;
		}
	}
	nr_samplers++;
	refcount_inc(&vm->ref);		/* a reader holds one: never zero here */
	s->vm = vm;
	INIT_DELAYED_WORK(&s->work, sample_work);
	return s;
}

/*
 * Sample @vm as its readers ask now: at the shortest interval and the largest
 * budget among them, or not at all. sample_lock held; process context.
 */
static int sample_update(struct self_e_vm *vm)
{
	struct self_e_sampler *s = vm->sampler;
	u32 interval = 0, budget = 0;
	struct self_e_reader *r;
	unsigned long *bits;
	u64 nr_bits;

	rcu_read_lock();
	list_for_each_entry_rcu(r, &vm->readers, node) {
		if (!r->sample_ms)
			continue;
		interval = interval ? min(interval, r->sample_ms) : r->sample_ms;
		budget = max(budget, r->sample_budget);
	}
	rcu_read_unlock();

	if (s)
		cancel_delayed_work_sync(&s->work);
	if (!interval) {
		if (s) {
			vm->sampler = NULL;
			sampler_free(s);
		}
		WRITE_ONCE(vm->sample_interval_ms, 0);
		WRITE_ONCE(vm->sample_budget, 0);
		return 0;
	}
	if (!s) {
		s = sampler_new(vm);
		if (!s)
			return -ENOMEM;
		vm->sampler = s;
	}
	if (budget != s->budget) {
		/* Each segment starts on a whole word. */
		nr_bits = (u64)budget + 64 * MAX_SEGS;
		bits = vzalloc(BITS_TO_LONGS(nr_bits) * sizeof(long));
		if (!bits) {
			if (!s->bits) {
				vm->sampler = NULL;
				sampler_free(s);
			} else {
				queue_delayed_work(sample_wq, &s->work, 0);
			}
			return -ENOMEM;
		}
		vfree(s->bits);
		s->bits = bits;
		s->nr_bits = nr_bits;
		s->budget = budget;
	}
	s->interval_ms = interval;
	WRITE_ONCE(vm->sample_interval_ms, interval);
	WRITE_ONCE(vm->sample_budget, budget);
	queue_delayed_work(sample_wq, &s->work, 0);
	return 0;
}

/*
 * SELF_E_IOC_SET_SAMPLING for the VM @r is attached to; @req is checked.
 * Writes back what the VM is sampled with now. Process context.
 */
int self_e_sample_set(struct self_e_reader *r, struct self_e_sampling *req)
{
	struct self_e_vm *vm = r->vm;
	u32 old_ms, old_budget;
	int ret;

	mutex_lock(&sample_lock);
	old_ms = r->sample_ms;
	old_budget = r->sample_budget;
	r->sample_ms = req->interval_ms;
	r->sample_budget = req->budget_pages ?: SELF_E_SAMPLE_DEFAULT_BUDGET;
	ret = sample_update(vm);
	if (ret) {
		r->sample_ms = old_ms;
		r->sample_budget = old_budget;
		sample_update(vm);
	}
	req->interval_ms = vm->sample_interval_ms;
	req->budget_pages = vm->sample_budget;
	mutex_unlock(&sample_lock);
	return ret;
}

/* @r no longer reads @vm: its request ends. Process context. */
void self_e_sample_reader_gone(struct self_e_reader *r, struct self_e_vm *vm)
{
	if (!r->sample_ms)
		return;
	mutex_lock(&sample_lock);
	r->sample_ms = 0;
	sample_update(vm);
	mutex_unlock(&sample_lock);
}

int self_e_access_init(void)
{
	tp_spte_changed = (void *)self_e_lookup_symbol("kvm:__tracepoint_kvm_tdp_mmu_spte_changed");
	if (!tp_spte_changed) {
		pr_err("KVM tracepoint kvm_tdp_mmu_spte_changed not found\n");
		return -ENOENT;
	}
#if SELF_E_KVM_6_12
	tdp_mmu_enabled_param = (void *)self_e_lookup_symbol("kvm:tdp_mmu_enabled");
	if (!tdp_mmu_enabled_param)
		pr_warn("kvm's tdp_mmu_enabled not found: sampling goes page by page\n");
#endif
	sample_wq = alloc_ordered_workqueue("self_e_sample", 0);
	return sample_wq ? 0 : -ENOMEM;
}

void self_e_access_exit(void)
{
	/* No reader is left (each holds the module), so no sampler either. */
	destroy_workqueue(sample_wq);
	/* No probe is still running when the module's text goes away. */
	tracepoint_synchronize_unregister();
}
