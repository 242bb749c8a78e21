// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/self-e. Root only (CAP_SYS_ADMIN): page-access traces are a side
 * channel into the guests.
 *
 *  - read() with no setup: the text stream of all VMs, one event a line
 *    (self_e_text.h). After SELF_E_IOC_ATTACH, read() streams that VM only
 *    and returns 0 (EOF) once the VM's end has been read.
 *  - ioctl(): attach, event mask, stats, VM description, access sampling.
 *  - mmap(): the attached ring (kring.c) for libself.
 *  - poll(): readable at the watermark; EPOLLHUP once an attached VM ended.
 * The module stays loaded while a file is open or mapped (fops.owner).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "self_e.h"

/* Pop the oldest published record of any lane and format it into r->line. */
static bool next_line(struct self_e_reader *r)
{
	const struct self_e_ring_view *v = &r->ring.view;
	const struct self_e_event *best = NULL, *ev;
	struct self_e_event copy;
	struct self_e_vm *vm;
	u32 lane, best_lane = 0;
	u64 hva = 0;

	for (lane = 0; lane < v->nr_lanes; lane++) {
		ev = self_e_ring_peek(v, lane, self_e_ring_consumer_pos(v, lane));
		if (ev && (!best || ev->ts_ns < best->ts_ns)) {
			best = ev;
			best_lane = lane;
		}
	}
	if (!best)
		return false;
	/* Copy first: the slot is the producers' again once released. */
	copy = *best;
	self_e_ring_release(v, best_lane, self_e_ring_consumer_pos(v, best_lane) + 1);

	if (copy.gfn != SELF_E_GFN_NONE && self_e_type_has_hva(copy.type)) {
		vm = self_e_reader_vm(r, copy.vm_id);
		if (vm)
			hva = self_e_vm_hva(vm, copy.gfn);
	}
	if (copy.type == SELF_E_EV_VM_DESTROY)
		self_e_reader_vm_ended(r, copy.vm_id);
	r->line_len = self_e_format_event(r->line, &copy, hva);
	r->line_off = 0;
	return true;
}

static bool reader_done(struct self_e_reader *r)
{
	return self_e_reader_ended(r) && !self_e_reader_readable(r, 1);
}

static int ensure_started(struct self_e_reader *r)
{
	/* A reader that never attached reads all VMs as text. */
	return r->active ? 0 : self_e_reader_start(r, NULL, 0, 1);
}

static ssize_t self_e_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	struct self_e_reader *r = file->private_data;
	size_t copied = 0;
	ssize_t ret;
	char *kbuf;

	if (!count)
		return 0;
	/*
	 * Lines go to user space through a kernel buffer, after r->lock is
	 * dropped: mmap() takes r->lock under mmap_lock, so r->lock must never
	 * be held while user memory can fault (lockdep: a real ABBA deadlock).
	 */
	count = min_t(size_t, count, PAGE_SIZE);
	kbuf = kmalloc(count, GFP_KERNEL);
	if (!kbuf)
		return -ENOMEM;
	mutex_lock(&r->lock);
	ret = ensure_started(r);
	if (ret)
		goto out;
	for (;;) {
		while (copied < count) {
			size_t n;

			if (r->line_off == r->line_len && !next_line(r))
				break;
			n = min_t(size_t, count - copied, r->line_len - r->line_off);
			memcpy(kbuf + copied, r->line + r->line_off, n);
			r->line_off += n;
			copied += n;
		}
		if (copied || reader_done(r))
			break;
		if (file->f_flags & O_NONBLOCK) {
			ret = -EAGAIN;
			goto out;
		}
		mutex_unlock(&r->lock);
		ret = wait_event_interruptible(r->wait, self_e_reader_readable(r, 1) ||
							self_e_reader_ended(r));
		mutex_lock(&r->lock);
		if (ret)
			goto out;
	}
	ret = copied;
out:
	mutex_unlock(&r->lock);
	if (ret > 0 && copy_to_user(buf, kbuf, ret))
		ret = -EFAULT;
	kfree(kbuf);
	return ret;
}

