#!/bin/sh
# bench/ws_bench.sh, run inside the rig by `make bench-ws`: what access
# sampling costs a guest that keeps using its memory. minivmm's guest reads
# one word of each of 4096 pages over and over (--loop); its passes per second
# are measured with a reader attached and sampling off, at 1 s and at 100 ms.
# Runs alternate between the setups so drift hits all alike; the median of
# each is compared with "off" from the same boot. Prints ratios and the
# module's own time per sampling pass, asserts nothing.
. /rig/lib.sh

ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-4}
PAGES=4096

# One run; prints passes per second. $1: sampling interval in ms, 0 = off.
run_once() {
	vm_start bench --mem 32 --pages $PAGES --fill unique --no-merge --loop "$SECONDS_PER_RUN"
	vm_wait_event bench halted 60 || exit 1
	if [ "$1" -gt 0 ]; then
		self-e trace --pid "$bench_pid" --type sample --sample-interval "$1" >/dev/null 2>&1 &
	else
		self-e trace --pid "$bench_pid" --type sample >/dev/null 2>&1 &
	fi
	reader=$!
	vm_wait_event bench looped $((SECONDS_PER_RUN + 60)) || exit 1
	if [ "$1" -gt 0 ]; then
		self-e list --json | tr -d ' \n' | sed 's/},{"vm_id"/}\n{"vm_id"/g' | grep "\"pid\":$bench_pid," |
			sed -n 's/.*"sampling":{[^}]*"passes":\([0-9]*\),"ns":\([0-9]*\)}.*/\1 \2/p' >>"$TMP/cost-$1"
	fi
	wait "$bench_pid"
	kill "$reader" 2>/dev/null
	wait "$reader" 2>/dev/null
	l=$(grep '"looped"' "$TMP/bench.out")
	awk -v p="$(json "$TMP/bench.out" passes)" -v ms="$(echo "$l" | sed -n 's/.*"run_ms":\([0-9]*\).*/\1/p')" \
		'BEGIN { printf "%.0f\n", p * 1000 / ms }'
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

: >"$TMP/off"; : >"$TMP/s1000"; : >"$TMP/s100"; : >"$TMP/cost-1000"; : >"$TMP/cost-100"
i=0
while [ $i -lt "$ROUNDS" ]; do
	run_once 0 >>"$TMP/off"
	run_once 1000 >>"$TMP/s1000"
	run_once 100 >>"$TMP/s100"
	i=$((i + 1))
done

off=$(median <"$TMP/off")
echo "bench: minivmm --loop over $PAGES pages, passes/s, median of $ROUNDS runs of $SECONDS_PER_RUN s each:"
for s in off s1000 s100; do
	m=$(median <"$TMP/$s")
	echo "bench:   sampling $s: $m passes/s  [$(tr '\n' ' ' <"$TMP/$s")]  ratio to off $(awk -v m="$m" -v a="$off" 'BEGIN { printf "%.3f", m / a }')"
done
for s in 1000 100; do
	awk -v s=$s '{ p += $1; ns += $2 } END { if (p) printf "bench:   module time per pass at %s ms: %.0f us over %d pages (%d passes)\n", s, ns / p / 1000, '$PAGES' + 256, p }' "$TMP/cost-$s"
done
echo "bench: target: sampling at 1 s >= 0.97 x off"
