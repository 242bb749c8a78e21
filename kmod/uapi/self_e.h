/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * SELF-e user-space ABI: the one definition of everything that crosses the
 * kernel/user boundary. The module (kmod/) and libself both include this
 * file; nothing else may redefine what is here.
 *
 *  1. event records (fixed 32 bytes) and event types
 *  2. the mmap layout of a per-VM ring (the algorithm is in self_e_ring.h)
 *  3. ioctls on /dev/self-e
 *  4. the generic-netlink family
 *
 * Units and conventions: timestamps are CLOCK_MONOTONIC nanoseconds; gfns and
 * pfns are 4 KiB frame numbers; VM ids are small integers (1..65535) that the
 * module gives a VM for its whole life and does not reuse while it lives.
 */
#ifndef _UAPI_SELF_E_H
#define _UAPI_SELF_E_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define SELF_E_ABI_VERSION	1
#define SELF_E_DEVICE_NAME	"self-e"	/* /dev/self-e */

/* ------------------------------------------------------------------------ */
/* 1. Events                                                                  */
/* ------------------------------------------------------------------------ */

enum self_e_event_type {
	SELF_E_EV_NONE		= 0,	/* never seen in a committed record */
	/* arg = number of events this lane dropped just before this record */
	SELF_E_EV_LOST		= 1,
	/* arg = pid of the process that owns the VM */
	SELF_E_EV_VM_CREATE	= 2,
	/* last event of a VM; nothing follows it for that vm_id */
	SELF_E_EV_VM_DESTROY	= 3,
	/*
	 * A memslot changed. gfn = base gfn, arg = number of pages,
	 * vcpu = slot id | (address space << 15), flags = SELF_E_MEMSLOT_*.
	 * The slot's host virtual address comes with SELF_E_IOC_GET_VM.
	 */
	SELF_E_EV_MEMSLOT	= 4,
	/*
	 * KVM mapped a guest page on a fault: gfn, arg = host pfn, vcpu, flags.
	 * For a 2M/1G mapping (flags level), gfn and arg are the first gfn and
	 * the first pfn of the huge mapping (KVM maps it whole).
	 */
	SELF_E_EV_FAULT		= 5,
	/* the page at gfn now maps KSM page arg (SELF_E_F_KSM_NEW: it became it) */
	SELF_E_EV_KSM_MERGE	= 6,
	/* the page at gfn was merged with the zero page (use_zero_pages); arg = zero pfn */
	SELF_E_EV_KSM_ZERO	= 7,
	/* a write gave gfn a private copy of KSM page arg again */
	SELF_E_EV_COW_BREAK	= 8,
	/* gfn left KSM page arg by MADV_UNMERGEABLE or KSM run=2 */
	SELF_E_EV_UNMERGE	= 9,
	/*
	 * The host pages of gfns [gfn, gfn + arg) went away: munmap,
	 * MADV_DONTNEED/REMOVE (balloons, virtio-mem), truncation of the memory
	 * behind them, the OOM reaper, the VMM's exit. arg = number of pages.
	 */
	SELF_E_EV_UNMAP		= 10,
	/*
	 * KSM dropped KSM page arg, which gfn had mapped: the page was freed
	 * (its last mapping went) and KSM, noticing it, took gfn off its
	 * books (/proc/PID/ksm_merging_pages drops here). One per gfn whose
	 * leave KSM had not processed yet; normally its cow_break, unmerge or
	 * unmap came before. A KSM page KSM had no mapper left on gives none.
	 */
	SELF_E_EV_KSM_FREE	= 11,
	/* the KSM page gfn maps moved to pfn arg */
	SELF_E_EV_KSM_MIGRATE	= 12,
	/*
	 * Access sampling (SELF_E_IOC_SET_SAMPLING): pages of a block of up to
	 * 64 that the guest accessed since the previous pass. gfn = the block's
	 * first gfn, arg = bitmap (bit i: gfn + i). Blocks start at the first
	 * gfn of the range their SELF_E_EV_SAMPLE record names, every 64 pages;
	 * only blocks with an access are sent, before that record.
	 */
	SELF_E_EV_ACCESS	= 13,
	/*
	 * One range of a sampling pass: gfn = first gfn, arg = pages sampled.
	 * Pages of the range with no bit in the ACCESS records before it were
	 * not accessed since the previous pass. flags = SELF_E_F_SAMPLE_*.
	 */
	SELF_E_EV_SAMPLE	= 14,
	SELF_E_EV_MAX			/* number of types; must stay <= 64 (event masks) */
};

