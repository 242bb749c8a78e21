#!/bin/sh
# Runs every /rig/tests/*.sh in name order. Each prints one PASS/FAIL line per
# check. A file that exits non-zero without a FAIL line, or prints no result
# at all, gets a FAIL line here, so a crashed test cannot pass unnoticed.
# Exit status: 0 when no check failed.

rc=0
for t in /rig/tests/*.sh; do
	name=$(basename "$t" .sh)
	echo "# $name"
	{ sh "$t"; echo $? >/tmp/suite.rc; } 2>&1 | tee /tmp/suite.out
	st=$(cat /tmp/suite.rc)
	if grep -q '^FAIL ' /tmp/suite.out; then
		rc=1
	elif [ "$st" != 0 ]; then
		echo "FAIL $name: exited $st without a FAIL line"
		rc=1
	elif ! grep -q '^PASS ' /tmp/suite.out; then
		echo "FAIL $name: printed no PASS or FAIL line"
		rc=1
	fi
done
exit $rc
