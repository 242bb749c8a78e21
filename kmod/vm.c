// SPDX-License-Identifier: GPL-2.0
/*
 * The VM registry: every KVM VM on the host, found without help from its VMM.
 *
 *  - VMs that exist at load time: KVM's vm_list, walked under kvm_lock.
 *  - New VMs: a kretprobe on kvm_arch_post_init_vm(), the last step of VM
 *    creation that can fail.
 *  - Memslot changes: a kprobe on kvm_arch_commit_memory_region(), which runs
 *    with the new slots already in place; the registry keeps its own copy
 *    (the mirror), so hvas and memslot listings never touch a VM that may be
 *    going away.
 *  - Destruction: a kprobe on kvm_arch_destroy_vm(), called once the last
 *    reference to the VM is gone (and on a failed creation, where the VM was
 *    never registered).
 *
 * The registry holds no reference on any struct kvm: it keeps the pointer as
 * a key only, and reads the VM itself only from KVM's own calls into the
 * hooks above, while the VM is alive. A VM is a struct self_e_vm with its own
 * refcount: one for the registry, one per attached reader.
 *
 * Hooks run in atomic context: GFP_ATOMIC, spinlocks, RCU; nothing sleeps.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hashtable.h>
#include <linux/idr.h>
#include <linux/kprobes.h>
#include <linux/kvm_host.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "self_e.h"

#ifdef KVM_MAX_NR_ADDRESS_SPACES
#define SELF_E_NR_AS	KVM_MAX_NR_ADDRESS_SPACES
#else
#define SELF_E_NR_AS	KVM_ADDRESS_SPACE_NUM
#endif

#define SELF_E_VM_ID_MAX	65535

static DEFINE_HASHTABLE(vm_hash, 6);	/* by struct kvm *; RCU readers */
static DEFINE_HASHTABLE(vm_mm_hash, 6);	/* by the VMM's mm (KSM works on mms); RCU */
static DEFINE_IDR(vm_idr);		/* by id */
static DEFINE_SPINLOCK(vms_lock);	/* writers of both */

static u32 slot_id(const struct kvm_memory_slot *s)
{
	return s->id | ((u32)s->as_id << 15);
}

static void slot_copy(struct self_e_memslot *dst, const struct kvm_memory_slot *s)
{
	dst->base_gfn = s->base_gfn;
	dst->npages = s->npages;
	dst->hva = s->userspace_addr;
	dst->id = slot_id(s);
	dst->flags = s->flags;
}

/* ---- lookups ----------------------------------------------------------- */

struct self_e_vm *self_e_vm_find_rcu(const struct kvm *kvm)
{
	struct self_e_vm *vm;

	hash_for_each_possible_rcu(vm_hash, vm, hash_node, (unsigned long)kvm)
		if (vm->kvm == kvm)
			return vm;
	return NULL;
}

static struct self_e_vm *vm_get_locked(struct self_e_vm *vm)
{
	if (vm && !vm->dead && refcount_inc_not_zero(&vm->ref))
		return vm;
	return NULL;
}

/* Whether a live VM of @mm has readers. Any context. */
bool self_e_mm_wanted(const struct mm_struct *mm)
{
	struct self_e_vm *vm;
	bool wanted = false;

	rcu_read_lock();
	hash_for_each_possible_rcu(vm_mm_hash, vm, mm_node, (unsigned long)mm) {
		if (vm->mm == mm && !READ_ONCE(vm->dead) && self_e_vm_wanted(vm)) {
			wanted = true;
			break;
		}
	}
	rcu_read_unlock();
	return wanted;
}

/*
 * Emit @tmpl once for each run of gfns that host addresses [@start, @end) of
 * @mm back, in each live VM of @mm that someone reads: one mm may hold
 * several VMs, and one host page several gfns (SMM, aliases). KSM and the
 * core mm know pages by (mm, hva), never by gfn. The event gets the run's
 * first gfn, its VM, the SMM flag of its slot and, when @arg_is_pages, the
 * run's length as arg. @tmpl's vcpu stands only in the VM @vcpu_kvm; in
 * other VMs, and everywhere when @vcpu_kvm is NULL, the vcpu is none. Any
 * context.
 */