/* flags of SELF_E_EV_FAULT */
#define SELF_E_F_WRITE		0x01	/* the access was a write */
#define SELF_E_F_EXEC		0x02	/* the access was an instruction fetch */
#define SELF_E_F_WRITABLE	0x04	/* the mapping KVM installed is writable */
#define SELF_E_F_PREFETCH	0x08	/* prefetched by KVM, not touched by the guest */
#define SELF_E_F_LEVEL_SHIFT	4	/* mapping level: 0 = 4K, 1 = 2M, 2 = 1G */
#define SELF_E_F_LEVEL_MASK	0x30
#define SELF_E_F_SMM		0x40	/* the gfn is in the SMM address space (all gfn events) */
/* flags of SELF_E_EV_KSM_MERGE */
#define SELF_E_F_KSM_NEW	0x01	/* this page became the KSM page (not joined) */
/* flags of SELF_E_EV_SAMPLE */
#define SELF_E_F_SAMPLE_END	0x01	/* the last range of its pass */
#define SELF_E_F_SAMPLE_PARTIAL	0x02	/* the pass covered part of guest RAM (budget) */
#define SELF_E_F_SAMPLE_COARSE	0x04	/* some accesses are known per 2 MiB block only */
/* flags of SELF_E_EV_MEMSLOT */
#define SELF_E_MEMSLOT_CREATE	0
#define SELF_E_MEMSLOT_DELETE	1
#define SELF_E_MEMSLOT_MOVE	2
#define SELF_E_MEMSLOT_FLAGS	3

#define SELF_E_VCPU_NONE	0xffffU		/* event not caused by a vCPU */
#define SELF_E_GFN_NONE		(~0ULL)		/* event not about one gfn */

/*
 * One event: 32 bytes, naturally aligned, two to a cache line.
 *
 * @seq belongs to the ring, not the event: the producer stores it last, with
 * release semantics, to publish the record (see self_e_ring.h). The host
 * virtual address of a gfn is not stored: it follows from the VM's memslots
 * (SELF_E_IOC_GET_VM), which the module reports as they change.
 */
struct self_e_event {
	__u16 seq;		/* ring commit word */
	__u8  type;		/* enum self_e_event_type */
	__u8  flags;		/* SELF_E_F_* by type */
	__u16 vcpu;		/* vCPU id or SELF_E_VCPU_NONE */
	__u16 vm_id;		/* SELF-e VM id */
	__u64 ts_ns;		/* CLOCK_MONOTONIC */
	__u64 gfn;		/* guest frame number or SELF_E_GFN_NONE */
	__u64 arg;		/* by type: host pfn, KSM pfn, count, bitmap */
};

#define SELF_E_EVENT_MASK(type)	(1ULL << (type))
#define SELF_E_EVENT_MASK_ALL	((1ULL << SELF_E_EV_MAX) - 1)

/* ------------------------------------------------------------------------ */
/* 2. Ring layout in memory (and in the two mmap areas of an attached VM)     */
/* ------------------------------------------------------------------------ */

/*
 * A ring is split into nr_lanes lanes of (1 << lane_order) records; a producer
 * writes into the lane of the CPU it runs on, so CPUs never share a cache
 * line. Lanes are ordered in themselves; across lanes, order by ts_ns.
 *
 * It is mapped in two areas (offsets and sizes come from SELF_E_IOC_ATTACH):
 *  - the consumer area, read-write: one struct self_e_lane_cons per lane;
 *  - the ring area, read-only: struct self_e_ring_header at offset 0, the
 *    producer states at prod_offset, the records at data_offset (lane i at
 *    data_offset + (i << lane_order) * sizeof(struct self_e_event)).
 * Only the consumer's own positions are writable, so a consumer that writes
 * garbage there can make the kernel drop events but not write outside the
 * ring nor change the counts it keeps.
 */
#define SELF_E_RING_MAGIC	0x53454c46U	/* "SELF" */

