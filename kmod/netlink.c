// SPDX-License-Identifier: GPL-2.0
/*
 * The generic-netlink family "self_e" (uapi/self_e.h, section 4): list VMs
 * with memslots and counters, module statistics, and the "events" multicast
 * group. Every command and the group need CAP_SYS_ADMIN, like the device.
 */
#include <linux/kvm_host.h>
#include <linux/version.h>
#include <net/genetlink.h>

#include "self_e.h"

/* Not const: 6.1's policy macros take a plain pointer. */
static struct netlink_range_validation vm_id_range = { .min = 1, .max = 65535 };

static const struct nla_policy self_e_policy[SELF_E_A_MAX + 1] = {
	[SELF_E_A_VM_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &vm_id_range),
};

static struct genl_family self_e_family;

struct sk_buff *self_e_netlink_new(u8 cmd, void **hdr)
{
	struct sk_buff *skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);

	if (!skb)
		return NULL;
	*hdr = genlmsg_put(skb, 0, 0, &self_e_family, 0, cmd);
	if (!*hdr) {
		nlmsg_free(skb);
		return NULL;
	}
	return skb;
}

int self_e_netlink_multicast(struct sk_buff *skb)
{
	return genlmsg_multicast(&self_e_family, skb, 0, 0, GFP_KERNEL);
}

int self_e_netlink_put_slot(struct sk_buff *skb, const struct self_e_memslot *s)
{
	struct nlattr *nest = nla_nest_start(skb, SELF_E_A_MEMSLOT);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, SELF_E_SLOT_A_ID, s->id) ||
	    nla_put_u64_64bit(skb, SELF_E_SLOT_A_BASE_GFN, s->base_gfn, SELF_E_SLOT_A_PAD) ||
	    nla_put_u64_64bit(skb, SELF_E_SLOT_A_NPAGES, s->npages, SELF_E_SLOT_A_PAD) ||
	    nla_put_u64_64bit(skb, SELF_E_SLOT_A_HVA, s->hva, SELF_E_SLOT_A_PAD) ||
	    nla_put_u32(skb, SELF_E_SLOT_A_FLAGS, s->flags)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* One VM: ids, memslots (from the mirror) and counters. Atomic-safe. */
static int put_vm(struct sk_buff *skb, struct self_e_vm *vm, u32 nr_vcpus)
{
	const struct self_e_slots *slots;
	struct self_e_reader *r;
	struct nlattr *nest;
	u64 events = 0, dropped = 0;
	u32 readers = 0, i;
	int cpu, ret = -EMSGSIZE;

	for_each_possible_cpu(cpu)
		events += READ_ONCE(*per_cpu_ptr(vm->events, cpu));
	rcu_read_lock();
	list_for_each_entry_rcu(r, &vm->readers, node) {
		readers++;
		dropped += self_e_kring_dropped(&r->ring);
	}
	if (nla_put_u32(skb, SELF_E_A_VM_ID, vm->id) ||
	    nla_put_u32(skb, SELF_E_A_PID, vm->pid) ||
	    nla_put_string(skb, SELF_E_A_COMM, vm->comm) ||
	    nla_put_u32(skb, SELF_E_A_NR_VCPUS, nr_vcpus) ||
	    nla_put_u64_64bit(skb, SELF_E_A_EVENTS, events, SELF_E_A_PAD) ||
	    nla_put_u64_64bit(skb, SELF_E_A_DROPPED, dropped, SELF_E_A_PAD) ||
	    nla_put_u32(skb, SELF_E_A_READERS, readers) ||
	    nla_put_u32(skb, SELF_E_A_SAMPLE_INTERVAL_MS, READ_ONCE(vm->sample_interval_ms)) ||
	    nla_put_u32(skb, SELF_E_A_SAMPLE_BUDGET, READ_ONCE(vm->sample_budget)) ||
	    nla_put_u64_64bit(skb, SELF_E_A_SAMPLE_PASSES, READ_ONCE(vm->sample_passes),
			      SELF_E_A_PAD) ||
	    nla_put_u64_64bit(skb, SELF_E_A_SAMPLE_NS, READ_ONCE(vm->sample_ns), SELF_E_A_PAD))
		goto out;
	nest = nla_nest_start(skb, SELF_E_A_MEMSLOTS);
	if (!nest)
		goto out;
	slots = rcu_dereference(vm->slots);
	for (i = 0; slots && i < slots->nr; i++)
		if (self_e_netlink_put_slot(skb, &slots->slot[i]))
			goto out;
	nla_nest_end(skb, nest);
	ret = 0;
out:
	rcu_read_unlock();
	return ret;
}

struct dump_state {
	struct sk_buff *skb;
	struct netlink_callback *cb;
	u32 filter;	/* only this VM id, or 0 */
};

