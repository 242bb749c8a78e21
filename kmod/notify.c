// SPDX-License-Identifier: GPL-2.0
/*
 * Notifications on the "events" multicast group: VM created or destroyed,
 * memslot changed, a reader's ring overflowed. They are noticed in hooks and
 * irq_work (atomic), so each is queued on a lock-free list and sent by a work
 * item in process context.
 */
#include <linux/llist.h>
#include <linux/slab.h>
#include <net/genetlink.h>

#include "self_e.h"

struct notice {
	struct llist_node node;
	u8 cmd;
	u8 change;
	u16 vm_id;
	pid_t pid;
	char comm[TASK_COMM_LEN];
	struct self_e_memslot slot;
	u64 dropped;
};

static LLIST_HEAD(pending);
static bool enabled;

static void send_notice(const struct notice *n)
{
	struct sk_buff *skb;
	void *hdr;

	skb = self_e_netlink_new(n->cmd, &hdr);
	if (!skb)
		return;
	if (nla_put_u32(skb, SELF_E_A_VM_ID, n->vm_id))
		goto err;
	switch (n->cmd) {
	case SELF_E_CMD_VM_NEW:
	case SELF_E_CMD_VM_DEL:
		if (nla_put_u32(skb, SELF_E_A_PID, n->pid) ||
		    nla_put_string(skb, SELF_E_A_COMM, n->comm))
			goto err;
		break;
	case SELF_E_CMD_MEMSLOT:
		if (nla_put_u8(skb, SELF_E_A_CHANGE, n->change) ||
		    self_e_netlink_put_slot(skb, &n->slot))
			goto err;
		break;
	case SELF_E_CMD_OVERFLOW:
		if (nla_put_u64_64bit(skb, SELF_E_A_DROPPED, n->dropped, SELF_E_A_PAD))
			goto err;
		break;
	}
	genlmsg_end(skb, hdr);
	self_e_netlink_multicast(skb);	/* -ESRCH without listeners: fine */
	return;
err:
	nlmsg_free(skb);
}

static void send_pending(struct work_struct *work)
{
	struct llist_node *list = llist_reverse_order(llist_del_all(&pending));
	struct notice *n, *tmp;

	llist_for_each_entry_safe(n, tmp, list, node) {
		send_notice(n);
		kfree(n);
	}
}

static DECLARE_WORK(notify_work, send_pending);

static struct notice *notice_new(u8 cmd, u16 vm_id)
{
	struct notice *n;

	if (!READ_ONCE(enabled))
		return NULL;
	n = kzalloc(sizeof(*n), GFP_ATOMIC);
	if (n) {
		n->cmd = cmd;
		n->vm_id = vm_id;
	}
	return n;
}

static void queue_notice(struct notice *n)
{
	llist_add(&n->node, &pending);
	schedule_work(&notify_work);
}

void self_e_notify_vm(u8 cmd, struct self_e_vm *vm)
{
	struct notice *n = notice_new(cmd, vm->id);

	if (!n)
		return;
	n->pid = vm->pid;
	memcpy(n->comm, vm->comm, sizeof(n->comm));
	queue_notice(n);
}

void self_e_notify_memslot(struct self_e_vm *vm, const struct self_e_memslot *slot, u8 change)
{
	struct notice *n = notice_new(SELF_E_CMD_MEMSLOT, vm->id);

	if (!n)
		return;
	n->slot = *slot;
	n->change = change;
	queue_notice(n);
}

void self_e_notify_overflow(u16 vm_id, u64 dropped)
{
	struct notice *n = notice_new(SELF_E_CMD_OVERFLOW, vm_id);

	if (!n)
		return;
	n->dropped = dropped;
	queue_notice(n);
}

int self_e_notify_init(void)
{
	WRITE_ONCE(enabled, true);
	return 0;
}

/* After every source of notices has stopped. */
void self_e_notify_exit(void)
{
	WRITE_ONCE(enabled, false);
	flush_work(&notify_work);
	send_pending(NULL);	/* anything queued after the flush started */
}
