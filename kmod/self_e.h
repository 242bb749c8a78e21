/* SPDX-License-Identifier: GPL-2.0 */
/*
 * self_e.ko internals shared between its files.
 *
 *   self_e_main.c	init/exit: wires the parts together in order
 *   ksyms.c		finding unexported kernel symbols
 *   kring.c		a ring's kernel memory, its mmap
 *   vm.c		the VM registry: discovery, ids, memslot mirror, teardown
 *   reader.c		readers (open files): delivery into their rings, wake-ups
 *   deliver.h		delivery of one event, inline for the fault probe
 *   dev.c		/dev/self-e: read (text), ioctl, mmap, poll
 *   src_fault.c	event source: KVM MMU mappings (guest page faults)
 *   src_ksm.c		event source: KSM merges, zero-page merges, COW breaks, unmerges
 *   src_access.c	event source: access sampling through KVM's aging
 *   src_unmap.c	event source: host mappings of guest RAM going away
 *   sources.c		the sources' hooks armed only while somebody reads
 *   notify.c		deferred generic-netlink notifications
 *   netlink.c		the generic-netlink family
 */
#ifndef _SELF_E_INTERNAL_H
#define _SELF_E_INTERNAL_H

#include <linux/irq_work.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "uapi/self_e.h"
#include "self_e_ring.h"
#include "self_e_text.h"

struct kvm;
struct mm_struct;
struct self_e_sampler;
struct sk_buff;
struct vm_area_struct;

/* ---- ksyms.c ----------------------------------------------------------- */

int self_e_ksyms_init(void);
unsigned long self_e_lookup_symbol(const char *name);

/* ---- kring.c ----------------------------------------------------------- */

/* One ring's kernel memory: two vmalloc areas that user space maps. */
struct self_e_kring {
	struct self_e_ring_view view;
	struct self_e_ring_header *hdr;
	void *cons_area;		/* read-write for the consumer */
	void *ring_area;		/* read-only: header, producer states, records */
	size_t cons_size, ring_size;	/* page multiples */
};

int self_e_kring_alloc(struct self_e_kring *kr, u32 ring_bytes, u16 vm_id, u32 watermark);
void self_e_kring_free(struct self_e_kring *kr);
int self_e_kring_mmap(struct self_e_kring *kr, struct vm_area_struct *vma);
u64 self_e_kring_dropped(const struct self_e_kring *kr);

/* ---- vm.c -------------------------------------------------------------- */

struct self_e_slots {
	struct rcu_head rcu;
	u32 nr;
	struct self_e_memslot slot[];
};

struct self_e_vm {
	struct hlist_node hash_node;	/* in the registry's hash by kvm; RCU */
	struct kvm *kvm;		/* the key; not dereferenced once dead */
	struct hlist_node mm_node;	/* in the registry's hash by mm; RCU */
	const struct mm_struct *mm;	/* the VMM's mm: a key, never dereferenced */
	u16 id;
	pid_t pid;
	char comm[TASK_COMM_LEN];
	bool dead;			/* destroyed: hooks emit nothing more */
	bool ended;			/* VM_DESTROY delivered: readers reach EOF */
	refcount_t ref;			/* the registry's, plus one per reader */
	spinlock_t lock;		/* readers list and slots updates */
	struct list_head readers;	/* attached readers; RCU */
	struct self_e_slots __rcu *slots;
	u64 __percpu *events;		/* events offered to readers */
	struct self_e_sampler *sampler;	/* access sampling, while a reader asks; src_access.c */
	u32 sample_interval_ms, sample_budget;	/* what it samples with; 0: off */
	u64 sample_passes, sample_ns;	/* passes run, and their time */
	struct rcu_head rcu;
};

int self_e_vm_init(void);
void self_e_vm_exit(void);
struct self_e_vm *self_e_vm_find_rcu(const struct kvm *kvm);
struct self_e_vm *self_e_vm_get_by_id(u32 id);
struct self_e_vm *self_e_vm_get_by_pid(pid_t pid);
void self_e_vm_put(struct self_e_vm *vm);
u64 self_e_vm_hva(const struct self_e_vm *vm, u64 gfn);
bool self_e_mm_wanted(const struct mm_struct *mm);
void self_e_emit_hva(const struct mm_struct *mm, unsigned long hva,
		     const struct self_e_event *tmpl, const struct kvm *vcpu_kvm);
void self_e_emit_hva_range(const struct mm_struct *mm, unsigned long start, unsigned long end,
			   const struct self_e_event *tmpl);
int self_e_vm_copy_slots(struct self_e_vm *vm, struct self_e_memslot *out, u32 max);
u32 self_e_vm_nr_vcpus(struct self_e_vm *vm);
struct kvm *self_e_vm_get_kvm(struct self_e_vm *vm);

/* Calls fn for each live VM, in id order, from id @from on; stops when fn returns non-zero. */
int self_e_vm_for_each(u32 from, int (*fn)(struct self_e_vm *vm, void *arg), void *arg);

/* ---- reader.c ---------------------------------------------------------- */

enum self_e_reader_bits {
	SELF_E_READER_WAKE,		/* a wake-up is queued or the reader is awake */
	SELF_E_READER_OVERFLOW,		/* an overflow notification is queued */
};

struct self_e_counts {
	u64 by_type[SELF_E_EV_MAX];
};