/* Called under the registry lock: the VM's kvm is alive. */
static int dump_one(struct self_e_vm *vm, void *arg)
{
	struct dump_state *st = arg;
	void *hdr;

	if (st->filter && vm->id != st->filter)
		return 0;
	hdr = genlmsg_put(st->skb, NETLINK_CB(st->cb->skb).portid, st->cb->nlh->nlmsg_seq,
			  &self_e_family, NLM_F_MULTI, SELF_E_CMD_LIST_VMS);
	if (!hdr)
		return -EMSGSIZE;
	if (put_vm(st->skb, vm, atomic_read(&vm->kvm->online_vcpus))) {
		genlmsg_cancel(st->skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(st->skb, hdr);
	st->cb->args[0] = vm->id + 1;	/* resume after this one */
	return 0;
}

static struct nlattr **dump_attrs(struct netlink_callback *cb)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	return genl_info_dump(cb)->attrs;
#else
	return genl_dumpit_info(cb)->attrs;
#endif
}

static int list_vms_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct nlattr **attrs = dump_attrs(cb);
	struct dump_state st = { .skb = skb, .cb = cb };
	int ret;

	if (attrs[SELF_E_A_VM_ID])
		st.filter = nla_get_u32(attrs[SELF_E_A_VM_ID]);
	ret = self_e_vm_for_each(cb->args[0], dump_one, &st);
	/* A full message ends this part of the dump; the next one resumes. */
	return ret == -EMSGSIZE && skb->len ? skb->len : (ret ?: skb->len);
}

/*
 * GENL_ADMIN_PERM asks for CAP_NET_ADMIN only; the family, like the device,
 * needs CAP_SYS_ADMIN (of the socket's opener, as netlink checks).
 */
static int list_vms_start(struct netlink_callback *cb)
{
	return netlink_capable(cb->skb, CAP_SYS_ADMIN) ? 0 : -EPERM;
}

static int count_one(struct self_e_vm *vm, void *arg)
{
	(*(u32 *)arg)++;
	return 0;
}

static int get_stats(struct sk_buff *skb, struct genl_info *info)
{
	struct self_e_vm *vm = NULL;
	struct sk_buff *msg;
	u32 nr_vms = 0;
	void *hdr;
	int ret = -EMSGSIZE;

	if (!netlink_capable(skb, CAP_SYS_ADMIN))
		return -EPERM;	/* see list_vms_start() */
	if (info->attrs[SELF_E_A_VM_ID]) {
		vm = self_e_vm_get_by_id(nla_get_u32(info->attrs[SELF_E_A_VM_ID]));
		if (!vm) {
			NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[SELF_E_A_VM_ID], "no such VM");
			return -ENOENT;
		}
	}
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		ret = -ENOMEM;
		goto out;
	}
	hdr = genlmsg_put_reply(msg, info, &self_e_family, 0, SELF_E_CMD_GET_STATS);
	if (!hdr)
		goto err;
	if (vm) {
		if (put_vm(msg, vm, self_e_vm_nr_vcpus(vm)))
			goto err;
	} else {
		self_e_vm_for_each(0, count_one, &nr_vms);
		if (nla_put_u32(msg, SELF_E_A_NR_VMS, nr_vms) ||
		    nla_put_u32(msg, SELF_E_A_READERS, self_e_nr_readers()))
			goto err;
	}
	genlmsg_end(msg, hdr);
	ret = genlmsg_reply(msg, info);
	goto out;
err:
	nlmsg_free(msg);
out:
	if (vm)
		self_e_vm_put(vm);
	return ret;
}

/* Full ops, not small ones: LIST_VMS needs .start for its check. */
static const struct genl_ops self_e_ops[] = {
	{
		.cmd = SELF_E_CMD_LIST_VMS,
		.start = list_vms_start,
		.dumpit = list_vms_dump,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SELF_E_CMD_GET_STATS,
		.doit = get_stats,
		.flags = GENL_ADMIN_PERM,
	},
};

static const struct genl_multicast_group self_e_mcgrps[] = {
	{ .name = SELF_E_GENL_MCGRP, .flags = GENL_MCAST_CAP_SYS_ADMIN },
};

static struct genl_family self_e_family __ro_after_init = {
	.name = SELF_E_GENL_NAME,
	.version = SELF_E_GENL_VERSION,
	.maxattr = SELF_E_A_MAX,
	.policy = self_e_policy,
	.module = THIS_MODULE,
	.ops = self_e_ops,
	.n_ops = ARRAY_SIZE(self_e_ops),
	.resv_start_op = SELF_E_CMD_GET_STATS + 1,
	.mcgrps = self_e_mcgrps,
	.n_mcgrps = ARRAY_SIZE(self_e_mcgrps),
};

int self_e_netlink_init(void)
{
	return genl_register_family(&self_e_family);
}

void self_e_netlink_exit(void)
{
	genl_unregister_family(&self_e_family);
}
