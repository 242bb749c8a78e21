#!/bin/sh
# Under kernel lockdown (README, "Security model"): what Secure Boot gives
# Debian's kernels (LOCK_DOWN_IN_EFI_SECURE_BOOT) is lockdown=integrity. The
# rig has no Secure Boot, so the level is raised here at run time, after
# /init loaded self_e.ko, and then to confidentiality:
#  - the loaded module keeps working at both levels: kmodtest's exact fault
#    and netlink checks, and a working-set sampler (it attaches a KVM
#    tracepoint probe only while it runs);
#  - an unsigned self_e.ko is refused (EPERM) once unloaded, on kernels that
#    check module signatures.
# Lockdown cannot be lowered again: this test runs last.
. /rig/lib.sh

LD=/sys/kernel/security/lockdown
[ -e "$LD" ] || mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
if [ ! -e "$LD" ]; then
	fail lockdown/available "no $LD: this kernel has no lockdown LSM"
	exit 1
fi
kernel_log_mark

# under LEVEL: the module's interface, exact, at that lockdown level.
under() {
	if ! echo "$1" >"$LD" 2>/dev/null; then
		fail "lockdown/$1" "cannot raise $LD to $1 ($(cat "$LD"))"
		return
	fi
	case $(cat "$LD") in
	*"[$1]"*) ;;
	*) fail "lockdown/$1" "$LD reads '$(cat "$LD")' after writing $1"; return ;;
	esac
	for t in faults netlink; do
		if out=$(kmodtest "$t" 2>&1) && echo "$out" | grep -q "^PASS kmod/$t"; then
			pass "lockdown/$1/$t"
		else
			fail "lockdown/$1/$t" "$(echo "$out" | grep -m 1 -E '^FAIL|rror' || echo "$out" | tail -n 1)"
		fi
	done
	# A sampler: the SPTE probe registers and unregisters under lockdown.
	vm_start lw --mem 32 --pages 64 --fill unique --hold 60
	vm_wait_event lw halted 60 || { fail "lockdown/$1/sampling" "the VM never halted"; return; }
	# 2 s at 200 ms: passes ran (about 10; the report's sampling is null without any).
	if ! self-e report --pid "$lw_pid" --duration 2 --sample-interval 200 --json \
		>"$TMP/lw.json" 2>"$TMP/lw.err"; then
		fail "lockdown/$1/sampling" "self-e report: $(cat "$TMP/lw.err")"
	elif [ "$(rv "$TMP/lw.json" lw passes)" -ge 2 ] 2>/dev/null; then
		pass "lockdown/$1/sampling"
	else
		fail "lockdown/$1/sampling" "passes '$(rv "$TMP/lw.json" lw passes)', want >= 2: $(head -c 300 "$TMP/lw.json")"
	fi
	vm_end lw
}

under integrity
under confidentiality

# Loading: an unsigned module is refused when the kernel checks signatures
# (it has module.sig_enforce); the debug kernel does not sign modules.
if [ ! -e /sys/module/module/parameters/sig_enforce ]; then
	echo "# lockdown/unsigned-refused: this kernel does not check module signatures"
elif ! out=$(rmmod self_e 2>&1); then
	fail lockdown/unload "rmmod under lockdown: $out"
elif out=$(insmod /rig/modules/self_e.ko 2>&1); then
	fail lockdown/unsigned-refused "insmod of an unsigned self_e.ko succeeded under lockdown"
elif ! echo "$out" | grep -q "Operation not permitted"; then
	fail lockdown/unsigned-refused "insmod failed, but not with EPERM: $out"
elif ! kernel_log_since_mark | grep -q "Lockdown: insmod: unsigned module loading is restricted"; then
	fail lockdown/unsigned-refused "no 'Lockdown: insmod: unsigned module loading' line in the kernel log"
else
	pass lockdown/unsigned-refused
fi

check_kernel_log lockdown/kernel-log
[ "$FAILS" -eq 0 ]