struct self_e_ring_header {
	__u32 magic;		/* SELF_E_RING_MAGIC */
	__u16 abi_version;	/* SELF_E_ABI_VERSION */
	__u16 record_size;	/* sizeof(struct self_e_event) */
	__u32 nr_lanes;
	__u32 lane_order;	/* log2(records per lane) */
	__u64 prod_offset;	/* from the start of the ring area */
	__u64 data_offset;	/* from the start of the ring area */
	__u32 vm_id;		/* VM this ring belongs to; 0 for "all VMs" */
	__u32 watermark;	/* records in a lane that make poll() wake */
	__u64 reserved[4];
};

/* Written by producers only; one cache line per lane. */
struct self_e_lane_prod {
	__u64 head;		/* next position to reserve */
	__u64 dropped;		/* events dropped because the lane was full */
	__u64 lost_pending;	/* dropped, not yet reported by a LOST record */
	__u64 lost_records;	/* LOST records written */
	__u64 tail_cache;	/* a consumer tail producers saw; never ahead of it */
	__u64 reserved[3];
};

/* Written by the consumer only. */
struct self_e_lane_cons {
	__u64 tail;		/* next position to read */
};

/* ------------------------------------------------------------------------ */
/* 3. ioctls on /dev/self-e                                                   */
/* ------------------------------------------------------------------------ */

#define SELF_E_IOC_MAGIC	0xE5

/*
 * Attach this open file to one VM and give it a ring of its own. Every reader
 * attached to a VM gets every event of that VM. One attach per open file.
 */
#define SELF_E_ATTACH_BY_PID	0x1	/* pick the VM by owning pid, not vm_id */

struct self_e_attach {
	__u32 flags;		/* in: SELF_E_ATTACH_* */
	__u32 vm_id;		/* in (unless BY_PID), out */
	__u32 pid;		/* in with BY_PID, out */
	__u32 ring_bytes;	/* in: record bytes wanted (0: default), out: actual */
	__u64 event_mask;	/* in: SELF_E_EVENT_MASK() bits, 0 = all */
	__u32 watermark;	/* in: records per lane that wake poll (0: 1) */
	__u32 nr_lanes;		/* out */
	__u32 lane_order;	/* out */
	__u32 reserved0;
	__u64 cons_offset;	/* out: mmap offset of the consumer area (rw) */
	__u64 cons_size;	/* out */
	__u64 ring_offset;	/* out: mmap offset of the ring area (ro) */
	__u64 ring_size;	/* out */
	__u64 reserved[4];	/* must be zero */
};

struct self_e_stats {
	__u64 produced;		/* events offered to this reader (kept + dropped) */
	__u64 dropped;		/* events lost because the ring was full */
	__u64 by_type[SELF_E_EV_MAX];	/* events offered, per type */
	__u64 reserved[2];
};

struct self_e_memslot {
	__u64 base_gfn;
	__u64 npages;
	__u64 hva;		/* host virtual address of base_gfn */
	__u32 id;		/* slot id | (address space << 15) */
	__u32 flags;		/* KVM_MEM_* */
};

/*
 * Describe one VM. in: vm_id, nr_slots (room at slots_ptr);
 * out: pid, nr_slots (slots the VM has; only min(in, out) are copied).
 */
struct self_e_vm_info {
	__u32 vm_id;
	__u32 pid;
	__u32 nr_vcpus;
	__u32 nr_slots;
	__u64 slots_ptr;	/* user pointer to struct self_e_memslot[] */
	__u64 reserved[2];
};

/*
 * Access sampling of the attached VM: every interval_ms, the module asks KVM
 * which guest pages were accessed since the last pass (the accessed bits of
 * KVM's own page tables, as the host's reclaim does) and sends the answer as
 * SELF_E_EV_ACCESS and SELF_E_EV_SAMPLE records. A pass looks at most
 * budget_pages pages; a VM with more guest RAM is covered over several passes
 * (SELF_E_F_SAMPLE_PARTIAL). The VM is sampled while a reader asks for it, at
 * the shortest interval and the largest budget its readers ask for.
 * in: interval_ms (0: stop; else SELF_E_SAMPLE_MIN_MS..SELF_E_SAMPLE_MAX_MS),
 * budget_pages (0: SELF_E_SAMPLE_DEFAULT_BUDGET; at most SELF_E_SAMPLE_MAX_BUDGET).
 * out: the values the VM is sampled with now.
 */
