/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The leading fields of KVM's private struct kvm_page_fault
 * (arch/x86/kvm/mmu/mmu_internal.h), which the kvm_mmu_spte_requested
 * tracepoint passes. The headers packages do not ship that file, so the
 * prefix is copied here and checked against the real sources of each series
 * (Debian's linux-source-6.1 and linux-source-6.12); the two differ only
 * where marked. Any other series fails to build rather than misread KVM's
 * memory.
 */
#ifndef _SELF_E_KVM_PRIVATE_H
#define _SELF_E_KVM_PRIVATE_H

#include <linux/kvm_types.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0) && LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
#define SELF_E_KVM_6_12 1
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 1, 0) && LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define SELF_E_KVM_6_12 0
#else
#error "struct kvm_page_fault is verified for 6.1.y and 6.12.y only; add this kernel's layout"
#endif

struct self_e_kvm_page_fault {
	const gpa_t addr;
#if SELF_E_KVM_6_12
	const u64 error_code;		/* u32 in 6.1 */
#else
	const u32 error_code;
#endif
	const bool prefetch;
	const bool exec;
	const bool write;
	const bool present;
	const bool rsvd;
	const bool user;
	const bool is_tdp;
#if SELF_E_KVM_6_12
	const bool is_private;		/* new since 6.1 */
#endif
	const bool nx_huge_page_workaround_enabled;
	bool huge_page_disallowed;
	u8 max_level;
	u8 req_level;
	u8 goal_level;
	gfn_t gfn;
};

#endif /* _SELF_E_KVM_PRIVATE_H */
