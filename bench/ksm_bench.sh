#!/bin/sh
# bench/ksm_bench.sh, run inside the rig by `make bench-ksm`: what self_e.ko
# costs ksmd. Two minivmm VMs of 32 MiB each hold pairwise equal pages
# (seed:), 64 MiB in all; ksmd merges them with a fixed batch size, and the
# time until pages_sharing reaches its final value gives pages merged per
# second. Measured with self_e.ko absent and with it loaded and a reader of
# every event (`cat /dev/self-e`: the text stream, the costliest reader),
# alternating, in one boot. Prints the medians and their ratio; asserts
# nothing.
. /rig/lib.sh

ROUNDS=${ROUNDS:-5}
PAGES=8192
K=/sys/kernel/mm/ksm

now_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }

# One round; prints "ms pages_sharing". $1: none|reader.
run_once() {
	echo 0 >$K/run
	vm_start b1 --mem 40 --pages $PAGES --fill seed:bench --hold 600
	vm_start b2 --mem 40 --pages $PAGES --fill seed:bench --hold 600
	vm_wait_event b1 halted 120 && vm_wait_event b2 halted 120 || return 1
	reader=
	if [ "$1" = reader ]; then
		cat /dev/self-e >/dev/null &
		reader=$!
		sleep 0.3
	fi
	echo 2000 >$K/pages_to_scan
	echo 10 >$K/sleep_millisecs
	t0=$(now_ms)
	echo 1 >$K/run
	# Each VM's data pages pair up with the other's: PAGES mappings join.
	while [ "$(cat $K/pages_sharing)" -lt $PAGES ]; do
		sleep 0.02
	done
	t1=$(now_ms)
	echo 0 >$K/run
	echo "$((t1 - t0)) $(cat $K/pages_sharing)"
	vm_end b1
	vm_end b2
	[ -n "$reader" ] && { kill "$reader"; wait "$reader" 2>/dev/null; }
	echo 2 >$K/run	# drop KSM's state: every round starts from nothing
	echo 0 >$K/run
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

: >"$TMP/absent"; : >"$TMP/reader"
i=0
while [ $i -lt "$ROUNDS" ]; do
	# The module goes in and out only while no guest runs (tests/vm/README.md).
	rmmod self_e
	run_once none | cut -d' ' -f1 >>"$TMP/absent"
	insmod /rig/modules/self_e.ko
	run_once reader | cut -d' ' -f1 >>"$TMP/reader"
	i=$((i + 1))
done

a=$(median <"$TMP/absent")
r=$(median <"$TMP/reader")
echo "bench: ksmd merging 2 x $PAGES equal pages (64 MiB), median of $ROUNDS rounds each:"
for s in absent reader; do
	m=$(median <"$TMP/$s")
	echo "bench:   $s: $m ms, $(awk -v m="$m" -v p=$PAGES 'BEGIN { printf "%.0f", p * 1000 / m }') pages merged/s  [$(tr '\n' ' ' <"$TMP/$s")]"
done
echo "bench: merge rate with a reader / without: $(awk -v a="$a" -v r="$r" 'BEGIN { printf "%.3f", a / r }') (target >= 0.95)"
