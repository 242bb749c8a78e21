#!/bin/bash
# Fetch what the rig boots and builds against, with `apt-get download` only:
# nothing is installed on the host. Everything lands in a cache folder that is
# reused on the next run.
#
#   fetch.sh --cache DIR --kernel 6.1|6.12 [--source]
#
# prints two lines for the caller to read:
#   KERNEL_DIR=<folder of the resolved kernel>
#   BUSYBOX=<path of busybox-static's binary>
# and with --source a third, SOURCE_DEB=<linux-source-SERIES .deb of the same
# version> (for the debug kernel, lib/debug-kernel.sh).
#
# The kernel folder holds vmlinuz, config, modules/{irqbypass,kvm,ccp,kvm-amd}.ko
# (decompressed), sysroot/ (headers, kbuild, pahole when kbuild needs it) and
# kernel.env (KV, KVERSION, KDIR, VMLINUZ, TOOLPATH).
#
# A private apt configuration (own sources list, lists and cache under the
# cache folder) adds bookworm-backports. It reuses the mirror URIs that the
# host's own apt sources name, so no host name is written into the repo.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/common.sh"

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

usage() { echo "usage: fetch.sh --cache DIR --kernel 6.1|6.12 [--source]"; }

CACHE='' SERIES='' SOURCE=''
while [ $# -gt 0 ]; do
	case $1 in
	--cache) CACHE=${2:?--cache needs a folder}; shift 2 ;;
	--kernel) SERIES=${2:?--kernel needs 6.1 or 6.12}; shift 2 ;;
	--source) SOURCE=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "fetch.sh: unknown argument '$1'" ;;
	esac
done
[ -n "$CACHE" ] && [ -n "$SERIES" ] || { usage >&2; die "fetch.sh: --cache and --kernel are required"; }
need apt-get apt-cache dpkg-deb xz flock
[ -r "$KEYRING" ] || die "$KEYRING is missing (apt-get install debian-archive-keyring)"

mkdir -p "$CACHE/debs"
CACHE=$(cd "$CACHE" && pwd)
APTDIR=$CACHE/apt

# Two rigs started at once must not extract into the same folder.
exec 9>"$CACHE/.lock"
flock 9

. "$HERE/apt-sources.sh"

APT=(-o "Dir::Etc::SourceList=$APTDIR/sources.list"
	-o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$APTDIR/lists"
	-o "Dir::Cache=$APTDIR/cache"
	-o Dir::Etc::Preferences=/dev/null
	-o "Dir::Etc::PreferencesParts=$APTDIR/preferences.d"
	-o Acquire::Languages=none
	-q)
# As root, apt would switch to the _apt user, which cannot write our folders.
[ "$(id -u)" -ne 0 ] || APT+=(-o APT::Sandbox::User=root)

APT_BASE=("${APT[@]}")