static void emit_hva_runs(const struct mm_struct *mm, unsigned long start, unsigned long end,
			  const struct self_e_event *tmpl, const struct kvm *vcpu_kvm,
			  bool arg_is_pages)
{
	const struct self_e_slots *slots;
	struct self_e_event ev;
	struct self_e_vm *vm;
	u32 i;

	start &= PAGE_MASK;
	ev = *tmpl;
	ev.ts_ns = self_e_now();	/* one moment for every gfn */
	rcu_read_lock();
	hash_for_each_possible_rcu(vm_mm_hash, vm, mm_node, (unsigned long)mm) {
		if (vm->mm != mm || READ_ONCE(vm->dead) || !self_e_vm_wanted(vm))
			continue;
		slots = rcu_dereference(vm->slots);
		for (i = 0; slots && i < slots->nr; i++) {
			const struct self_e_memslot *s = &slots->slot[i];
			u64 lo = max_t(u64, start, s->hva);
			u64 hi = min_t(u64, end, s->hva + (s->npages << PAGE_SHIFT));

			if (lo >= hi)
				continue;
			ev.vm_id = vm->id;
			ev.vcpu = vcpu_kvm && vm->kvm == vcpu_kvm ? tmpl->vcpu : SELF_E_VCPU_NONE;
			ev.gfn = s->base_gfn + ((lo - s->hva) >> PAGE_SHIFT);
			if (arg_is_pages)
				ev.arg = (hi - lo + PAGE_SIZE - 1) >> PAGE_SHIFT;
			ev.flags = tmpl->flags | ((s->id >> 15) ? SELF_E_F_SMM : 0);
			self_e_emit(vm, &ev);
		}
	}
	rcu_read_unlock();
}

/* @tmpl (type, flags, vcpu, arg set) for each gfn that page @hva of @mm backs. */
void self_e_emit_hva(const struct mm_struct *mm, unsigned long hva,
		     const struct self_e_event *tmpl, const struct kvm *vcpu_kvm)
{
	hva &= PAGE_MASK;
	emit_hva_runs(mm, hva, hva + PAGE_SIZE, tmpl, vcpu_kvm, false);
}

/* @tmpl (type, flags set) for each run of gfns [@start, @end) of @mm backs; arg = pages. */
void self_e_emit_hva_range(const struct mm_struct *mm, unsigned long start, unsigned long end,
			   const struct self_e_event *tmpl)
{
	emit_hva_runs(mm, start, end, tmpl, NULL, true);
}

struct self_e_vm *self_e_vm_get_by_id(u32 id)
{
	struct self_e_vm *vm;

	spin_lock(&vms_lock);
	vm = vm_get_locked(idr_find(&vm_idr, id));
	spin_unlock(&vms_lock);
	return vm;
}

/* The VM owned by @pid with the lowest id. */
struct self_e_vm *self_e_vm_get_by_pid(pid_t pid)
{
	struct self_e_vm *vm, *found = NULL;
	int id;

	spin_lock(&vms_lock);
	idr_for_each_entry(&vm_idr, vm, id) {
		if (vm->pid == pid) {
			found = vm_get_locked(vm);
			if (found)
				break;
		}
	}
	spin_unlock(&vms_lock);
	return found;
}

static void vm_free_rcu(struct rcu_head *head)
{
	struct self_e_vm *vm = container_of(head, struct self_e_vm, rcu);

	kfree(rcu_dereference_raw(vm->slots));
	free_percpu(vm->events);
	kfree(vm);
}

void self_e_vm_put(struct self_e_vm *vm)
{
	if (refcount_dec_and_test(&vm->ref))
		call_rcu(&vm->rcu, vm_free_rcu);
}

u64 self_e_vm_hva(const struct self_e_vm *vm, u64 gfn)
{
	const struct self_e_slots *slots;
	u64 hva = 0;
	u32 i;

	rcu_read_lock();
	slots = rcu_dereference(vm->slots);
	for (i = 0; slots && i < slots->nr; i++) {
		const struct self_e_memslot *s = &slots->slot[i];

		/* Address space 0: the one guest RAM is mapped in. */
		if (!(s->id >> 15) && gfn >= s->base_gfn && gfn - s->base_gfn < s->npages) {
			hva = s->hva + ((gfn - s->base_gfn) << PAGE_SHIFT);
			break;
		}
	}
	rcu_read_unlock();
	return hva;
}

/* Copy up to @max memslots into @out; returns how many the VM has. */
int self_e_vm_copy_slots(struct self_e_vm *vm, struct self_e_memslot *out, u32 max)
{
	const struct self_e_slots *slots;
	u32 nr;

	rcu_read_lock();
	slots = rcu_dereference(vm->slots);
	nr = slots ? slots->nr : 0;
	if (out && slots)
		memcpy(out, slots->slot, min(nr, max) * sizeof(*out));
	rcu_read_unlock();
	return nr;
}