#define SELF_E_SAMPLE_MIN_MS		10
#define SELF_E_SAMPLE_MAX_MS		3600000
#define SELF_E_SAMPLE_DEFAULT_BUDGET	(1U << 18)	/* 1 GiB of guest RAM a pass */
#define SELF_E_SAMPLE_MAX_BUDGET	(1U << 26)	/* 256 GiB */

struct self_e_sampling {
	__u32 interval_ms;
	__u32 budget_pages;
	__u64 reserved[2];	/* must be zero */
};

#define SELF_E_IOC_ATTACH	_IOWR(SELF_E_IOC_MAGIC, 1, struct self_e_attach)
#define SELF_E_IOC_SET_MASK	_IOW(SELF_E_IOC_MAGIC, 2, __u64)
#define SELF_E_IOC_GET_STATS	_IOR(SELF_E_IOC_MAGIC, 3, struct self_e_stats)
#define SELF_E_IOC_GET_VM	_IOWR(SELF_E_IOC_MAGIC, 4, struct self_e_vm_info)
#define SELF_E_IOC_SET_SAMPLING	_IOWR(SELF_E_IOC_MAGIC, 5, struct self_e_sampling)

/* ------------------------------------------------------------------------ */
/* 4. Generic netlink                                                         */
/* ------------------------------------------------------------------------ */

#define SELF_E_GENL_NAME	"self_e"
#define SELF_E_GENL_VERSION	1
#define SELF_E_GENL_MCGRP	"events"	/* VM create/destroy, memslots, overflow */

enum self_e_genl_cmd {
	SELF_E_CMD_UNSPEC,
	SELF_E_CMD_LIST_VMS,	/* dump: one message per VM (SELF_E_A_VM_ID: only that one) */
	SELF_E_CMD_GET_STATS,	/* module-wide counters, or one VM's with SELF_E_A_VM_ID */
	SELF_E_CMD_VM_NEW,	/* notification */
	SELF_E_CMD_VM_DEL,	/* notification */
	SELF_E_CMD_MEMSLOT,	/* notification */
	SELF_E_CMD_OVERFLOW,	/* notification: a reader's ring dropped events */
	__SELF_E_CMD_MAX,
};
#define SELF_E_CMD_MAX (__SELF_E_CMD_MAX - 1)

enum self_e_genl_attr {
	SELF_E_A_UNSPEC,
	SELF_E_A_VM_ID,		/* u32 */
	SELF_E_A_PID,		/* u32 */
	SELF_E_A_COMM,		/* string */
	SELF_E_A_NR_VCPUS,	/* u32 */
	SELF_E_A_MEMSLOTS,	/* nest of SELF_E_A_MEMSLOT */
	SELF_E_A_MEMSLOT,	/* nest of SELF_E_SLOT_A_* */
	SELF_E_A_EVENTS,	/* u64: events produced for this VM */
	SELF_E_A_DROPPED,	/* u64 */
	SELF_E_A_READERS,	/* u32: readers attached */
	SELF_E_A_PAD,
	SELF_E_A_NR_VMS,	/* u32: VMs tracked (GET_STATS without a VM id) */
	SELF_E_A_CHANGE,	/* u8: SELF_E_MEMSLOT_* of a MEMSLOT notification */
	SELF_E_A_SAMPLE_INTERVAL_MS,	/* u32: access sampling interval, 0 = off */
	SELF_E_A_SAMPLE_BUDGET,	/* u32: pages per sampling pass */
	SELF_E_A_SAMPLE_PASSES,	/* u64: sampling passes run */
	SELF_E_A_SAMPLE_NS,	/* u64: time those passes took */
	__SELF_E_A_MAX,
};
#define SELF_E_A_MAX (__SELF_E_A_MAX - 1)

enum self_e_genl_slot_attr {
	SELF_E_SLOT_A_UNSPEC,
	SELF_E_SLOT_A_ID,	/* u32: slot id | (address space << 15) */
	SELF_E_SLOT_A_BASE_GFN,	/* u64 */
	SELF_E_SLOT_A_NPAGES,	/* u64 */
	SELF_E_SLOT_A_HVA,	/* u64 */
	SELF_E_SLOT_A_FLAGS,	/* u32 */
	SELF_E_SLOT_A_PAD,
	__SELF_E_SLOT_A_MAX,
};
#define SELF_E_SLOT_A_MAX (__SELF_E_SLOT_A_MAX - 1)

#endif /* _UAPI_SELF_E_H */
