// SPDX-License-Identifier: GPL-2.0
/*
 * Readers: one per open /dev/self-e, each with a ring of its own, so that
 * several readers of one VM each get every event. A reader is attached to
 * one VM, or reads all VMs (the text stream).
 *
 * Delivery runs in the hooks' context (atomic, any CPU): it produces into the
 * CPU's lane and never wakes anyone directly. A wake-up or an overflow notice
 * goes through irq_work. The wake-up handshake, which loses no wake-up:
 *
 *   producer: commit record; smp_mb(); if WAKE clear: set it, queue irq_work
 *   reader:   clear WAKE; smp_mb__after_atomic(); look for records; sleep
 *
 * Either the producer sees WAKE clear, or the reader sees the record.
 * While WAKE is set (the reader is awake or about to be), producers only read
 * the bit and leave its cache line alone.
 *
 * The wake-up irq_work is lazy: it runs at the CPU's next tick (within 1/HZ),
 * or at once when the tick is stopped, never as an interrupt of its own per
 * event. Run at once, it would wake a reader with a watermark of 1 for every
 * event, and on the producer's CPU preempt the task the hook ran in: ksmd
 * merged 8 % slower under `self-e trace` (bench/ksm_bench.sh), 2.5 % lazy.
 *
 * A text line shows the hva of its gfn, from the VM's memslot mirror. A reader
 * of all VMs may read a VM's lines after the VM is gone from the registry, so
 * it holds every VM it may read lines of (r->vms) until it reads that VM's end.
 */
#include <linux/jiffies.h>
#include <linux/poll.h>
#include <linux/rculist.h>
#include <linux/slab.h>

#include "self_e.h"
#include "deliver.h"

LIST_HEAD(self_e_all_vm_readers);	/* text readers of all VMs; RCU */
static DEFINE_SPINLOCK(all_vm_readers_lock);
static atomic_t nr_readers;

static void reader_wake(struct irq_work *work)
{
	struct self_e_reader *r = container_of(work, struct self_e_reader, wake_work);

	wake_up_interruptible_poll(&r->wait, EPOLLIN | EPOLLRDNORM);
}

static void reader_overflow(struct irq_work *work)
{
	struct self_e_reader *r = container_of(work, struct self_e_reader, overflow_work);

	self_e_notify_overflow(r->vm ? r->vm->id : 0, self_e_kring_dropped(&r->ring));
	/* At most one notice a second per reader. */
	WRITE_ONCE(r->overflow_next, jiffies + HZ);
	clear_bit(SELF_E_READER_OVERFLOW, &r->bits);
}

void self_e_emit_tagged(struct self_e_vm *vm, u64 tag, u64 ts_ns, u64 gfn, u64 arg)
{
	self_e_emit_inline(vm, tag, ts_ns, gfn, arg);
}

/* Take a reference on @vm for @r unless it holds one already. */
static int reader_hold_vm(struct self_e_vm *vm, void *arg)
{
	struct self_e_reader *r = arg;

	if (!refcount_inc_not_zero(&vm->ref))
		return 0;
	/*
	 * -EBUSY: held already (the reader and the VM each found the other), or
	 * the id came back in a new VM while the old one's end is still unread,
	 * whose lines then go without an hva. -ENOMEM: lines go without an hva.
	 */
	if (xa_insert_irq(&r->vms, vm->id, vm, GFP_ATOMIC))
		self_e_vm_put(vm);
	return 0;
}

void self_e_readers_hold_vm(struct self_e_vm *vm)
{
	struct self_e_reader *r;

	smp_mb();	/* registered before the list walk; pairs with self_e_reader_start() */
	rcu_read_lock();
	list_for_each_entry_rcu(r, &self_e_all_vm_readers, node)
		reader_hold_vm(vm, r);
	rcu_read_unlock();
}

struct self_e_vm *self_e_reader_vm(struct self_e_reader *r, u16 id)
{
	return r->vm ?: xa_load(&r->vms, id);
}

void self_e_reader_vm_ended(struct self_e_reader *r, u16 id)
{
	struct self_e_vm *vm = r->vm ? NULL : xa_erase_irq(&r->vms, id);

	if (vm)
		self_e_vm_put(vm);
}

static void reader_drop_vms(struct self_e_reader *r)
{
	struct self_e_vm *vm;
	unsigned long id;

	xa_for_each(&r->vms, id, vm)
		self_e_vm_put(vm);
	xa_destroy(&r->vms);
}

static void reader_kick(struct self_e_reader *r)
{
	set_bit(SELF_E_READER_WAKE, &r->bits);
	irq_work_queue(&r->wake_work);
}

void self_e_kick_vm_readers(struct self_e_vm *vm)
{
	struct self_e_reader *r;

	rcu_read_lock();
	list_for_each_entry_rcu(r, &vm->readers, node)
		reader_kick(r);
	rcu_read_unlock();
}

u32 self_e_nr_readers(void)
{
	return atomic_read(&nr_readers);
}

struct self_e_reader *self_e_reader_new(void)
{
	struct self_e_reader *r = kzalloc(sizeof(*r), GFP_KERNEL);