u32 self_e_vm_nr_vcpus(struct self_e_vm *vm)
{
	u32 n = 0;

	/* The kvm is alive while registered: destruction unregisters under vms_lock. */
	spin_lock(&vms_lock);
	if (!vm->dead)
		n = atomic_read(&vm->kvm->online_vcpus);
	spin_unlock(&vms_lock);
	return n;
}

/*
 * A reference on @vm's kvm, for work in process context, or NULL once the VM
 * is going. The caller drops it with kvm_put_kvm(), never in atomic context.
 */
struct kvm *self_e_vm_get_kvm(struct self_e_vm *vm)
{
	struct kvm *kvm = NULL;

	/* Alive while registered: destruction unregisters under vms_lock. */
	spin_lock(&vms_lock);
	if (!vm->dead && kvm_get_kvm_safe(vm->kvm))
		kvm = vm->kvm;
	spin_unlock(&vms_lock);
	return kvm;
}

int self_e_vm_for_each(u32 from, int (*fn)(struct self_e_vm *vm, void *arg), void *arg)
{
	struct self_e_vm *vm;
	int id = from, ret = 0;

	spin_lock(&vms_lock);
	idr_for_each_entry_continue(&vm_idr, vm, id) {
		ret = fn(vm, arg);
		if (ret)
			break;
	}
	spin_unlock(&vms_lock);
	return ret;
}

/* ---- registration ------------------------------------------------------ */

static void vm_announce(struct self_e_vm *vm)
{
	struct self_e_event ev = {
		.type = SELF_E_EV_VM_CREATE,
		.vcpu = SELF_E_VCPU_NONE,
		.vm_id = vm->id,
		.ts_ns = self_e_now(),
		.gfn = SELF_E_GFN_NONE,
		.arg = vm->pid,
	};

	self_e_readers_hold_vm(vm);
	rcu_read_lock();
	self_e_emit(vm, &ev);
	rcu_read_unlock();
	self_e_notify_vm(SELF_E_CMD_VM_NEW, vm);
}

/* Register @kvm unless it is known; @slots (may be NULL) passes to the VM. */
static struct self_e_vm *vm_register(struct kvm *kvm, pid_t pid, const char *comm,
				     struct self_e_slots *slots)
{
	struct self_e_vm *vm;
	int id;

	vm = kzalloc(sizeof(*vm), GFP_ATOMIC);
	if (!vm)
		goto fail;
	vm->events = alloc_percpu_gfp(u64, GFP_ATOMIC);
	if (!vm->events) {
		kfree(vm);
		goto fail;
	}
	vm->kvm = kvm;
	vm->mm = kvm->mm;
	vm->pid = pid;
	strscpy(vm->comm, comm, sizeof(vm->comm));
	refcount_set(&vm->ref, 1);
	spin_lock_init(&vm->lock);
	INIT_LIST_HEAD(&vm->readers);
	RCU_INIT_POINTER(vm->slots, slots);

	spin_lock(&vms_lock);
	if (self_e_vm_find_rcu(kvm)) {
		spin_unlock(&vms_lock);
		free_percpu(vm->events);
		kfree(vm);
		kfree(slots);
		return NULL;
	}
	id = idr_alloc_cyclic(&vm_idr, vm, 1, SELF_E_VM_ID_MAX + 1, GFP_ATOMIC);
	if (id < 0) {
		spin_unlock(&vms_lock);
		free_percpu(vm->events);
		kfree(vm);
		goto fail;
	}
	vm->id = id;
	hash_add_rcu(vm_hash, &vm->hash_node, (unsigned long)kvm);
	hash_add_rcu(vm_mm_hash, &vm->mm_node, (unsigned long)vm->mm);
	spin_unlock(&vms_lock);

	vm_announce(vm);
	return vm;
fail:
	kfree(slots);
	pr_warn_ratelimited("cannot track a new VM of pid %d: out of memory or ids\n", pid);
	return NULL;
}

