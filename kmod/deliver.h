/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Delivery of one event into its readers' rings (reader.c tells the whole
 * story: lanes, the wake-up handshake, overflow notices). Here, inline, so
 * that the guest fault probe, which runs on every fault, makes no call of
 * its own for it; everyone else calls self_e_emit_tagged().
 */
#ifndef _SELF_E_DELIVER_H
#define _SELF_E_DELIVER_H

#include <linux/irq_work.h>
#include <linux/jiffies.h>
#include <linux/rculist.h>

#include "self_e.h"

static __always_inline void
self_e_deliver(struct self_e_reader *r, u64 tag, u64 ts_ns, u64 gfn, u64 arg)
{
	/* A copy the compiler keeps in registers across the ring's atomics. */
	const struct self_e_ring_view view = r->ring.view, *v = &view;
	u8 type = self_e_event_tag_type(tag);
	/* A ring has a lane per possible CPU id (kring.c). */
	u32 lane = raw_smp_processor_id();
	u64 end;

	if (!(READ_ONCE(r->mask) & SELF_E_EVENT_MASK(type)))
		return;
	this_cpu_inc(r->counts->by_type[type]);

	end = self_e_ring_produce_tagged(v, lane, tag, ts_ns, gfn, arg);
	if (!end) {
		if (time_after_eq(jiffies, READ_ONCE(r->overflow_next)) &&
		    !test_and_set_bit(SELF_E_READER_OVERFLOW, &r->bits))
			irq_work_queue(&r->overflow_work);
		return;
	}
	smp_mb();	/* the commit before the WAKE test; pairs with self_e_reader_readable() */
	/* Records up to this one: a producer that interrupted us checks its own. */
	if (end - self_e_ring_consumer_pos(v, lane) >= r->watermark &&
	    !test_bit(SELF_E_READER_WAKE, &r->bits) &&
	    !test_and_set_bit(SELF_E_READER_WAKE, &r->bits))
		irq_work_queue(&r->wake_work);
}

static __always_inline void
self_e_emit_inline(struct self_e_vm *vm, u64 tag, u64 ts_ns, u64 gfn, u64 arg)
{
	struct self_e_reader *r;

	RCU_LOCKDEP_WARN(!rcu_read_lock_any_held(), "self_e_emit() outside an RCU read-side section");
	if (READ_ONCE(vm->dead) && self_e_event_tag_type(tag) != SELF_E_EV_VM_DESTROY)
		return;
	this_cpu_inc(*vm->events);
	list_for_each_entry_rcu(r, &vm->readers, node)
		self_e_deliver(r, tag, ts_ns, gfn, arg);
	list_for_each_entry_rcu(r, &self_e_all_vm_readers, node)
		self_e_deliver(r, tag, ts_ns, gfn, arg);
}

#endif /* _SELF_E_DELIVER_H */
