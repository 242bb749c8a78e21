/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The SELF-e event ring: one algorithm, compiled into the module (kernel
 * atomics) and into user space (the GCC/Clang __atomic builtins, which are
 * the C11/C++11 memory model), so that the user-space tests exercise the very
 * code the kernel runs. Layout and field meanings are in uapi/self_e.h.
 *
 * Shape: a ring is nr_lanes lanes; each lane is an array of 2^order fixed
 * size records with free-running 64-bit positions. Producers (kernel hooks)
 * reserve a position with a compare-and-swap on the lane's head, fill the
 * record, then publish it by storing its seq last. The one consumer reads
 * records in position order and publishes how far it got in its tail.
 *
 * Producers never sleep and never take a lock. A producer interrupted in the
 * middle of a record by another producer on the same lane (an IRQ on the same
 * CPU) is safe: the interrupting one reserves the next position and publishes
 * its record; the consumer stops at the unpublished one until it is done.
 * Producers on different lanes touch disjoint cache lines, so many CPUs
 * scale; producers sharing a lane are still correct, only slower.
 *
 * Overflow: a producer that finds its lane full drops its event and counts it
 * (dropped, lost_pending). The next producer that gets room first writes a
 * LOST record carrying the count, then its own record, so the consumer sees
 * where events were lost and how many. Invariant, at any quiescent point:
 *	sum(LOST.arg) + lost_pending == dropped
 *	events offered == head - lost_records + dropped
 *
 * Publication (seq): the record at position p carries seq = (p >> order) + 1
 * (mod 2^16). The stale record in the same slot is from position p - 2^order,
 * whose seq differs by one, and a zeroed slot (seq 0) is never current for the
 * first lap, so "seq matches" means "published for this position".
 *
 * Memory ordering, as acquire/release pairs:
 *  [P1] producer: store_release(rec->seq)		pairs with [C1]
 *	all stores to the record happen before the consumer sees seq match.
 *  [C1] consumer: load_acquire(rec->seq)		pairs with [P1]
 *	no load of the record happens before seq is seen to match.
 *  [C2] consumer: store_release(cons->tail)		pairs with [P2]
 *	the consumer's loads of records happen before the slots are reused.
 *  [P2] producer: load_acquire(cons->tail)		pairs with [C2]
 *	no store into a slot happens before the consumer released it.
 *  [P4] producer: store_release(prod->tail_cache)	pairs with [P3]
 *  [P3] producer: load_acquire(prod->tail_cache)	pairs with [P4]
 *	a tail another producer acquired by [P2] is passed on with its
 *	ordering, so [C2] -> [P2] -> [P4] -> [P3] still orders slot reuse.
 *	A stale cached tail only makes the lane look fuller than it is.
 * The head CAS needs no ordering of its own: reservations are only
 * arbitrated by it; the record itself is published by [P1].
 */
#ifndef _SELF_E_RING_H
#define _SELF_E_RING_H

#ifdef __KERNEL__
#include <linux/compiler.h>
#include <linux/atomic.h>
#include <asm/barrier.h>
#include "uapi/self_e.h"

#define self_e_read_once(x)		READ_ONCE(x)
#define self_e_write_once(x, v)		WRITE_ONCE(x, v)
#define self_e_load_acquire(p)		smp_load_acquire(p)
#define self_e_store_release(p, v)	smp_store_release(p, v)
#define self_e_try_cmpxchg(p, oldp, v)	try_cmpxchg(p, oldp, v)
#define self_e_xchg(p, v)		xchg(p, v)
#define self_e_unlikely(x)		unlikely(x)
#define self_e_always_inline		__always_inline
#else
#include <stddef.h>
#include "uapi/self_e.h"

#define self_e_read_once(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define self_e_write_once(x, v)		__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define self_e_load_acquire(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define self_e_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define self_e_try_cmpxchg(p, oldp, v)	\
	__atomic_compare_exchange_n((p), (oldp), (v), 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)
