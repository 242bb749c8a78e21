# Helpers shared by the host-side rig scripts (sourced, not run).
# shellcheck shell=bash

# Progress goes to stderr so that stdout stays the guest's output + the summary.
log() { printf 'rig: %s\n' "$*" >&2; }
die() { printf 'rig: error: %s\n' "$*" >&2; exit 2; }

# Seconds since the epoch with centiseconds, for phase timings.
now() { date +%s.%N | cut -c1-13; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# need CMD...: fail early with the package that provides a missing host tool.
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 && continue
		case $c in
		qemu-system-x86_64) die "missing $c (apt-get install qemu-system-x86)" ;;
		xz) die "missing $c (apt-get install xz-utils)" ;;
		apt-get|apt-cache|dpkg-deb) die "missing $c: the rig needs a Debian host" ;;
		*) die "missing host tool: $c" ;;
		esac
	done
}
