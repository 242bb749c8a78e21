/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The text form of an event: one line, `key=value` fields separated by single
 * spaces, ending in '\n'. The module's read() and libself both print events
 * with this function, so the two can never disagree. The format is stable
 * (README, "Text stream"): fields may be added at the end of a line, never
 * renamed or reordered.
 *
 *	ts=<ns> vm=<id> type=<name> ...per type...
 *	fault		vcpu=<n> gfn=0x<x> [hva=0x<x>] pfn=0x<x> access=read|write|exec|prefetch
 *			writable=0|1 level=4k|2m|1g
 *	ksm_merge	[vcpu=<n>] gfn=0x<x> [hva=0x<x>] pfn=0x<x> new=0|1
 *	lost		count=<n>
 *	vm_create	pid=<n>
 *	vm_destroy	(nothing more)
 *	memslot		slot=<n> as=<n> gfn=0x<x> pages=<n> [hva=0x<x>] change=create|delete|move|flags
 *	access		gfn=0x<x> bitmap=0x<x>
 *	sample		gfn=0x<x> pages=<n> end=0|1 partial=0|1 coarse=0|1
 *	unmap		gfn=0x<x> pages=<n>
 *	others		[vcpu=<n>] gfn=0x<x> [hva=0x<x>] pfn=0x<x>
 * hva is printed when it is known (the gfn lies in a memslot of the VM), and
 * never for access, sample and unmap lines, which stand for ranges of gfns.
 */
#ifndef _SELF_E_TEXT_H
#define _SELF_E_TEXT_H

#ifdef __KERNEL__
#include <linux/kernel.h>
#else
#include <stdio.h>
#endif
#include "uapi/self_e.h"
#include "self_e_names.h"

/* Longest line self_e_format_event() writes, '\n' and NUL included. */
#define SELF_E_TEXT_MAX 256

static inline const char *self_e_type_name(unsigned int type)
{
	return type < SELF_E_NR_EVENT_NAMES ? self_e_event_names[type] : "unknown";
}

static inline const char *self_e_level_name(unsigned int flags)
{
	static const char *const names[] = { "4k", "2m", "1g", "512g" };

	return names[(flags & SELF_E_F_LEVEL_MASK) >> SELF_E_F_LEVEL_SHIFT];
}

static inline const char *self_e_access_name(unsigned int flags)
{
	if (flags & SELF_E_F_PREFETCH)
		return "prefetch";
	if (flags & SELF_E_F_EXEC)
		return "exec";
	return (flags & SELF_E_F_WRITE) ? "write" : "read";
}

static inline const char *self_e_memslot_change_name(unsigned int flags)
{
	static const char *const names[] = { "create", "delete", "move", "flags" };

	return names[flags & 3];
}

/* Whether a line of this type shows the hva of its gfn: not for ranges of gfns. */
static inline int self_e_type_has_hva(unsigned int type)
{
	return type != SELF_E_EV_ACCESS && type != SELF_E_EV_SAMPLE && type != SELF_E_EV_UNMAP;
}

/*
 * Format @ev into @buf (at least SELF_E_TEXT_MAX bytes); @hva is the host
 * virtual address of ev->gfn, or 0 when unknown. Returns the length.
 */
static inline int self_e_format_event(char *buf, const struct self_e_event *ev,
				      unsigned long long hva)
{
	const unsigned int size = SELF_E_TEXT_MAX;
	unsigned long long gfn = ev->gfn, arg = ev->arg;
	char vcpu[16] = "", at[32] = "";
	int n;

	if (ev->vcpu != SELF_E_VCPU_NONE)
		snprintf(vcpu, sizeof(vcpu), " vcpu=%u", (unsigned int)ev->vcpu);
	if (hva)
		snprintf(at, sizeof(at), " hva=0x%llx", hva);

	n = snprintf(buf, size, "ts=%llu vm=%u type=%s", (unsigned long long)ev->ts_ns,
		     (unsigned int)ev->vm_id, self_e_type_name(ev->type));

	switch (ev->type) {
	case SELF_E_EV_FAULT:
		n += snprintf(buf + n, size - n,
			      "%s gfn=0x%llx%s pfn=0x%llx access=%s writable=%d level=%s",
			      vcpu, gfn, at, arg, self_e_access_name(ev->flags),
			      !!(ev->flags & SELF_E_F_WRITABLE), self_e_level_name(ev->flags));
		break;
	case SELF_E_EV_KSM_MERGE:
		n += snprintf(buf + n, size - n, "%s gfn=0x%llx%s pfn=0x%llx new=%d", vcpu,
			      gfn, at, arg, !!(ev->flags & SELF_E_F_KSM_NEW));
		break;
	case SELF_E_EV_LOST:
		n += snprintf(buf + n, size - n, " count=%llu", arg);
		break;
	case SELF_E_EV_VM_CREATE:
		n += snprintf(buf + n, size - n, " pid=%llu", arg);
		break;
	case SELF_E_EV_VM_DESTROY:
		break;
	case SELF_E_EV_MEMSLOT:
		n += snprintf(buf + n, size - n, " slot=%u as=%u gfn=0x%llx pages=%llu%s change=%s",
			      (unsigned int)(ev->vcpu & 0x7fff), (unsigned int)(ev->vcpu >> 15),
			      gfn, arg, at, self_e_memslot_change_name(ev->flags));
		break;
	case SELF_E_EV_ACCESS:
		n += snprintf(buf + n, size - n, " gfn=0x%llx bitmap=0x%llx", gfn, arg);
		break;
	case SELF_E_EV_UNMAP:
		n += snprintf(buf + n, size - n, " gfn=0x%llx pages=%llu", gfn, arg);
		break;
	case SELF_E_EV_SAMPLE:
		n += snprintf(buf + n, size - n, " gfn=0x%llx pages=%llu end=%d partial=%d coarse=%d",
			      gfn, arg, !!(ev->flags & SELF_E_F_SAMPLE_END),
			      !!(ev->flags & SELF_E_F_SAMPLE_PARTIAL),
			      !!(ev->flags & SELF_E_F_SAMPLE_COARSE));
		break;
	default:
		n += snprintf(buf + n, size - n, "%s gfn=0x%llx%s pfn=0x%llx", vcpu, gfn, at,
			      arg);
		break;
	}
	n += snprintf(buf + n, size - n, "\n");
	return n;
}

#endif /* _SELF_E_TEXT_H */