	if (!r)
		return NULL;
	r->counts = alloc_percpu(struct self_e_counts);
	if (!r->counts) {
		kfree(r);
		return NULL;
	}
	INIT_LIST_HEAD(&r->node);
	xa_init_flags(&r->vms, XA_FLAGS_LOCK_IRQ);
	r->mask = SELF_E_EVENT_MASK_ALL;
	r->wake_work = IRQ_WORK_INIT_LAZY(reader_wake);
	init_irq_work(&r->overflow_work, reader_overflow);
	init_waitqueue_head(&r->wait);
	mutex_init(&r->lock);
	return r;
}

/*
 * Give @r a ring and start delivering @vm's events to it (all VMs' when
 * @vm is NULL). Takes over the caller's reference on @vm. Process context.
 */
int self_e_reader_start(struct self_e_reader *r, struct self_e_vm *vm, u32 ring_bytes,
			u32 watermark)
{
	int ret;

	ret = self_e_kring_alloc(&r->ring, ring_bytes, vm ? vm->id : 0, watermark);
	if (ret)
		return ret;
	ret = self_e_sources_get();
	if (ret) {
		self_e_kring_free(&r->ring);
		return ret;
	}
	r->watermark = r->ring.hdr->watermark;
	r->vm = vm;

	if (vm) {
		spin_lock(&vm->lock);
		/* Checked under the lock destruction sets it with: no event is missed. */
		if (vm->dead) {
			spin_unlock(&vm->lock);
			self_e_sources_put();
			self_e_kring_free(&r->ring);
			r->vm = NULL;
			return -ENOENT;
		}
		list_add_tail_rcu(&r->node, &vm->readers);
		spin_unlock(&vm->lock);
	} else {
		spin_lock(&all_vm_readers_lock);
		list_add_tail_rcu(&r->node, &self_e_all_vm_readers);
		spin_unlock(&all_vm_readers_lock);
		smp_mb();	/* listed before the walk; pairs with self_e_readers_hold_vm() */
		self_e_vm_for_each(1, reader_hold_vm, r);
	}
	r->active = true;
	atomic_inc(&nr_readers);
	return 0;
}

/* Stop deliveries and free the ring: the reader is as new again. Sleeps. */
void self_e_reader_stop(struct self_e_reader *r)
{
	struct self_e_vm *vm = r->vm;

	if (!r->active)
		return;
	if (vm) {
		spin_lock(&vm->lock);
		list_del_rcu(&r->node);
		spin_unlock(&vm->lock);
	} else {
		spin_lock(&all_vm_readers_lock);
		list_del_rcu(&r->node);
		spin_unlock(&all_vm_readers_lock);
	}
	/* Every hook that could still see the reader has left it. */
	synchronize_rcu();
	irq_work_sync(&r->wake_work);
	irq_work_sync(&r->overflow_work);

	if (vm)
		self_e_sample_reader_gone(r, vm);
	reader_drop_vms(r);
	self_e_kring_free(&r->ring);
	memset(&r->ring, 0, sizeof(r->ring));
	r->active = false;
	r->vm = NULL;
	r->line_len = r->line_off = 0;
	atomic_dec(&nr_readers);
	self_e_sources_put();
	if (vm)
		self_e_vm_put(vm);
}

void self_e_reader_free(struct self_e_reader *r)
{
	self_e_reader_stop(r);
	free_percpu(r->counts);
	kfree(r);
}

void self_e_reader_stats(struct self_e_reader *r, struct self_e_stats *st)
{
	int cpu, t;

	memset(st, 0, sizeof(*st));
	for_each_possible_cpu(cpu) {
		const struct self_e_counts *c = per_cpu_ptr(r->counts, cpu);

		for (t = 0; t < SELF_E_EV_MAX; t++)
			st->by_type[t] += READ_ONCE(c->by_type[t]);
	}
	for (t = 0; t < SELF_E_EV_MAX; t++)
		st->produced += st->by_type[t];
	st->dropped = self_e_kring_dropped(&r->ring);
}

/*
 * Whether a lane holds at least @watermark records (and one is published),
 * after re-arming wake-ups, so that a false answer is safe to sleep on.
 */
bool self_e_reader_readable(struct self_e_reader *r, u32 watermark)
{
	const struct self_e_ring_view *v = &r->ring.view;
	u32 lane;

	if (r->line_off < r->line_len)
		return true;
	clear_bit(SELF_E_READER_WAKE, &r->bits);
	smp_mb__after_atomic();	/* pairs with the smp_mb() in self_e_deliver() */
	for (lane = 0; lane < v->nr_lanes; lane++)
		if (self_e_ring_pending(v, lane) >= watermark &&
		    self_e_ring_peek(v, lane, self_e_ring_consumer_pos(v, lane)))
			return true;
	return false;
}

/* A reader of one VM ends once that VM's end has been delivered. */
bool self_e_reader_ended(struct self_e_reader *r)
{
	return r->vm && smp_load_acquire(&r->vm->ended);
}