/* After a grace period no hook still emits for the VM: its end comes last. */
static void vm_end_rcu(struct rcu_head *head)
{
	struct self_e_vm *vm = container_of(head, struct self_e_vm, rcu);
	struct self_e_event ev = {
		.type = SELF_E_EV_VM_DESTROY,
		.vcpu = SELF_E_VCPU_NONE,
		.vm_id = vm->id,
		.ts_ns = self_e_now(),
		.gfn = SELF_E_GFN_NONE,
	};

	rcu_read_lock();
	self_e_emit(vm, &ev);
	rcu_read_unlock();
	smp_store_release(&vm->ended, true);
	self_e_kick_vm_readers(vm);
	self_e_notify_vm(SELF_E_CMD_VM_DEL, vm);
	/* The registry's reference; readers may hold the VM a while longer. */
	if (refcount_dec_and_test(&vm->ref))
		vm_free_rcu(&vm->rcu);
}

static void vm_unregister(struct kvm *kvm)
{
	struct self_e_vm *vm;

	spin_lock(&vms_lock);
	vm = self_e_vm_find_rcu(kvm);
	if (!vm) {
		spin_unlock(&vms_lock);
		return;
	}
	hash_del_rcu(&vm->hash_node);
	hash_del_rcu(&vm->mm_node);
	idr_remove(&vm_idr, vm->id);
	spin_lock(&vm->lock);
	WRITE_ONCE(vm->dead, true);
	spin_unlock(&vm->lock);
	spin_unlock(&vms_lock);
	call_rcu(&vm->rcu, vm_end_rcu);
}

/* ---- memslot mirror ---------------------------------------------------- */

static void vm_slots_apply(struct self_e_vm *vm, const struct kvm_memory_slot *old,
			   const struct kvm_memory_slot *new, enum kvm_mr_change change)
{
	const struct self_e_slots *cur;
	struct self_e_slots *next;
	u32 i, n = 0, drop = old ? slot_id(old) : U32_MAX, room;

	spin_lock(&vm->lock);
	cur = rcu_dereference_protected(vm->slots, lockdep_is_held(&vm->lock));
	room = (cur ? cur->nr : 0) + 1;
	next = kmalloc(struct_size(next, slot, room), GFP_ATOMIC);
	if (!next) {
		spin_unlock(&vm->lock);
		pr_warn_ratelimited("vm %u: memslot mirror not updated: out of memory\n", vm->id);
		return;
	}
	for (i = 0; cur && i < cur->nr; i++)
		if (cur->slot[i].id != drop)
			next->slot[n++] = cur->slot[i];
	if (new && change != KVM_MR_DELETE)
		slot_copy(&next->slot[n++], new);
	next->nr = n;
	rcu_assign_pointer(vm->slots, next);
	spin_unlock(&vm->lock);
	if (cur)
		kfree_rcu((struct self_e_slots *)cur, rcu);
}

static int commit_memory_region_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct kvm *kvm = (struct kvm *)regs_get_kernel_argument(regs, 0);
	const struct kvm_memory_slot *old = (void *)regs_get_kernel_argument(regs, 1);
	const struct kvm_memory_slot *new = (void *)regs_get_kernel_argument(regs, 2);
	enum kvm_mr_change change = regs_get_kernel_argument(regs, 3);
	const struct kvm_memory_slot *s = new ? new : old;
	struct self_e_memslot slot;
	struct self_e_event ev;
	struct self_e_vm *vm;

	rcu_read_lock();
	vm = self_e_vm_find_rcu(kvm);
	if (!vm || !s)
		goto out;
	vm_slots_apply(vm, old, new, change);

	slot_copy(&slot, s);
	ev = (struct self_e_event){
		.type = SELF_E_EV_MEMSLOT,
		.flags = change & 3,
		.vcpu = slot.id,
		.vm_id = vm->id,
		.ts_ns = self_e_now(),
		.gfn = slot.base_gfn,
		.arg = slot.npages,
	};
	self_e_emit(vm, &ev);
	self_e_notify_memslot(vm, &slot, change & 3);
out:
	rcu_read_unlock();
	return 0;
}

/* ---- discovery hooks --------------------------------------------------- */

static int post_init_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	*(struct kvm **)ri->data = (struct kvm *)regs_get_kernel_argument(regs, 0);
	return 0;
}

static int post_init_ret(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct kvm *kvm = *(struct kvm **)ri->data;

	/* Creation runs in the VMM's ioctl: current is the owner. No slots yet. */
	if (regs_return_value(regs) == 0)
		vm_register(kvm, current->tgid, current->comm, NULL);
	return 0;
}

static int destroy_vm_pre(struct kprobe *p, struct pt_regs *regs)
{
	vm_unregister((struct kvm *)regs_get_kernel_argument(regs, 0));
	return 0;
}

