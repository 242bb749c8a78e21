#!/bin/sh
# kfuzz: random ioctls, mmaps, reads, polls, closes and forks on /dev/self-e
# and random generic-netlink messages to the family, in several processes and
# threads while minivmm VMs come and go. Every call must answer success or an
# errno allowed for it (kfuzz checks), and the kernel log must stay clean.
#
# FUZZ_SECONDS on the host (passed as rig.fuzz_seconds=) sets the time; the
# default is 60 s, 30 s under shadow paging (kvm_amd npt=N), which is slower.
. /rig/lib.sh

secs=$(sed -n 's/.*rig\.fuzz_seconds=\([0-9]*\).*/\1/p' /proc/cmdline)
if [ -z "$secs" ]; then
	secs=60
	[ "$(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null)" = N ] && secs=30
fi

kernel_log_mark
# Through tee: the seed is on the console at once, even if the run hangs.
{ kfuzz --seconds "$secs" --seed-file "$TMP/kfuzz.seed" 2>&1; echo $? >"$TMP/kfuzz.rc"; } |
	tee "$TMP/kfuzz.out"
rc=$(cat "$TMP/kfuzz.rc")
# Only lines the fuzz run added: an earlier test's lines are its own failure.
bad=$(bad_kernel_lines)
if [ "$rc" -ne 0 ]; then
	fail kmod/fuzz "kfuzz exited $rc (seed $(cat "$TMP/kfuzz.seed" 2>/dev/null)): $(grep 'FAIL' "$TMP/kfuzz.out" | head -n 1)"
elif [ -n "$bad" ]; then
	fail kmod/fuzz "kernel log (seed $(cat "$TMP/kfuzz.seed")): $(echo "$bad" | head -n 3 | tr '\n' '|')"
else
	pass kmod/fuzz
fi
# The VMs kfuzz started are gone, and the module still answers.
if pidof minivmm >/dev/null && [ "$(pidof minivmm | wc -w)" -gt 1 ]; then
	fail kmod/fuzz-after "minivmm processes left: $(pidof minivmm)"
elif ! kmodtest netlink >/dev/null 2>&1; then
	fail kmod/fuzz-after "kmodtest netlink fails after the fuzz run"
else
	pass kmod/fuzz-after
fi
[ "$FAILS" -eq 0 ]
