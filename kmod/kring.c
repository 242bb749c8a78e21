// SPDX-License-Identifier: GPL-2.0
/*
 * A ring's kernel memory. Two vmalloc areas, so that user space can map the
 * consumer positions read-write and everything the producers write
 * read-only (uapi/self_e.h, section 2):
 *
 *   consumer area	struct self_e_lane_cons[nr_lanes]
 *   ring area		struct self_e_ring_header, then struct self_e_lane_prod[nr_lanes]
 *			at prod_offset, then the records at data_offset (page aligned)
 *
 * In the mmap offset space the consumer area is at 0 and the ring area right
 * after it, at cons_size.
 */
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <linux/version.h>

#include "self_e.h"

#define SELF_E_DEFAULT_LANE_RECORDS	2048	/* 64 KiB of records per CPU */
#define SELF_E_MIN_LANE_ORDER		2	/* room for a LOST record and an event */
#define SELF_E_MAX_LANE_ORDER		20	/* 32 MiB per lane */

int self_e_kring_alloc(struct self_e_kring *kr, u32 ring_bytes, u16 vm_id, u32 watermark)
{
	u32 nr_lanes = nr_cpu_ids, order;
	u64 per_lane;

	if (ring_bytes) {
		per_lane = ring_bytes / sizeof(struct self_e_event) / nr_lanes;
		if (per_lane < (1U << SELF_E_MIN_LANE_ORDER))
			return -EINVAL;
		order = min_t(u32, ilog2(per_lane), SELF_E_MAX_LANE_ORDER);
	} else {
		order = ilog2(SELF_E_DEFAULT_LANE_RECORDS);
	}
	if (!watermark)
		watermark = 1;
	if (watermark > (1U << order))
		return -EINVAL;

	memset(kr, 0, sizeof(*kr));
	kr->cons_size = PAGE_ALIGN(nr_lanes * sizeof(struct self_e_lane_cons));
	kr->ring_size = PAGE_ALIGN(sizeof(struct self_e_ring_header) +
				   nr_lanes * sizeof(struct self_e_lane_prod)) +
			PAGE_ALIGN(self_e_ring_data_bytes(nr_lanes, order));

	kr->cons_area = vmalloc_user(kr->cons_size);	/* zeroed: seq 0 is unpublished */
	kr->ring_area = vmalloc_user(kr->ring_size);
	if (!kr->cons_area || !kr->ring_area) {
		self_e_kring_free(kr);
		return -ENOMEM;
	}

	kr->hdr = kr->ring_area;
	kr->hdr->magic = SELF_E_RING_MAGIC;
	kr->hdr->abi_version = SELF_E_ABI_VERSION;
	kr->hdr->record_size = sizeof(struct self_e_event);
	kr->hdr->nr_lanes = nr_lanes;
	kr->hdr->lane_order = order;
	kr->hdr->prod_offset = sizeof(struct self_e_ring_header);
	kr->hdr->data_offset = PAGE_ALIGN(sizeof(struct self_e_ring_header) +
					  nr_lanes * sizeof(struct self_e_lane_prod));
	kr->hdr->vm_id = vm_id;
	kr->hdr->watermark = watermark;

	kr->view.prod = kr->ring_area + kr->hdr->prod_offset;
	kr->view.cons = kr->cons_area;
	kr->view.data = kr->ring_area + kr->hdr->data_offset;
	kr->view.nr_lanes = nr_lanes;
	kr->view.lane_order = order;
	kr->view.vm_id = vm_id;
	return 0;
}

void self_e_kring_free(struct self_e_kring *kr)
{
	vfree(kr->cons_area);
	vfree(kr->ring_area);
	kr->cons_area = NULL;
	kr->ring_area = NULL;
}

int self_e_kring_mmap(struct self_e_kring *kr, struct vm_area_struct *vma)
{
	unsigned long size = vma->vm_end - vma->vm_start;
	unsigned long off = vma->vm_pgoff << PAGE_SHIFT;

	if (!kr->ring_area)
		return -ENODEV;
	if (off == 0) {
		if (size != kr->cons_size || !(vma->vm_flags & VM_SHARED))
			return -EINVAL;
		return remap_vmalloc_range(vma, kr->cons_area, 0);
	}
	if (off == kr->cons_size) {
		if (size != kr->ring_size)
			return -EINVAL;
		if (vma->vm_flags & VM_WRITE)
			return -EPERM;
		/* Nor may mprotect() make it writable later. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
		vm_flags_clear(vma, VM_MAYWRITE);
#else
		vma->vm_flags &= ~VM_MAYWRITE;
#endif
		return remap_vmalloc_range(vma, kr->ring_area, 0);
	}
	return -EINVAL;
}

u64 self_e_kring_dropped(const struct self_e_kring *kr)
{
	u64 dropped = 0;
	u32 lane;

	for (lane = 0; lane < kr->view.nr_lanes; lane++)
		dropped += READ_ONCE(kr->view.prod[lane].dropped);
	return dropped;
}