static struct kretprobe post_init_probe = {
	.kp.symbol_name = "kvm_arch_post_init_vm",
	.entry_handler = post_init_entry,
	.handler = post_init_ret,
	.data_size = sizeof(struct kvm *),
	.maxactive = 32,
};

static struct kprobe destroy_probe = {
	.symbol_name = "kvm_arch_destroy_vm",
	.pre_handler = destroy_vm_pre,
};

static struct kprobe memslot_probe = {
	.symbol_name = "kvm_arch_commit_memory_region",
	.pre_handler = commit_memory_region_pre,
};

/* ---- VMs that existed before the module -------------------------------- */

static struct self_e_slots *read_slots(struct kvm *kvm)
{
	struct self_e_slots *slots;
	struct kvm_memory_slot *s;
	u32 nr = 0, room = 0;
	int as, bkt, idx;

	idx = srcu_read_lock(&kvm->srcu);
	for (as = 0; as < SELF_E_NR_AS; as++)
		kvm_for_each_memslot(s, bkt, __kvm_memslots(kvm, as))
			room++;
	slots = kmalloc(struct_size(slots, slot, room), GFP_KERNEL);
	if (slots) {
		for (as = 0; as < SELF_E_NR_AS; as++)
			kvm_for_each_memslot(s, bkt, __kvm_memslots(kvm, as))
				if (nr < room)
					slot_copy(&slots->slot[nr++], s);
		slots->nr = nr;
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return slots;
}

static void register_existing(void)
{
	struct mutex *kvm_lock = (void *)self_e_lookup_symbol("kvm:kvm_lock");
	struct list_head *vm_list = (void *)self_e_lookup_symbol("kvm:vm_list");
	struct kvm *kvm, **held;
	int n = 0, max = 0, i;

	if (!kvm_lock || !vm_list) {
		pr_warn("KVM's vm_list not found: VMs created before loading are not tracked\n");
		return;
	}
	/* Pin them under kvm_lock; read them after, as kvm_put_kvm() may take it. */
	mutex_lock(kvm_lock);
	list_for_each_entry(kvm, vm_list, vm_list)
		max++;
	held = kcalloc(max ?: 1, sizeof(*held), GFP_KERNEL);
	if (held)
		list_for_each_entry(kvm, vm_list, vm_list)
			if (n < max && kvm_get_kvm_safe(kvm))
				held[n++] = kvm;
	mutex_unlock(kvm_lock);
	if (!held) {
		pr_warn("out of memory: VMs created before loading are not tracked\n");
		return;
	}

	for (i = 0; i < n; i++) {
		struct task_struct *task;
		char comm[TASK_COMM_LEN] = "";
		pid_t pid;

		kvm = held[i];
		pid = kvm->userspace_pid;
		task = get_pid_task(find_vpid(pid), PIDTYPE_PID);
		if (task) {
			get_task_comm(comm, task);
			put_task_struct(task);
		}
		vm_register(kvm, pid, comm, read_slots(kvm));
		kvm_put_kvm(kvm);
	}
	kfree(held);
}

/* ---- init/exit --------------------------------------------------------- */

int self_e_vm_init(void)
{
	int ret;

	/* Hooks first, then the walk: a VM created meanwhile is found twice, kept once. */
	ret = register_kprobe(&destroy_probe);
	if (ret)
		goto err;
	ret = register_kprobe(&memslot_probe);
	if (ret)
		goto err_memslot;
	ret = register_kretprobe(&post_init_probe);
	if (ret)
		goto err_post_init;
	register_existing();
	return 0;

err_post_init:
	unregister_kprobe(&memslot_probe);
err_memslot:
	unregister_kprobe(&destroy_probe);
err:
	pr_err("cannot hook KVM's VM lifecycle: %d\n", ret);
	return ret;
}

void self_e_vm_exit(void)
{
	struct self_e_vm *vm;
	int id;

	unregister_kretprobe(&post_init_probe);
	unregister_kprobe(&memslot_probe);
	unregister_kprobe(&destroy_probe);

	/* No reader is left (each holds the module); drop the registry's VMs. */
	spin_lock(&vms_lock);
	idr_for_each_entry(&vm_idr, vm, id) {
		hash_del_rcu(&vm->hash_node);
		hash_del_rcu(&vm->mm_node);
		WRITE_ONCE(vm->dead, true);
		self_e_vm_put(vm);
	}
	idr_destroy(&vm_idr);
	spin_unlock(&vms_lock);
	rcu_barrier();	/* vm_end_rcu() and vm_free_rcu() callbacks */
}
