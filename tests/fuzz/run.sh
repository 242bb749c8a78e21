#!/usr/bin/env bash
# `make fuzz`: run each libFuzzer target of build/fuzz for FUZZ_TIME seconds
# (default 20), starting from its seed corpus in tests/fuzz/corpus/<target>/
# (new inputs go to build/fuzz/corpus/<target>/, crashes to
# build/fuzz/artifacts/). One line per target, "PASS fuzz/<target>: ..." or
# "FAIL fuzz/<target>: ...", then "N passed, N failed". Reproduce a crash with
# build/fuzz/tests/fuzz/<target> <artifact>.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
FUZZ_TIME=${FUZZ_TIME:-20}
BIN=$BUILD/fuzz/tests/fuzz
passed=0 failed=0

mkdir -p "$BUILD/fuzz/artifacts"
for seeds in "$ROOT"/tests/fuzz/corpus/*/; do
	t=$(basename "$seeds")
	work=$BUILD/fuzz/corpus/$t
	log=$BUILD/fuzz/$t.log
	mkdir -p "$work"
	if [ ! -x "$BIN/$t" ]; then
		echo "FAIL fuzz/$t: no $BIN/$t (make fuzz builds it)"
		failed=$((failed + 1))
		continue
	fi
	# -close_fd_mask=3: the targets' own output (self-e's help and errors)
	# is not wanted; libFuzzer and the sanitizers still report.
	"$BIN/$t" -max_total_time="$FUZZ_TIME" -timeout=10 -rss_limit_mb=2048 -close_fd_mask=3 \
		-print_final_stats=1 -artifact_prefix="$BUILD/fuzz/artifacts/$t-" \
		"$work" "$seeds" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		echo "PASS fuzz/$t: ${runs:-?} runs in $FUZZ_TIME s, $cov"
		passed=$((passed + 1))
	else
		echo "FAIL fuzz/$t: exit $rc, $(grep -m 1 -E 'ERROR|SUMMARY|Test unit written' "$log") (log: $log)"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