apt_setup() {
	local main sec upd opt="[signed-by=$KEYRING]"
	main=$(uri_for bookworm)
	[ -n "$main" ] || die "no apt source of the host serves the Debian 'bookworm' suite (looked in /etc/apt/sources.list and sources.list.d/*.list|*.sources)"
	sec=$(uri_for bookworm-security)
	upd=$(uri_for bookworm-updates)
	mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$APTDIR/preferences.d"
	{
		echo "# Written by tests/vm/lib/fetch.sh from the host's apt sources."
		echo "deb $opt $main bookworm main"
		[ -z "$upd" ] || echo "deb $opt $upd bookworm-updates main"
		[ -z "$sec" ] || echo "deb $opt $sec bookworm-security main"
		echo "deb $opt $main bookworm-backports main"
	} >"$APTDIR/sources.list.new"
	# Security updates move the 6.1 ABI, so the lists are updated on every
	# run, except within RIG_APT_MAX_AGE seconds (default 600) of the last
	# update with the same sources: `make test` boots the rig several times.
	if cmp -s "$APTDIR/sources.list.new" "$APTDIR/sources.list" &&
		[ -e "$APTDIR/lists/.updated" ] &&
		[ $(($(date +%s) - $(stat -c %Y "$APTDIR/lists/.updated"))) -lt "${RIG_APT_MAX_AGE:-600}" ]; then
		rm "$APTDIR/sources.list.new"
		return 0
	fi
	mv "$APTDIR/sources.list.new" "$APTDIR/sources.list"
	rm -f "$APTDIR/lists/.updated"
	# Offline, go on with the lists we have, if any.
	if apt-get "${APT[@]}" -qq update >"$APTDIR/update.log" 2>&1; then
		touch "$APTDIR/lists/.updated"
	else
		if ls "$APTDIR"/lists/*Packages* >/dev/null 2>&1; then
			log "warning: apt-get update failed, using the lists from the last run ($APTDIR/update.log)"
		else
			cat "$APTDIR/update.log" >&2
			die "apt-get update of the private lists failed"
		fi
	fi
}

# candidate PKG [apt options...]: the version apt would pick.
candidate() {
	local p=$1; shift
	apt-cache "${APT[@]}" "$@" policy "$p" | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'
}

# dep PKG=VER REGEX: "NAME VERSION" of the first dependency whose name matches
# REGEX (first alternative only; VERSION is empty without a constraint).
dep() {
	apt-cache "${APT[@]}" show "$1" | awk -v re="$2" '
		/^$/ { exit }
		/^Depends:/ {
			sub(/^Depends:[ \t]*/, "")
			n = split($0, D, /,[ \t]*/)
			for (i = 1; i <= n; i++) {
				a = D[i]; sub(/[ \t]*\|.*/, "", a)
				name = a; sub(/[ \t(].*/, "", name)
				if (name !~ re) continue
				ver = ""
				if (match(a, /\([^)]*\)/)) { ver = substr(a, RSTART + 1, RLENGTH - 2); sub(/^[<>=]+[ \t]*/, "", ver) }
				print name, ver; exit
			}
		}'
}

