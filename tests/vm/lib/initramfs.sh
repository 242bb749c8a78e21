#!/bin/bash
# Build the rig's initramfs: busybox, the guest /init and tests, the KVM
# modules, self_e.ko and static programs, archived with busybox's own cpio.
#
#   initramfs.sh --out FILE --busybox BB --kernel-dir DIR --kmod self_e.ko
#                [--bin PROGRAM]... [--exec SCRIPT]
#
# Layout in the guest:
#   /init                 guest/init
#   /bin/busybox, /bin/sh (the other applets are linked by /init)
#   /rig/modules/         irqbypass.ko kvm.ko ccp.ko kvm-amd.ko self_e.ko
#   /rig/bin/             minivmm, pagecheck, self-e, ... (on PATH)
#   /rig/run-suite.sh, /rig/lib.sh, /rig/tests/*.sh, /rig/kernel-log-patterns
#   /rig/exec.sh          the --exec script, run instead of the suite
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM=$(dirname "$HERE")
. "$HERE/common.sh"

OUT='' BB='' KDIR_CACHE='' KMOD='' EXEC='' BINS=()
while [ $# -gt 0 ]; do
	case $1 in
	--out) OUT=${2:?}; shift 2 ;;
	--busybox) BB=${2:?}; shift 2 ;;
	--kernel-dir) KDIR_CACHE=${2:?}; shift 2 ;;
	--kmod) KMOD=${2:?}; shift 2 ;;
	--bin) BINS+=("${2:?}"); shift 2 ;;
	--exec) EXEC=${2:?}; shift 2 ;;
	*) die "initramfs.sh: unknown argument '$1'" ;;
	esac
done
[ -n "$OUT" ] && [ -n "$BB" ] && [ -n "$KDIR_CACHE" ] && [ -n "$KMOD" ] ||
	die "initramfs.sh: --out, --busybox, --kernel-dir and --kmod are required"

# static_elf FILE: the guest has no dynamic loader or libraries.
static_elf() {
	if LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; then
		die "$1 is dynamically linked; the guest needs static programs (SELF_E_STATIC=ON)"
	fi
}

STAGE=$(mktemp -d "${OUT%/*}/initramfs.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE"/{bin,sbin,dev,proc,sys,tmp,run,rig/bin,rig/modules,rig/tests}

install -m 755 "$BB" "$STAGE/bin/busybox"
static_elf "$STAGE/bin/busybox"
ln -s busybox "$STAGE/bin/sh"
install -m 755 "$VM/guest/init" "$STAGE/init"
install -m 755 "$VM/guest/run-suite.sh" "$STAGE/rig/run-suite.sh"
install -m 644 "$VM/guest/lib.sh" "$STAGE/rig/lib.sh"
install -m 644 "$VM/kernel-log-patterns" "$STAGE/rig/kernel-log-patterns"
install -m 755 "$VM"/guest/tests/*.sh "$STAGE/rig/tests/"

for m in irqbypass kvm ccp kvm-amd; do
	install -m 644 "$KDIR_CACHE/modules/$m.ko" "$STAGE/rig/modules/$m.ko"
done
install -m 644 "$KMOD" "$STAGE/rig/modules/self_e.ko"

for b in ${BINS[@]+"${BINS[@]}"}; do
	[ -x "$b" ] || die "not an executable: $b"
	static_elf "$b"
	install -m 755 "$b" "$STAGE/rig/bin/"
done
[ -z "$EXEC" ] || install -m 755 "$EXEC" "$STAGE/rig/exec.sh"

# The kernel needs /dev/console to give /init its stdio; mknod needs root.
# Without it, /init reopens the console from devtmpfs.
if [ "$(id -u)" -eq 0 ]; then
	mknod -m 600 "$STAGE/dev/console" c 5 1
	mknod -m 666 "$STAGE/dev/null" c 1 3
fi

# busybox's cpio, so the host needs no cpio package; owner root in the guest.
(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | "$BB" cpio -o -H newc -R 0:0) \
	2>/dev/null | gzip -1 >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