#define self_e_xchg(p, v)		__atomic_exchange_n((p), (v), __ATOMIC_RELAXED)
#define self_e_unlikely(x)		__builtin_expect(!!(x), 0)
#define self_e_always_inline		inline __attribute__((__always_inline__))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Where one ring's parts live, as seen by one side (kernel or user). */
struct self_e_ring_view {
	struct self_e_lane_prod *prod;	/* nr_lanes entries */
	struct self_e_lane_cons *cons;	/* nr_lanes entries */
	struct self_e_event *data;	/* nr_lanes << lane_order records */
	__u32 nr_lanes;
	__u32 lane_order;
	__u16 vm_id;			/* stamped on LOST records */
};

/* Bytes of each part of a ring with these dimensions. */
static inline __u64 self_e_ring_data_bytes(__u32 nr_lanes, __u32 lane_order)
{
	return ((__u64)nr_lanes << lane_order) * sizeof(struct self_e_event);
}

static inline __u16 self_e_ring_seq(__u64 pos, __u32 lane_order)
{
	return (__u16)((pos >> lane_order) + 1);
}

static inline struct self_e_event *
self_e_ring_slot(const struct self_e_ring_view *v, __u32 lane, __u64 pos)
{
	__u64 mask = (1ULL << v->lane_order) - 1;

	return &v->data[((__u64)lane << v->lane_order) + (pos & mask)];
}

/* Add to a counter that producers on the same lane may also be changing. */
static inline void self_e_ring_count(__u64 *counter, __u64 n)
{
	__u64 old = self_e_read_once(*counter);

	while (!self_e_try_cmpxchg(counter, &old, old + n))
		;
}

/* ---- producer side ------------------------------------------------------ */

/*
 * The producer's steps are always inlined into the hook that runs them: out
 * of line, the reservation's position goes through the stack, and with it
 * comes a stack canary, on every guest fault.
 */

/**
 * self_e_ring_reserve() - reserve the next record of a lane.
 * @v:    the ring
 * @lane: the producer's lane (its CPU, modulo nr_lanes)
 * @ts:   the event's timestamp, also given to a LOST record written first
 * @pos:  out: the position to pass to self_e_ring_commit()
 *
 * Return: the record to fill (all fields but seq), or NULL when the lane is
 * full; the event is then counted as dropped and must not be written.
 */
static self_e_always_inline struct self_e_event *
self_e_ring_reserve(const struct self_e_ring_view *v, __u32 lane, __u64 ts,
		    __u64 *pos)
{
	struct self_e_lane_prod *p = &v->prod[lane];
	__u64 cap = 1ULL << v->lane_order;
	__u64 head, tail, lost = 0, need;

	/* Claim the pending loss count, so only one producer reports it. */
	if (self_e_unlikely(self_e_read_once(p->lost_pending)))
		lost = self_e_xchg(&p->lost_pending, 0);
	need = lost ? 2 : 1;

	head = self_e_read_once(p->head);
	do {
		/*
		 * Look at the consumer's line only when the tail seen last
		 * says the lane is full: it is written on another CPU.
		 * Unsigned: a tail beyond head (garbage) also reads as full.
		 */
		tail = self_e_load_acquire(&p->tail_cache);		/* [P3] */
		if (head - tail > cap - need) {
			tail = self_e_load_acquire(&v->cons[lane].tail);	/* [P2] */
			if (head - tail > cap - need) {
				self_e_ring_count(&p->lost_pending, lost + 1);
				self_e_ring_count(&p->dropped, 1);
				return NULL;
			}
			self_e_store_release(&p->tail_cache, tail);	/* [P4] */
		}
	} while (!self_e_try_cmpxchg(&p->head, &head, head + need));

	if (lost) {
		struct self_e_event *m = self_e_ring_slot(v, lane, head);

		m->type = SELF_E_EV_LOST;
		m->flags = 0;
		m->vcpu = SELF_E_VCPU_NONE;
		m->vm_id = v->vm_id;
		m->ts_ns = ts;
		m->gfn = SELF_E_GFN_NONE;
		m->arg = lost;
		self_e_ring_count(&p->lost_records, 1);
		self_e_store_release(&m->seq, self_e_ring_seq(head, v->lane_order)); /* [P1] */
		head++;
	}
	*pos = head;
	return self_e_ring_slot(v, lane, head);
}

