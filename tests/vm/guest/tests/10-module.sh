#!/bin/sh
# self_e.ko loads and unloads cleanly; KVM came up as the CPU model says.
. /rig/lib.sh

# in_modules NAME: NAME is in /proc/modules and Live.
in_modules() { grep -q "^$1 .* Live " /proc/modules; }
# msgs TEXT: how many kernel log lines contain TEXT.
msgs() { dmesg | grep -c "$1"; }

# /init loaded it.
if ! in_modules self_e; then
	fail module/load "self_e is not Live in /proc/modules after /init's insmod"
elif [ "$(msgs 'self_e: loaded')" != 1 ]; then
	fail module/load "'self_e: loaded' appears $(msgs 'self_e: loaded') times in dmesg, want 1"
else
	pass module/load
fi

if ! out=$(rmmod self_e 2>&1); then
	fail module/unload "rmmod: $out"
elif grep -q '^self_e ' /proc/modules; then
	fail module/unload "still in /proc/modules after rmmod"
elif [ "$(msgs 'self_e: unloaded')" != 1 ]; then
	fail module/unload "'self_e: unloaded' appears $(msgs 'self_e: unloaded') times in dmesg, want 1"
else
	pass module/unload
fi

# Loaded again for the tests that follow.
if ! out=$(insmod /rig/modules/self_e.ko 2>&1); then
	fail module/reload "insmod: $out"
elif ! in_modules self_e; then
	fail module/reload "not Live in /proc/modules after insmod"
elif [ "$(msgs 'self_e: loaded')" != 2 ]; then
	fail module/reload "'self_e: loaded' appears $(msgs 'self_e: loaded') times in dmesg, want 2"
else
	pass module/reload
fi

check_kernel_log module/kernel-log

# Unsigned out-of-tree modules set O (4096) and E (8192); anything else
# (W = a warning, D = an oops, ...) means trouble.
taint=$(cat /proc/sys/kernel/tainted)
if [ "$taint" = 12288 ]; then
	pass module/taint
else
	fail module/taint "/proc/sys/kernel/tainted is $taint, want 12288 (O+E)"
fi

# kvm_amd uses nested paging exactly when the (virtual) CPU offers it:
# -cpu max has npt, -cpu qemu64,+svm has not (shadow paging).
if grep -qw npt /proc/cpuinfo; then want=Y; else want=N; fi
npt=$(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null)
if [ ! -c /dev/kvm ]; then
	fail kvm/npt "no /dev/kvm"
elif [ "$npt" != "$want" ]; then
	fail kvm/npt "kvm_amd.npt=${npt:-?}, want $want from /proc/cpuinfo"
else
	pass kvm/npt
fi

# The project's CLI, when the rig found a static build of it, runs here.
if [ -x /rig/bin/self-e ]; then
	if ! out=$(self-e --version 2>&1); then
		fail tools/self-e "self-e --version failed: $out"
	else
		case $out in
		"self-e "*) pass tools/self-e ;;
		*) fail tools/self-e "self-e --version printed '$out'" ;;
		esac
	fi
else
	echo "# note: no self-e in this initramfs (make static builds it)"
fi

[ "$FAILS" -eq 0 ]
