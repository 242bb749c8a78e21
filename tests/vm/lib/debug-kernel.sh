#!/bin/bash
# Build the rig's debug kernel: Debian's linux-source-6.1, the same version as
# the rig's 6.1 kernel, configured as x86_64_defconfig plus
# tests/vm/debug/debug.config (KASAN, lockdep, DEBUG_ATOMIC_SLEEP, KFENCE, and
# KVM/KSM/kprobes/ftrace as the rig needs them), and lay it out as fetch.sh
# lays out a Debian kernel, so the rig boots it as `--kernel 6.1-debug`.
#
#   debug-kernel.sh --cache DIR --out DIR [--jobs N]
#
# prints, like fetch.sh:
#   KERNEL_DIR=<folder with vmlinuz, config, modules/, kernel.env>
#   BUSYBOX=<path of busybox-static's binary>
# The build is cached in --out and redone only when the source version, the
# config fragment, the compiler or RECIPE below changes. It runs under
# `nice -n 19` with --jobs (default 2) jobs; its log: --out/build.log.
# Host needs (besides the rig's): flex, bison, bc, libelf-dev, libssl-dev.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM=$(dirname "$HERE")
. "$HERE/common.sh"

CACHE='' OUT='' JOBS=2
while [ $# -gt 0 ]; do
	case $1 in
	--cache) CACHE=${2:?--cache needs a folder}; shift 2 ;;
	--out) OUT=${2:?--out needs a folder}; shift 2 ;;
	--jobs) JOBS=${2:?--jobs needs a number}; shift 2 ;;
	*) die "debug-kernel.sh: unknown argument '$1'" ;;
	esac
done
[ -n "$CACHE" ] && [ -n "$OUT" ] || die "debug-kernel.sh: --cache and --out are required"
need make gcc-12 flex bison bc dpkg-deb xz sha256sum nice modinfo
for h in /usr/include/gelf.h /usr/include/openssl/ssl.h; do
	[ -e "$h" ] || die "missing $h (apt-get install libelf-dev libssl-dev; make deps-debug)"
done

FRAGMENT=$VM/debug/debug.config
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

fetched=$("$HERE/fetch.sh" --cache "$CACHE" --kernel 6.1 --source)
BUSYBOX=$(sed -n 's/^BUSYBOX=//p' <<<"$fetched")
SRC_DEB=$(sed -n 's/^SOURCE_DEB=//p' <<<"$fetched")
BASE_DIR=$(sed -n 's/^KERNEL_DIR=//p' <<<"$fetched")
[ -f "$SRC_DEB" ] && [ -x "$BUSYBOX" ] || die "fetch.sh gave no linux-source deb or busybox"
# shellcheck source=/dev/null
KVERSION=$(. "$BASE_DIR/kernel.env" && echo "$KVERSION")

exec 9>"$OUT/.lock"
flock 9

# Bump RECIPE when a change here changes what gets built.
RECIPE=1
key=$( {
	echo "$KVERSION recipe $RECIPE"
	gcc-12 --version | head -n 1
	cat "$FRAGMENT"
} | sha256sum | cut -c1-16)
dir=$OUT/kernel-6.1-debug_$KVERSION
if [ -e "$dir/.complete" ] && [ "$(cat "$dir/.key" 2>/dev/null)" = "$key" ]; then
	echo "KERNEL_DIR=$dir"
	echo "BUSYBOX=$BUSYBOX"
	exit 0
fi

LOG=$OUT/build.log
: >"$LOG"
t0=$(now)
src=$OUT/src-$KVERSION
if [ ! -e "$src/.complete" ]; then
	log "debug kernel: unpacking $(basename "$SRC_DEB")"
	rm -rf "$src"
	mkdir -p "$src"
	dpkg-deb --fsys-tarfile "$SRC_DEB" | tar -x -O --wildcards './usr/src/linux-source-*.tar.xz' |
		xz -dc | tar -x -C "$src" --strip-components=1
	touch "$src/.complete"
