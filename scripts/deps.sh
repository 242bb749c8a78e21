#!/usr/bin/env bash
# Install the Debian packages SELF-e builds and tests with.
#   deps.sh install            install (or upgrade to) all of them
#   deps.sh check-or-install   install only when something is missing
set -euo pipefail

packages=(
	build-essential cmake pkg-config	# user space and Kbuild (gcc-12 = Debian's kernels' compiler)
	libfmt-dev libnl-3-dev libnl-genl-3-dev	# libself and the tools
	libzstd-dev libpng-dev			# recordings (zstd), heatmap PNGs
	catch2					# unit tests
	clang libclang-rt-14-dev		# libFuzzer targets (Debian 12's clang 14 and its fuzzer runtime)
	libcli11-dev nlohmann-json3-dev		# self-e: argument parsing, JSON (header-only, so static builds work)
	libcpp-httplib-dev dpkg-dev		# self-e export's HTTP (static builds: its Debian source, dpkg-source)
	prometheus				# promtool and a real server for the exporter's host test
	qemu-system-x86 busybox-static xz-utils	# the kernel rig
	libelf1 libssl3 zlib1g			# run by the kernels' prebuilt kbuild tools
)
# `make test-debug` only: building the debug kernel from linux-source-6.1.
debug_packages=(flex bison bc libelf-dev libssl-dev)

missing() {
	local p
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			echo "$p"
	done
}

install() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: installing packages needs root; missing: $*" >&2
		exit 1
	fi
	echo "deps: installing $*"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

case "${1:-}" in
install)
	install "${packages[@]}"
	;;
check-or-install)
	mapfile -t need < <(missing)
	[ "${#need[@]}" -eq 0 ] || install "${need[@]}"
	;;
check-or-install-debug)
	packages+=("${debug_packages[@]}")
	mapfile -t need < <(missing)
	[ "${#need[@]}" -eq 0 ] || install "${need[@]}"
	;;
*)
	echo "usage: $0 install|check-or-install|check-or-install-debug" >&2
	exit 2
	;;
esac
