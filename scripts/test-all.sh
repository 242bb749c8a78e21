#!/usr/bin/env bash
# `make test`: every test SELF-e has, in order, each step's output kept in
# build/results/, and one closing line "N passed, N failed" over all of them.
# A step that fails without printing counts counts as one failed test.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
RESULTS=$BUILD/results
mkdir -p "$RESULTS"
rm -f "$RESULTS"/*.log

total_pass=0
total_fail=0

# Counts from the output of ctest ("100% tests passed, 0 tests failed out of 16")
# or of the rig and other runners ("12 passed, 0 failed", last such line).
counts() {
	local log=$1 line
	line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		local failed total
		failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
		total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
		echo "$((total - failed)) $failed"
		return
	fi
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	[ -n "$line" ] && sed -E 's/^([0-9]+) passed, ([0-9]+) failed.*/\1 \2/' <<<"$line"
}

step() {
	local name=$1
	shift
	local log=$RESULTS/$name.log start rc pass fail c
	echo "=== $name: $*"
	start=$(date +%s)
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	c=$(counts "$log")
	if [ -n "$c" ]; then
		read -r pass fail <<<"$c"
	else
		pass=0
		fail=0
	fi
	# A step that failed but reported no failed test still counts as one.
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=1
	fi
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	echo "=== $name: $pass passed, $fail failed, exit $rc, $(($(date +%s) - start)) s"
}

MAKE_ARGS=(-C "$ROOT" --no-print-directory BUILD="$BUILD")

step build make "${MAKE_ARGS[@]}" debug tsan asan static
step unit ctest --test-dir "$BUILD/debug" --output-on-failure
step unit-tsan ctest --test-dir "$BUILD/tsan" --output-on-failure
step unit-asan ctest --test-dir "$BUILD/asan" --output-on-failure
step fuzz make "${MAKE_ARGS[@]}" fuzz
if [ -f "$ROOT/tests/vm/rig.mk" ]; then
	step rig-6.1 make "${MAKE_ARGS[@]}" rig-6.1
	step rig-6.12 make "${MAKE_ARGS[@]}" rig-6.12
	step rig-shadow make "${MAKE_ARGS[@]}" rig-shadow
fi

echo
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
