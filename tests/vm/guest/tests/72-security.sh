#!/bin/sh
# The security model (README, "Security model"), tested:
#  - a user without CAP_SYS_ADMIN gets EPERM from the device and from every
#    command and the group of the netlink family, and nothing else: kfuzz runs
#    as uid 65534 with no capabilities, then with CAP_NET_ADMIN only (the
#    capability genetlink's GENL_ADMIN_PERM alone would accept);
#  - a consumer writing garbage into its own tails loses events, not
#    accounting, and the kernel writes nowhere else (kmodtest garbage-tails);
#  - nothing handed to user space looks like a kernel address (kmodtest no-leaks).
# The read-only ring (PROT_WRITE and mprotect refused) is in kmodtest
# bad-input (40-kmod) and checked on every ring kfuzz maps (70-fuzz).
. /rig/lib.sh

kernel_log_mark
for who in "65534" "65534 --keep-cap net_admin"; do
	name=security/unprivileged
	[ "$who" = 65534 ] || name=security/net-admin-only
	# shellcheck disable=SC2086
	if out=$(kfuzz --seconds 5 --procs 1 --threads 2 --as-user $who 2>&1); then
		echo "# $(echo "$out" | tail -n 1)"
		pass "$name"
	else
		fail "$name" "$(echo "$out" | grep -m 1 FAIL)"
	fi
done

for t in garbage-tails no-leaks; do
	out=$(kmodtest "$t" 2>&1)
	echo "$out"
	echo "$out" | grep -q "^\(PASS\|FAIL\) kmod/$t" ||
		fail "kmod/$t" "kmodtest ended without a result: $(echo "$out" | tail -n 1)"
	echo "$out" | grep -q "^FAIL " && FAILS=$((FAILS + 1))
done

check_kernel_log security/kernel-log
[ "$FAILS" -eq 0 ]