fi

# A changed key rebuilds in the same tree: kbuild recompiles only what the
# changed options touch.
rm -f "$dir/.complete" "$dir/.key"
obj=$dir/obj
# sysroot/usr/lib: empty, where the rig looks for a Debian kbuild's objtool.
mkdir -p "$obj" "$dir/modules" "$dir/sysroot/usr/lib"
kmake() { nice -n 19 make -C "$src" O="$obj" CC=gcc-12 HOSTCC=gcc-12 "$@" >>"$LOG" 2>&1; }

log "debug kernel: configuring (x86_64_defconfig + $(basename "$FRAGMENT"))"
kmake x86_64_defconfig || die "make x86_64_defconfig failed (log: $LOG)"
# NAME=y|m|n|"string" lines of the fragment, applied with scripts/config.
args=()
while IFS= read -r line; do
	line=${line%%#*}
	line=${line%"${line##*[![:space:]]}"}
	[ -n "$line" ] || continue
	name=${line%%=*} val=${line#*=}
	case $val in
	y) args+=(--enable "$name") ;;
	m) args+=(--module "$name") ;;
	n) args+=(--disable "$name") ;;
	\"*\") val=${val#\"}; args+=(--set-str "$name" "${val%\"}") ;;
	*) args+=(--set-val "$name" "$val") ;;
	esac
done <"$FRAGMENT"
"$src/scripts/config" --file "$obj/.config" "${args[@]}"
kmake olddefconfig || die "make olddefconfig failed (log: $LOG)"
# Every option of the fragment must have survived olddefconfig (a dependency
# left out turns an option off without a word).
bad=
while IFS= read -r line; do
	line=${line%%#*}
	line=${line%"${line##*[![:space:]]}"}
	[ -n "$line" ] || continue
	name=${line%%=*} val=${line#*=}
	if [ "$val" = n ]; then
		! grep -q "^CONFIG_$name=[ym]" "$obj/.config" || bad="$bad $name(still on)"
	else
		grep -qx "CONFIG_$name=$val" "$obj/.config" || bad="$bad $name=$val(got: $(grep "CONFIG_$name[= ]" "$obj/.config" | head -n 1))"
	fi
done <"$FRAGMENT"
[ -z "$bad" ] || die "debug kernel config: options that did not take:$bad"

log "debug kernel: building with $JOBS jobs under nice (log: $LOG)"
kmake -j"$JOBS" bzImage modules || { tail -n 30 "$LOG" >&2; die "debug kernel build failed (log: $LOG)"; }
kv=$(make -s -C "$src" O="$obj" kernelrelease 2>/dev/null | tail -n 1)
cp "$obj/arch/x86/boot/bzImage" "$dir/vmlinuz"
cp "$obj/.config" "$dir/config"
for m in irqbypass kvm ccp kvm-amd; do
	f=$(find "$obj" -name "$m.ko" | head -n 1)
	[ -n "$f" ] || die "the debug kernel built no $m.ko"
	cp "$f" "$dir/modules/$m.ko"
	# The guest loads only these four: any other dependency must be built in.
	for d in $(modinfo -F depends "$f" | tr ',' ' '); do
		case $d in irqbypass|kvm|ccp) ;; *) die "$m.ko needs module $d: build it in (debug.config)" ;; esac
	done
done
cat >"$dir/kernel.env" <<-EOF
SERIES=6.1-debug
KV=$kv
KVERSION="$KVERSION (debug build)"
KDIR=$obj
VMLINUZ=$dir/vmlinuz
TOOLPATH=$dir/no-tools
EOF
echo "$key" >"$dir/.key"
touch "$dir/.complete"
secs=$(elapsed "$t0")
log "debug kernel: $kv built in $secs s; $(du -sh "$dir" | cut -f1) in $dir, $(du -sh "$src" | cut -f1) of source"
echo "$secs" >"$dir/.build-seconds"
echo "KERNEL_DIR=$dir"
echo "BUSYBOX=$BUSYBOX"
