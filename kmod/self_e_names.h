/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Names of event types as they appear in the text stream (`type=fault`) and
 * on the self-e command line. Shared by the module and libself so that both
 * spell them the same way. Positional, in enum self_e_event_type order (C++
 * has no array designators); both sides assert the count.
 */
#ifndef _SELF_E_NAMES_H
#define _SELF_E_NAMES_H

#include "uapi/self_e.h"

static const char *const self_e_event_names[] = {
	"none",		/* SELF_E_EV_NONE */
	"lost",		/* SELF_E_EV_LOST */
	"vm_create",	/* SELF_E_EV_VM_CREATE */
	"vm_destroy",	/* SELF_E_EV_VM_DESTROY */
	"memslot",	/* SELF_E_EV_MEMSLOT */
	"fault",	/* SELF_E_EV_FAULT */
	"ksm_merge",	/* SELF_E_EV_KSM_MERGE */
	"ksm_zero",	/* SELF_E_EV_KSM_ZERO */
	"cow_break",	/* SELF_E_EV_COW_BREAK */
	"unmerge",	/* SELF_E_EV_UNMERGE */
	"unmap",	/* SELF_E_EV_UNMAP */
	"ksm_free",	/* SELF_E_EV_KSM_FREE */
	"ksm_migrate",	/* SELF_E_EV_KSM_MIGRATE */
	"access",	/* SELF_E_EV_ACCESS */
	"sample",	/* SELF_E_EV_SAMPLE */
};

#define SELF_E_NR_EVENT_NAMES (sizeof(self_e_event_names) / sizeof(self_e_event_names[0]))

#endif /* _SELF_E_NAMES_H */