static __poll_t self_e_poll(struct file *file, poll_table *wait)
{
	struct self_e_reader *r = file->private_data;
	__poll_t mask = 0;

	mutex_lock(&r->lock);
	if (ensure_started(r)) {
		mutex_unlock(&r->lock);
		return EPOLLERR;
	}
	poll_wait(file, &r->wait, wait);
	if (self_e_reader_readable(r, r->watermark))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (self_e_reader_ended(r))
		mask |= EPOLLHUP | (self_e_reader_readable(r, 1) ? EPOLLIN | EPOLLRDNORM : 0);
	mutex_unlock(&r->lock);
	return mask;
}

static int attach_locked(struct self_e_reader *r, struct self_e_attach *ap);

static int ioctl_attach(struct self_e_reader *r, void __user *arg)
{
	struct self_e_attach a;
	int ret, i;

	if (copy_from_user(&a, arg, sizeof(a)))
		return -EFAULT;
	if (a.flags & ~SELF_E_ATTACH_BY_PID || a.event_mask & ~SELF_E_EVENT_MASK_ALL ||
	    a.reserved0)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(a.reserved); i++)
		if (a.reserved[i])
			return -EINVAL;
	mutex_lock(&r->lock);
	ret = attach_locked(r, &a);
	mutex_unlock(&r->lock);
	if (ret)
		return ret;
	/* User memory only without r->lock (see self_e_read()). */
	if (copy_to_user(arg, &a, sizeof(a))) {
		/* The caller cannot know the ring: leave the file as it was. */
		mutex_lock(&r->lock);
		self_e_reader_stop(r);
		mutex_unlock(&r->lock);
		return -EFAULT;
	}
	return 0;
}

/* Under r->lock. */
static int attach_locked(struct self_e_reader *r, struct self_e_attach *ap)
{
	struct self_e_attach a = *ap;
	struct self_e_vm *vm;
	int ret;

	if (r->active)
		return -EBUSY;

	if (a.flags & SELF_E_ATTACH_BY_PID)
		vm = a.pid > 0 && a.pid <= PID_MAX_LIMIT ? self_e_vm_get_by_pid(a.pid) : NULL;
	else
		vm = self_e_vm_get_by_id(a.vm_id);
	if (!vm)
		return (a.flags & SELF_E_ATTACH_BY_PID) ? -ESRCH : -ENOENT;

	if (a.event_mask)
		WRITE_ONCE(r->mask, a.event_mask);
	a.vm_id = vm->id;
	a.pid = vm->pid;
	ret = self_e_reader_start(r, vm, a.ring_bytes, a.watermark);
	if (ret) {
		self_e_vm_put(vm);
		return ret;
	}
	a.ring_bytes = self_e_ring_data_bytes(r->ring.view.nr_lanes, r->ring.view.lane_order);
	a.watermark = r->watermark;
	a.nr_lanes = r->ring.view.nr_lanes;
	a.lane_order = r->ring.view.lane_order;
	a.cons_offset = 0;
	a.cons_size = r->ring.cons_size;
	a.ring_offset = r->ring.cons_size;
	a.ring_size = r->ring.ring_size;
	*ap = a;
	return 0;
}

static int ioctl_get_vm(void __user *arg)
{
	struct self_e_memslot *slots = NULL;
	struct self_e_vm_info info;
	struct self_e_vm *vm;
	u32 room, have;
	int ret = 0;

	if (copy_from_user(&info, arg, sizeof(info)))
		return -EFAULT;
	if (info.reserved[0] || info.reserved[1] || info.nr_slots > 4096)
		return -EINVAL;
	vm = self_e_vm_get_by_id(info.vm_id);
	if (!vm)
		return -ENOENT;

	room = info.nr_slots;
	if (room) {
		slots = kcalloc(room, sizeof(*slots), GFP_KERNEL);
		if (!slots) {
			ret = -ENOMEM;
			goto out;
		}
	}
	have = self_e_vm_copy_slots(vm, slots, room);
	info.pid = vm->pid;
	info.nr_vcpus = self_e_vm_nr_vcpus(vm);
	info.nr_slots = have;
	if (room && copy_to_user(u64_to_user_ptr(info.slots_ptr), slots,
				 min(room, have) * sizeof(*slots)))
		ret = -EFAULT;
	else if (copy_to_user(arg, &info, sizeof(info)))
		ret = -EFAULT;
out:
	kfree(slots);
	self_e_vm_put(vm);
	return ret;
}

