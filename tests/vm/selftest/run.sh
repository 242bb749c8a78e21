#!/bin/bash
# The rig's own failure modes, each in one boot (not part of the normal run):
#   ok     a passing script           -> rig exits 0 (control)
#   exit3  a script that exits 3      -> rig exits 3, names rig/exit-status
#   warn   a fake kernel WARNING      -> rig exits non-zero, names rig/kernel-log
#   sleep  a script past --timeout    -> rig exits non-zero, says timeout
#   panic  a real kernel panic        -> rig exits non-zero before the timeout,
#                                        names rig/finished and the panic
# Prints one PASS/FAIL line per case and "N passed, N failed" last.
#
#   tests/vm/selftest/run.sh [--kernel 6.1|6.12]
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RIG=$HERE/../rig
KERNEL=6.1
case ${1:-} in
--kernel) KERNEL=${2:?--kernel needs 6.1 or 6.12} ;;
'') ;;
*) echo "usage: run.sh [--kernel 6.1|6.12]" >&2; exit 2 ;;
esac
TIMEOUT=40	# for the sleep case: the guest reaches the script after about 10 s
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

passed=0 failed=0
verdict() {	# verdict NAME ERRORS
	if [ -z "$2" ]; then
		echo "PASS rig-selftest/$1"
		passed=$((passed + 1))
	else
		echo "FAIL rig-selftest/$1:$2"
		failed=$((failed + 1))
	fi
}

# run CASE [rig args...]: the rig's output in $OUT/CASE.out, status in RC,
# wall time in SECS.
run() {
	local c=$1 t0
	shift
	echo "== rig-selftest: $c"
	t0=$(date +%s)
	"$RIG" --kernel "$KERNEL" --exec "$HERE/cases/$c.sh" "$@" >"$OUT/$c.out" 2>&1
	RC=$?
	SECS=$(($(date +%s) - t0))
	# The rig's verdict lines, for the reader.
	grep -E '^(PASS|FAIL) rig/|^    |^[0-9]+ passed, [0-9]+ failed$' "$OUT/$c.out" | sed 's/^/  /'
}

run ok
e=
[ "$RC" -eq 0 ] || e="$e exit status $RC, want 0;"
grep -q '^PASS selftest/ok$' "$OUT/ok.out" || e="$e no 'PASS selftest/ok' from the guest;"
grep -qx '3 passed, 0 failed' "$OUT/ok.out" || e="$e summary is not '3 passed, 0 failed';"
verdict ok "$e"

run exit3
e=
[ "$RC" -eq 3 ] || e="$e exit status $RC, want 3;"
grep -q '^FAIL rig/exit-status: the guest exited 3' "$OUT/exit3.out" || e="$e no 'FAIL rig/exit-status' line;"
grep -qx '2 passed, 1 failed' "$OUT/exit3.out" || e="$e summary is not '2 passed, 1 failed';"
verdict exit3 "$e"

run warn
e=
[ "$RC" -ne 0 ] || e="$e exit status 0, want non-zero;"
grep -q '^FAIL rig/kernel-log: .*WARNING: CPU: 0 PID: 1 at selftest' "$OUT/warn.out" ||
	e="$e no 'FAIL rig/kernel-log' line naming the WARNING;"
grep -qx '2 passed, 1 failed' "$OUT/warn.out" || e="$e summary is not '2 passed, 1 failed';"
verdict warn "$e"

run sleep --timeout "$TIMEOUT"
e=
[ "$RC" -ne 0 ] || e="$e exit status 0, want non-zero;"
grep -q "^FAIL rig/finished: timeout" "$OUT/sleep.out" || e="$e no 'FAIL rig/finished: timeout' line;"
grep -q '^selftest: sleeping past the timeout' "$OUT/sleep.out" || e="$e the guest never reached the script;"
[ "$SECS" -lt $((TIMEOUT + 60)) ] || e="$e took $SECS s with --timeout $TIMEOUT;"
verdict sleep "$e"

run panic --timeout "$TIMEOUT"
e=
[ "$RC" -ne 0 ] || e="$e exit status 0, want non-zero;"
# The script's own output may die with the kernel; the kernel's line does not.
grep -q 'sysrq: Trigger a crash' "$OUT/panic.out" || e="$e the guest never reached the script;"
grep -q "^FAIL rig/finished: QEMU exited" "$OUT/panic.out" || e="$e no 'FAIL rig/finished: QEMU exited' line;"
grep -q '^FAIL rig/kernel-log: .*Kernel panic' "$OUT/panic.out" || e="$e no 'FAIL rig/kernel-log' line naming the panic;"
grep -q '^FAIL rig/finished: timeout' "$OUT/panic.out" && e="$e the rig waited for the timeout;"
verdict panic "$e"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
