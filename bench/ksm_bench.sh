#!/bin/sh
# bench/ksm_bench.sh, run inside the rig by `make bench-ksm`: what self_e.ko
# costs ksmd. Two minivmm VMs of 32 MiB each hold pairwise equal pages
# (seed:), 64 MiB in all; ksmd merges them with a fixed batch size, and the
# time until pages_sharing reaches its final value gives pages merged per
# second of ksmd's own CPU time (/proc/PID/schedstat: the wall clock in the
# rig mostly measures who else the single emulated CPU thread runs).
# Measured, alternating in one boot, with self_e.ko absent, loaded
# but idle, attached (kmodtest cycle-reader on each VM's mapped ring: it
# drains every 10 ms and never polls, so the module never wakes it; libself's
# readers poll and are woken), and with the text stream (`cat /dev/self-e`,
# which formats every event in the kernel and is woken like a poller). Prints the medians and their ratios; asserts nothing.
#
# `make bench-ksm` boots the guest with one vCPU and QEMU's -icount, so the
# guest's clock counts emulated instructions: ksmd's time is then the work
# done in its context (KSM, self_e.ko's hooks, interrupts it takes), the
# same in every round whatever the host does, and a reader's own work, a
# task of its own on that vCPU, is not in it. With the rig's usual two
# real-time vCPUs on one host thread (BENCH_KSM_QEMU=), a reader's work on
# the other vCPU and the host's load stretch ksmd's measured time too.
. /rig/lib.sh

ROUNDS=${ROUNDS:-5}
PAGES=8192
K=/sys/kernel/mm/ksm

KSMD=$(pidof ksmd)
# ksmd's time on a CPU so far, in ms.
ksmd_ms() { read -r ns _ <"/proc/$KSMD/schedstat"; echo $((ns / 1000000)); }

# One round; prints "ms pages_sharing". $1: none|attached|text.
run_once() {
	echo 0 >$K/run
	vm_start b1 --mem 40 --pages $PAGES --fill seed:bench --hold 600
	vm_start b2 --mem 40 --pages $PAGES --fill seed:bench --hold 600
	vm_wait_event b1 halted 120 && vm_wait_event b2 halted 120 || return 1
	reader=
	case $1 in
	attached)
		KMODTEST_PID=$b1_pid KMODTEST_MS=60000 kmodtest cycle-reader >/dev/null 2>&1 &
		reader=$!
		KMODTEST_PID=$b2_pid KMODTEST_MS=60000 kmodtest cycle-reader >/dev/null 2>&1 &
		reader="$reader $!"
		sleep 0.3
		;;
	text)
		cat /dev/self-e >/dev/null &
		reader=$!
		sleep 0.3
		;;
	esac
	echo 2000 >$K/pages_to_scan
	echo 10 >$K/sleep_millisecs
	t0=$(ksmd_ms)
	echo 1 >$K/run
	# Each VM's data pages pair up with the other's: PAGES mappings join.
	sharing=0
	while [ "$sharing" -lt $PAGES ]; do
		sleep 0.05
		read -r sharing <$K/pages_sharing
	done
	t1=$(ksmd_ms)
	echo 0 >$K/run
	echo "$((t1 - t0)) $(cat $K/pages_sharing)"
	vm_end b1
	vm_end b2
	[ -n "$reader" ] && { kill $reader; wait $reader 2>/dev/null; }
	echo 2 >$K/run	# drop KSM's state: every round starts from nothing
	echo 0 >$K/run
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

: >"$TMP/absent"; : >"$TMP/idle"; : >"$TMP/attached"; : >"$TMP/text"
i=0
while [ $i -lt "$ROUNDS" ]; do
	# The module goes in and out only while no guest runs (tests/vm/README.md).
	rmmod self_e
	run_once none | cut -d' ' -f1 >>"$TMP/absent"
	insmod /rig/modules/self_e.ko
	run_once none | cut -d' ' -f1 >>"$TMP/idle"
	run_once attached | cut -d' ' -f1 >>"$TMP/attached"
	run_once text | cut -d' ' -f1 >>"$TMP/text"
	i=$((i + 1))
done

a=$(median <"$TMP/absent")
echo "bench: ksmd merging 2 x $PAGES equal pages (64 MiB), ksmd CPU ms, median of $ROUNDS rounds each ($(nproc) vCPU, $(uname -r)):"
for s in absent idle attached text; do
	m=$(median <"$TMP/$s")
	echo "bench:   $s: $m ms, $(awk -v m="$m" -v p=$PAGES 'BEGIN { printf "%.0f", p * 1000 / m }') pages merged per ksmd CPU second, rate vs absent $(awk -v a="$a" -v m="$m" 'BEGIN { printf "%.3f", a / m }')  [$(tr '\n' ' ' <"$TMP/$s")]"
done
echo "bench: target: attached >= 0.95 x absent"
