// SPDX-License-Identifier: GPL-2.0
/*
 * Event source: guest page faults that KVM resolves, on the TDP MMU (nested
 * paging, EPT) and the shadow MMU alike.
 *
 * Two of KVM's MMU tracepoints, found by name since KVM exports neither:
 *  - kvm_mmu_spte_requested(fault): KVM is about to map fault->gfn; the
 *    fault says whether the access was a write or a fetch;
 *  - kvm_mmu_set_spte(level, gfn, sptep): the mapping is installed; the SPTE
 *    gives the host pfn and whether it is writable.
 * Both fire in the same critical section of KVM's fault path (under
 * mmu_lock, preemption off), so the first is kept per CPU and read by the
 * second. A mapping installed without a matching request is KVM prefetching
 * (the shadow MMU maps neighbours), not a guest access, and says so.
 * The event is emitted at the second: only installed mappings count.
 * The probes are registered only while somebody reads (sources.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kvm_host.h>
#include <linux/percpu.h>
#include <linux/tracepoint.h>

#include "self_e.h"
#include "deliver.h"
#include "kvm_private.h"

#define SPTE_PFN_MASK	GENMASK_ULL(51, 12)
#define SPTE_WRITABLE	BIT_ULL(1)	/* R/W in NPT and shadow PTEs, W in EPT */

struct pending_fault {
	struct task_struct *task;	/* the vCPU thread: cheaper to read than the vCPU */
	gfn_t gfn;
	u8 flags;
};

static DEFINE_PER_CPU(struct pending_fault, pending_fault);

static struct tracepoint *tp_spte_requested, *tp_set_spte;

static void probe_spte_requested(void *data, struct kvm_page_fault *kvm_fault)
{
	const struct self_e_kvm_page_fault *f = (const void *)kvm_fault;
	struct pending_fault *p = this_cpu_ptr(&pending_fault);

	p->task = current;
	p->gfn = f->gfn;
	p->flags = (f->write ? SELF_E_F_WRITE : 0) | (f->exec ? SELF_E_F_EXEC : 0) |
		   (f->prefetch ? SELF_E_F_PREFETCH : 0);
}

/*
 * Tracepoint probes run with preemption off, which is an RCU read-side
 * section: the VM lookup and self_e_emit() need no rcu_read_lock() of their
 * own here, on the path every guest fault takes.
 */
static void probe_set_spte(void *data, int level, gfn_t gfn, u64 *sptep)
{
	struct pending_fault *p = this_cpu_ptr(&pending_fault);
	struct kvm_vcpu *vcpu = kvm_get_running_vcpu();
	u64 spte, pfn, pages = KVM_PAGES_PER_HPAGE(level);
	struct self_e_vm *vm;
	u8 flags = SELF_E_F_PREFETCH;

	if (!vcpu)
		return;
	if (p->task == current && p->gfn - gfn < pages) {
		flags = p->flags;
		p->task = NULL;
	}

	vm = self_e_vm_find_rcu(vcpu->kvm);
	if (!vm || !self_e_vm_wanted(vm))
		return;
	spte = READ_ONCE(*sptep);
	flags |= (spte & SPTE_WRITABLE) ? SELF_E_F_WRITABLE : 0;
	flags |= ((level - PG_LEVEL_4K) << SELF_E_F_LEVEL_SHIFT) & SELF_E_F_LEVEL_MASK;
	pfn = (spte & SPTE_PFN_MASK & ~((pages << PAGE_SHIFT) - 1)) >> PAGE_SHIFT;
	/* In registers, not a struct on the stack: this runs on every guest fault. */
	self_e_emit_inline(vm, self_e_event_tag(SELF_E_EV_FAULT, flags, vcpu->vcpu_id, vm->id),
			   self_e_now(), gfn, pfn);
}

static struct tracepoint *find_tracepoint(const char *name)
{
	struct tracepoint *tp = (void *)self_e_lookup_symbol(name);

	if (!tp)
		pr_err("KVM tracepoint %s not found\n", name);
	return tp;
}

int self_e_fault_init(void)
{
	tp_spte_requested = find_tracepoint("kvm:__tracepoint_kvm_mmu_spte_requested");
	tp_set_spte = find_tracepoint("kvm:__tracepoint_kvm_mmu_set_spte");
	return tp_spte_requested && tp_set_spte ? 0 : -ENOENT;
}

int self_e_fault_arm(void)
{
	int cpu, ret;

	/* A request left over from the last time armed is not this fault's. */
	for_each_possible_cpu(cpu)
		WRITE_ONCE(per_cpu_ptr(&pending_fault, cpu)->task, NULL);
	ret = tracepoint_probe_register(tp_spte_requested, probe_spte_requested, NULL);
	if (ret)
		return ret;
	ret = tracepoint_probe_register(tp_set_spte, probe_set_spte, NULL);
	if (ret)
		tracepoint_probe_unregister(tp_spte_requested, probe_spte_requested, NULL);
	return ret;
}

void self_e_fault_disarm(void)
{
	tracepoint_probe_unregister(tp_set_spte, probe_set_spte, NULL);
	tracepoint_probe_unregister(tp_spte_requested, probe_spte_requested, NULL);
}

void self_e_fault_exit(void)
{
	/* No probe of the last disarming is still running when the module's text goes. */
	tracepoint_synchronize_unregister();
}