static int ioctl_set_sampling(struct self_e_reader *r, void __user *arg)
{
	struct self_e_sampling req;
	int ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.reserved[0] || req.reserved[1] || req.budget_pages > SELF_E_SAMPLE_MAX_BUDGET ||
	    (req.interval_ms && (req.interval_ms < SELF_E_SAMPLE_MIN_MS ||
				 req.interval_ms > SELF_E_SAMPLE_MAX_MS)))
		return -EINVAL;
	mutex_lock(&r->lock);
	/* Sampling is for one VM: the one this file is attached to. */
	if (!r->active || !r->vm)
		ret = -EINVAL;
	else if (req.interval_ms && READ_ONCE(r->vm->dead))
		ret = -ENOENT;
	else
		ret = self_e_sample_set(r, &req);
	mutex_unlock(&r->lock);
	if (ret)
		return ret;
	return copy_to_user(arg, &req, sizeof(req)) ? -EFAULT : 0;
}

static long self_e_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct self_e_reader *r = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct self_e_stats st;
	u64 mask;
	long ret;

	/* r->lock is taken inside, never across a user copy (see self_e_read()). */
	switch (cmd) {
	case SELF_E_IOC_ATTACH:
		return ioctl_attach(r, uarg);
	case SELF_E_IOC_SET_MASK:
		if (get_user(mask, (u64 __user *)uarg))
			return -EFAULT;
		if (mask & ~SELF_E_EVENT_MASK_ALL)
			return -EINVAL;
		mutex_lock(&r->lock);
		WRITE_ONCE(r->mask, mask);
		mutex_unlock(&r->lock);
		return 0;
	case SELF_E_IOC_GET_STATS:
		mutex_lock(&r->lock);
		ret = r->active ? 0 : -EINVAL;
		if (!ret)
			self_e_reader_stats(r, &st);
		mutex_unlock(&r->lock);
		if (ret)
			return ret;
		return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
	case SELF_E_IOC_GET_VM:
		return ioctl_get_vm(uarg);
	case SELF_E_IOC_SET_SAMPLING:
		return ioctl_set_sampling(r, uarg);
	default:
		return -ENOTTY;
	}
}

static int self_e_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct self_e_reader *r = file->private_data;
	int ret;

	mutex_lock(&r->lock);
	ret = r->active ? self_e_kring_mmap(&r->ring, vma) : -EINVAL;
	mutex_unlock(&r->lock);
	return ret;
}

static int self_e_open(struct inode *inode, struct file *file)
{
	struct self_e_reader *r;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	r = self_e_reader_new();
	if (!r)
		return -ENOMEM;
	file->private_data = r;
	return stream_open(inode, file);
}

static int self_e_release(struct inode *inode, struct file *file)
{
	self_e_reader_free(file->private_data);
	return 0;
}

static const struct file_operations self_e_fops = {
	.owner = THIS_MODULE,
	.open = self_e_open,
	.release = self_e_release,
	.read = self_e_read,
	.poll = self_e_poll,
	.unlocked_ioctl = self_e_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = self_e_mmap,
	/* no llseek: stream_open() makes seeking fail with -ESPIPE */
};

static struct miscdevice self_e_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = SELF_E_DEVICE_NAME,
	.fops = &self_e_fops,
	.mode = 0666,	/* everyone may try; open() itself needs CAP_SYS_ADMIN (EPERM) */
};

int self_e_dev_init(void)
{
	return misc_register(&self_e_misc);
}

void self_e_dev_exit(void)
{
	misc_deregister(&self_e_misc);
}