/* Publish a record filled after self_e_ring_reserve(). */
static inline void self_e_ring_commit(const struct self_e_ring_view *v,
				      struct self_e_event *rec, __u64 pos)
{
	self_e_store_release(&rec->seq, self_e_ring_seq(pos, v->lane_order)); /* [P1] */
}

/*
 * An event in registers: its tag (type | flags << 8 | vcpu << 16 |
 * vm_id << 32), ts_ns, gfn and arg. Hot producers pass these four words down
 * instead of a struct on their stack, and the record is stored straight from
 * them (the compiler merges the tag's four stores into two).
 */
static inline __u64 self_e_event_tag(__u8 type, __u8 flags, __u16 vcpu, __u16 vm_id)
{
	return type | (__u64)flags << 8 | (__u64)vcpu << 16 | (__u64)vm_id << 32;
}

static inline __u64 self_e_event_tag_of(const struct self_e_event *ev)
{
	return self_e_event_tag(ev->type, ev->flags, ev->vcpu, ev->vm_id);
}

static inline __u8 self_e_event_tag_type(__u64 tag)
{
	return (__u8)tag;
}

/*
 * Store one event into a lane: reserve, fill, commit.
 * Return: the record's position plus one (so the lane's records up to it are
 * that minus the consumer's position), or 0 when the event was dropped.
 */
static self_e_always_inline __u64
self_e_ring_produce_tagged(const struct self_e_ring_view *v, __u32 lane,
			   __u64 tag, __u64 ts_ns, __u64 gfn, __u64 arg)
{
	struct self_e_event *rec;
	__u64 pos;

	rec = self_e_ring_reserve(v, lane, ts_ns, &pos);
	if (!rec)
		return 0;
	rec->type = (__u8)tag;
	rec->flags = (__u8)(tag >> 8);
	rec->vcpu = (__u16)(tag >> 16);
	rec->vm_id = (__u16)(tag >> 32);
	rec->ts_ns = ts_ns;
	rec->gfn = gfn;
	rec->arg = arg;
	self_e_ring_commit(v, rec, pos);
	return pos + 1;
}

/*
 * Copy one event into a lane. @ev->seq is ignored.
 * Return: 0, or -1 when the event was dropped.
 */
static inline int self_e_ring_produce(const struct self_e_ring_view *v, __u32 lane,
				      const struct self_e_event *ev)
{
	return self_e_ring_produce_tagged(v, lane, self_e_event_tag_of(ev), ev->ts_ns,
					  ev->gfn, ev->arg) ? 0 : -1;
}

/* ---- consumer side (one consumer per ring) ------------------------------ */

/* The consumer's position in a lane; only the consumer changes it. */
static inline __u64 self_e_ring_consumer_pos(const struct self_e_ring_view *v, __u32 lane)
{
	return self_e_read_once(v->cons[lane].tail);
}

/* The record at @pos if it is published, else NULL. Nothing is copied. */
static inline const struct self_e_event *
self_e_ring_peek(const struct self_e_ring_view *v, __u32 lane, __u64 pos)
{
	const struct self_e_event *rec = self_e_ring_slot(v, lane, pos);

	if (self_e_load_acquire(&rec->seq) != self_e_ring_seq(pos, v->lane_order)) /* [C1] */
		return NULL;
	return rec;
}

/* Hand every record before @pos back to the producers. */
static inline void self_e_ring_release(const struct self_e_ring_view *v, __u32 lane, __u64 pos)
{
	self_e_store_release(&v->cons[lane].tail, pos);		/* [C2] */
}

/* Records published or being written in a lane and not yet consumed. */
static inline __u64 self_e_ring_pending(const struct self_e_ring_view *v, __u32 lane)
{
	return self_e_read_once(v->prod[lane].head) - self_e_read_once(v->cons[lane].tail);
}

#ifdef __cplusplus
}
#endif

#endif /* _SELF_E_RING_H */
