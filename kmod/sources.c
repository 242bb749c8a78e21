// SPDX-License-Identifier: GPL-2.0
/*
 * Event sources armed only while somebody reads.
 *
 * The sources' hooks sit on paths the whole host takes: every guest fault
 * (src_fault.c), every ksmd merge, every write-protect fault and every KSM
 * page freed or moved (src_ksm.c), every unmap (src_unmap.c). With nobody
 * reading, they are disarmed (tracepoint probes unregistered, kprobes
 * disabled) and cost those paths nothing; the first reader to start arms
 * them, the last one to stop disarms them. Sources still register at load,
 * so a kernel that lacks a hook point fails insmod, not a reader.
 * VM discovery and the memslot mirror (vm.c) stay hooked all the time: a
 * reader must find every VM and its layout whenever it comes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/mutex.h>

#include "self_e.h"

static const struct {
	const char *name;
	int (*arm)(void);
	void (*disarm)(void);
} sources[] = {
	{ "guest faults", self_e_fault_arm, self_e_fault_disarm },
	{ "KSM", self_e_ksm_arm, self_e_ksm_disarm },
	{ "unmaps", self_e_unmap_arm, self_e_unmap_disarm },
};

static DEFINE_MUTEX(arm_lock);
static unsigned int nr_users;	/* readers started; arm_lock */

/* A reader starts: arm the sources if it is the first. Sleeps. */
int self_e_sources_get(void)
{
	int i, ret = 0;

	mutex_lock(&arm_lock);
	if (nr_users == 0) {
		for (i = 0; i < ARRAY_SIZE(sources); i++) {
			ret = sources[i].arm();
			if (ret) {
				pr_err("cannot arm the hooks of %s: %d\n", sources[i].name, ret);
				while (i--)
					sources[i].disarm();
				goto out;
			}
		}
	}
	nr_users++;
out:
	mutex_unlock(&arm_lock);
	return ret;
}

/*
 * A reader stopped: disarm the sources if it was the last. Sleeps. A hook
 * may still be running afterwards; the sources' exit waits for it.
 */
void self_e_sources_put(void)
{
	int i;

	mutex_lock(&arm_lock);
	if (!WARN_ON_ONCE(nr_users == 0) && --nr_users == 0)
		for (i = ARRAY_SIZE(sources) - 1; i >= 0; i--)
			sources[i].disarm();
	mutex_unlock(&arm_lock);
}