struct self_e_reader {
	struct list_head node;		/* on vm->readers or the all-VMs list; RCU */
	struct self_e_vm *vm;		/* NULL: text reader of all VMs */
	struct xarray vms;		/* all-VMs reader: id -> VM it holds for its lines */
	bool active;			/* has a ring and receives events */
	/*
	 * The ring may be mapped: set (release) once it is handed to user
	 * space, never cleared while the file is open. mmap() runs under
	 * mmap_lock and so must not take @lock, which read() and ioctl()
	 * hold while they fault on user memory (mmap_lock): it reads this.
	 */
	bool mappable;
	u64 mask;			/* SELF_E_EVENT_MASK bits wanted */
	u32 watermark;
	struct self_e_kring ring;
	struct self_e_counts __percpu *counts;	/* events offered, per type */
	unsigned long bits;		/* enum self_e_reader_bits */
	unsigned long overflow_next;	/* jiffies: no overflow notice before */
	struct irq_work wake_work;
	struct irq_work overflow_work;
	wait_queue_head_t wait;
	struct mutex lock;		/* serialises read/ioctl/mmap of this reader */
	char line[SELF_E_TEXT_MAX];	/* a line read() has only partly copied */
	unsigned int line_len, line_off;
	u32 sample_ms, sample_budget;	/* access sampling asked for; 0: none */
	struct rcu_head rcu;
};

struct self_e_reader *self_e_reader_new(void);
void self_e_reader_free(struct self_e_reader *r);
int self_e_reader_start(struct self_e_reader *r, struct self_e_vm *vm, u32 ring_bytes,
			u32 watermark);
void self_e_reader_stop(struct self_e_reader *r);
void self_e_reader_stats(struct self_e_reader *r, struct self_e_stats *st);
bool self_e_reader_readable(struct self_e_reader *r, u32 watermark);
bool self_e_reader_ended(struct self_e_reader *r);

/*
 * Hand an event to every reader of @vm and every all-VMs reader, the event in
 * registers (self_e_ring.h: its tag, then ts_ns, gfn, arg). Any context,
 * inside an RCU read-side section (rcu_read_lock(), or preemption off as in
 * a tracepoint probe or kprobe handler): the hooks on the fault path are
 * already in one and should not pay for another.
 */
void self_e_emit_tagged(struct self_e_vm *vm, u64 tag, u64 ts_ns, u64 gfn, u64 arg);

/* The same, from an event in memory; @ev->seq is ignored. */
static inline void self_e_emit(struct self_e_vm *vm, const struct self_e_event *ev)
{
	self_e_emit_tagged(vm, self_e_event_tag_of(ev), ev->ts_ns, ev->gfn, ev->arg);
}

extern struct list_head self_e_all_vm_readers;

/* Whether anyone reads @vm's events: hooks skip all their work when not. */
static inline bool self_e_vm_wanted(const struct self_e_vm *vm)
{
	return !list_empty(&vm->readers) || !list_empty(&self_e_all_vm_readers);
}
/* Let every all-VMs reader hold a new @vm until it reads the VM's end. Any context. */
void self_e_readers_hold_vm(struct self_e_vm *vm);
/* The VM of @id for one of @r's lines, or NULL; valid while r->lock is held. */
struct self_e_vm *self_e_reader_vm(struct self_e_reader *r, u16 id);
/* @r has read the end of VM @id: let go of it. */
void self_e_reader_vm_ended(struct self_e_reader *r, u16 id);
/* Wake every reader of @vm, e.g. to see its end. */
void self_e_kick_vm_readers(struct self_e_vm *vm);
u32 self_e_nr_readers(void);

/* ---- dev.c ------------------------------------------------------------- */

int self_e_dev_init(void);
void self_e_dev_exit(void);

/* ---- src_fault.c ------------------------------------------------------- */

int self_e_fault_init(void);
void self_e_fault_exit(void);
int self_e_fault_arm(void);
void self_e_fault_disarm(void);

/* ---- src_ksm.c --------------------------------------------------------- */

int self_e_ksm_init(void);
void self_e_ksm_exit(void);
int self_e_ksm_arm(void);
void self_e_ksm_disarm(void);

/* ---- src_unmap.c ----------------------------------------------------- */

int self_e_unmap_init(void);
void self_e_unmap_exit(void);
int self_e_unmap_arm(void);
void self_e_unmap_disarm(void);

/* ---- sources.c ------------------------------------------------------- */

/* Arm the sources' hooks for a reader that starts; let go when it stops. Sleep. */
int self_e_sources_get(void);
void self_e_sources_put(void);

/* ---- src_access.c ---------------------------------------------------- */

int self_e_access_init(void);
void self_e_access_exit(void);
int self_e_sample_set(struct self_e_reader *r, struct self_e_sampling *req);
void self_e_sample_reader_gone(struct self_e_reader *r, struct self_e_vm *vm);

/* ---- notify.c / netlink.c ---------------------------------------------- */

void self_e_notify_vm(u8 cmd, struct self_e_vm *vm);
void self_e_notify_memslot(struct self_e_vm *vm, const struct self_e_memslot *slot, u8 change);
void self_e_notify_overflow(u16 vm_id, u64 dropped);
int self_e_notify_init(void);
void self_e_notify_exit(void);

int self_e_netlink_init(void);
void self_e_netlink_exit(void);
int self_e_netlink_multicast(struct sk_buff *skb);
struct sk_buff *self_e_netlink_new(u8 cmd, void **hdr);
int self_e_netlink_put_slot(struct sk_buff *skb, const struct self_e_memslot *s);

static inline u64 self_e_now(void)
{
	return ktime_get_mono_fast_ns();
}

#endif /* _SELF_E_INTERNAL_H */
