#!/bin/bash
# Builds the kernel's own page-types tool (tools/vm/page-types.c) from
# Debian's linux-source-6.1, the version the rig boots, for snapshot_bench's
# baseline. The .deb comes through the rig's fetch (apt-get download into the
# rig's cache; nothing installed). Prints the binary's path; reuses it.
#
#   bench/page-types.sh [BUILD]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-${BUILD:-$ROOT/build}}
mkdir -p "$BUILD/bench"
BUILD=$(cd "$BUILD" && pwd)

fetched=$("$ROOT/tests/vm/lib/fetch.sh" --cache "$BUILD/vm-cache" --kernel 6.1 --source)
deb=$(sed -n 's/^SOURCE_DEB=//p' <<<"$fetched")
[ -f "$deb" ] || { echo "page-types.sh: fetch.sh gave no linux-source .deb" >&2; exit 2; }
out=$BUILD/bench/page-types-$(basename "$deb" .deb)
if [ ! -x "$out/page-types" ]; then
	echo "page-types.sh: building page-types from $(basename "$deb")" >&2
	work=$(mktemp -d "$BUILD/bench/page-types.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	# Only what tools/vm's Makefile needs: libapi, tools' headers and two uapi headers.
	dpkg-deb --fsys-tarfile "$deb" | tar -x -O --wildcards './usr/src/linux-source-*.tar.xz' |
		tar -xJ -C "$work" --strip-components=1 --wildcards \
			'*/tools/vm/*' '*/tools/lib/*' '*/tools/include/*' '*/tools/build/*' \
			'*/tools/scripts/*' '*/tools/arch/*' \
			'*/include/uapi/linux/magic.h' '*/include/uapi/linux/kernel-page-flags.h'
	make -s -C "$work/tools/vm" page-types >&2
	mkdir -p "$out"
	cp "$work/tools/vm/page-types" "$out/page-types"
fi
echo "$out/page-types"