# deb_path NAME=VER: the file apt-get download makes for it (arch amd64 or all).
deb_path() {
	local name=${1%%=*} ver=${1#*=} f
	for f in "$CACHE/debs/${name}_${ver//:/%3a}"_{amd64,all}.deb; do
		[ -s "$f" ] && { echo "$f"; return 0; }
	done
	return 1
}

# download NAME=VER...: into debs/ unless already there; sets DEBS to the paths.
download() {
	local spec file missing=()
	for spec in "$@"; do
		deb_path "$spec" >/dev/null || missing+=("$spec")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		log "downloading ${missing[*]}"
		(cd "$CACHE/debs" && apt-get "${APT[@]}" -qq download "${missing[@]}") >&2 ||
			die "apt-get download failed for: ${missing[*]}"
	fi
	DEBS=()
	for spec in "$@"; do
		file=$(deb_path "$spec") || die "apt-get download did not produce a .deb for $spec"
		DEBS+=("$file")
	done
}

fetch_kernel() {
	local series=$1 rel=() meta ver image kv headers common kbuild kbuild_min kbuild_ver pahole dir tmp f m
	case $series in
	6.1) ;;
	6.12) rel=(-o APT::Default-Release=bookworm-backports) ;;
	*) die "unknown kernel '$series' (6.1 or 6.12)" ;;
	esac
	# The metapackage names the current ABI; resolve it every run.
	meta=$(candidate linux-image-amd64 "${rel[@]}")
	[ -n "$meta" ] || die "apt knows no linux-image-amd64"
	case $meta in
	"$series".*) ;;
	*) die "linux-image-amd64 resolves to $meta, not a $series kernel" ;;
	esac
	read -r image ver < <(dep "linux-image-amd64=$meta" '^linux-image-') || true
	kv=${image#linux-image-}
	[ -n "$kv" ] && [ -n "$ver" ] || die "cannot read the image package from linux-image-amd64=$meta"
	APT+=("${rel[@]}")
	headers=linux-headers-$kv
	common=$(dep "$headers=$ver" '^linux-headers-.*-common$' | cut -d' ' -f1)
	read -r kbuild kbuild_min < <(dep "$headers=$ver" '^linux-kbuild-') || true
	[ -n "$common" ] && [ -n "$kbuild" ] || die "cannot read the dependencies of $headers=$ver"
	# The headers want kbuild ">=" their version, not "=": Debian rebuilds
	# kbuild alone at times (6.1.192-2's headers met kbuild 6.1.192-3 only),
	# so take the version apt would install, and check that it is enough.
	kbuild_ver=$(candidate "$kbuild")
	[ -n "$kbuild_ver" ] || die "apt knows no $kbuild"
	[ -z "$kbuild_min" ] || dpkg --compare-versions "$kbuild_ver" ge "$kbuild_min" ||
		die "$headers=$ver needs $kbuild >= $kbuild_min; apt has $kbuild_ver"
	# 6.12's kbuild runs pahole for module BTF (its headers ship a BTF vmlinux).
	pahole=$(dep "$kbuild=$kbuild_ver" '^pahole$' | cut -d' ' -f1)

	[ -z "$pahole" ] || pahole="pahole=$(candidate pahole)"
	APT=("${APT_BASE[@]}")

	dir=$CACHE/kernel-${kv}_$ver
	if [ ! -e "$dir/.complete" ]; then
		download "$image=$ver" "$headers=$ver" "$common=$ver" "$kbuild=$kbuild_ver" ${pahole:+"$pahole"}
		local debs=("${DEBS[@]}")
		log "extracting $kv ($ver)"
		rm -rf "$dir"
		tmp=$dir/tmp
		mkdir -p "$tmp" "$dir/modules" "$dir/sysroot"
		# Only what the guest needs from the 70-110 MB image package.
		dpkg-deb --fsys-tarfile "${debs[0]}" | tar -x -C "$tmp" --wildcards \
			"./boot/vmlinuz-$kv" "./boot/config-$kv" \
			'*/kernel/virt/lib/irqbypass.ko*' '*/kernel/arch/x86/kvm/kvm.ko*' \
			'*/kernel/arch/x86/kvm/kvm-amd.ko*' '*/kernel/drivers/crypto/ccp/ccp.ko*'
		mv "$tmp/boot/vmlinuz-$kv" "$dir/vmlinuz"
		mv "$tmp/boot/config-$kv" "$dir/config"
		for m in irqbypass kvm ccp kvm-amd; do
			f=$(find "$tmp" -name "$m.ko" -o -name "$m.ko.xz" | head -n1)
			[ -n "$f" ] || die "$m.ko is not in ${debs[0]}"
			case $f in
			*.xz) xz -dc "$f" >"$dir/modules/$m.ko" ;;  # 6.12 ships .ko.xz
			*) mv "$f" "$dir/modules/$m.ko" ;;
			esac
		done
		rm -rf "$tmp"
		for f in "${debs[@]:1}"; do dpkg-deb -x "$f" "$dir/sysroot"; done
		# The headers' Makefile is one line, `include /usr/src/...-common/Makefile`:
		# point it into the sysroot instead of the host's /usr/src.
		sed -i "s#^include /usr/src/#include $dir/sysroot/usr/src/#" \
			"$dir/sysroot/usr/src/$headers/Makefile"
		cat >"$dir/kernel.env" <<-EOF
		SERIES=$series
		KV=$kv
		KVERSION=$ver
		KDIR=$dir/sysroot/usr/src/$headers
		VMLINUZ=$dir/vmlinuz
		TOOLPATH=$dir/sysroot/usr/bin
		EOF
		touch "$dir/.complete"
	fi
	echo "KERNEL_DIR=$dir"
	if [ -n "$SOURCE" ]; then
		# Debian's patched source of exactly this kernel (same version).
		APT+=("${rel[@]}")
		download "linux-source-$series=$ver"
		APT=("${APT_BASE[@]}")
		echo "SOURCE_DEB=${DEBS[0]}"
	fi
}

fetch_busybox() {
	local ver dir
	ver=$(candidate busybox-static)
	[ -n "$ver" ] || die "apt knows no busybox-static"
	dir=$CACHE/busybox-${ver//:/_}
	if [ ! -x "$dir/busybox" ]; then
		download "busybox-static=$ver"
		mkdir -p "$dir"
		dpkg-deb --fsys-tarfile "${DEBS[0]}" | tar -x -O ./bin/busybox >"$dir/busybox.new"
		chmod 755 "$dir/busybox.new"
		mv "$dir/busybox.new" "$dir/busybox"
	fi
	echo "BUSYBOX=$dir/busybox"
}

apt_setup
fetch_kernel "$SERIES"
fetch_busybox
