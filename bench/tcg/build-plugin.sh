#!/bin/bash
# Builds bench/tcg/insn_marks.c, the QEMU plugin the rig's benchmarks count
# instructions with, against the plugin header of the QEMU installed here:
# the header (include/qemu/qemu-plugin.h) comes from that version's Debian
# source package, fetched with `apt-get source --download-only` through a
# private apt configuration that reuses the host's mirrors. Prints the .so's
# path; reuses it while QEMU's version stays the same.
#
#   bench/tcg/build-plugin.sh [BUILD]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$ROOT/tests/vm/lib/common.sh"
. "$ROOT/tests/vm/lib/apt-sources.sh"
BUILD=${1:-${BUILD:-$ROOT/build}}
mkdir -p "$BUILD/bench"
BUILD=$(cd "$BUILD" && pwd)
need apt-get dpkg-query gcc xz

pkg=qemu-system-x86
bin_ver=$(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null) || die "$pkg is not installed (make deps)"
src=$(dpkg-query -W -f '${source:Package}' "$pkg")
src_ver=$(dpkg-query -W -f '${source:Version}' "$pkg")
out=$BUILD/bench/insn_marks-${src_ver//[:~+]/_}.so
if [ -f "$out" ] && [ "$out" -nt "$HERE/insn_marks.c" ]; then
	echo "$out"
	exit 0
fi

dir=$BUILD/bench/qemu-source
mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
{
	for suite in bookworm bookworm-updates bookworm-security; do
		uri=$(uri_for "$suite")
		[ -z "$uri" ] || echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main"
	done
} >"$dir/sources.list"
[ -s "$dir/sources.list" ] || die "no apt source of the host serves Debian bookworm"
APT=(-o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o Acquire::Languages=none -q)
[ "$(id -u)" -ne 0 ] || APT+=(-o APT::Sandbox::User=root)
log "fetching the source of $src $src_ver (QEMU $bin_ver) for its plugin header"
apt-get "${APT[@]}" -qq update >&2
(cd "$dir" && apt-get "${APT[@]}" -qq source --download-only "$src=$src_ver") >&2
orig=$(ls "$dir"/"${src}"_*.orig.tar.xz | head -n 1)
tar -xJf "$orig" -C "$dir" --wildcards --strip-components=3 '*/include/qemu/qemu-plugin.h'
gcc -O2 -Wall -Wextra -shared -fPIC -I"$dir" -o "$out.new" "$HERE/insn_marks.c"
mv "$out.new" "$out"
echo "$out"
