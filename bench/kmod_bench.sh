#!/bin/sh
# bench/kmod_bench.sh, run inside the rig by `make bench-kmod`: what tracing
# costs a faulting guest. minivmm's guest writes 16384 pages (one KVM fault
# each); its run time is measured with self_e.ko absent, loaded but idle,
# attached with a reader consuming the mmapped ring, attached with a reader
# that is stopped while the guest runs (a ring big enough for every event:
# the producers' cost alone), and, for comparison, with the kernel's own
# tracing of kvm:kvm_page_fault read from trace_pipe.
# The guest (minivmm, its vCPU thread, the module's hooks in its faults) runs
# on CPU 1, readers on CPU 0, as on a host whose reader has a core of its
# own: make bench-kmod's instruction counts for vCPU 1 are the cost to the
# faulting guest, those of the whole machine add the reader's own work. The
# attached reader reads as libself's do: blocked in poll() until a lane holds
# 64 records (the watcher's watermark), then draining.
# Runs alternate between the setups so drift hits all alike; the median of
# each is compared with "absent" from the same boot. Prints ratios, asserts
# nothing.
. /rig/lib.sh

taskset -p -c 1 $$ >/dev/null	# minivmm and its vCPU thread inherit CPU 1
echo "bench: clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"

ROUNDS=${ROUNDS:-15}
PAGES=16384
T=/sys/kernel/tracing

# One run of the guest; prints its run_ms. $1: reader to start
# (none|attach|producer); $2: the setup's number for instruction counting:
# insnmark 2*$2 and 2*$2+1 bracket the run (no-ops without make bench-kmod's
# QEMU plugin, bench/tcg/insn_marks.c).
run_once() {
	vm_start bench --mem 80 --pages $PAGES --fill unique --hold 0 --wait-start
	sleep 0.2	# minivmm stops itself after its start line
	reader=
	case $1 in
	attach)
		KMODTEST_PID=$bench_pid KMODTEST_MS=60000 KMODTEST_WATERMARK=64 \
			taskset -c 0 kmodtest cycle-reader >/dev/null 2>&1 &
		reader=$!
		sleep 0.5	# attached before the guest runs
		;;
	producer)
		# 4 MiB: room for all 16384 events in any one lane's share.
		KMODTEST_PID=$bench_pid KMODTEST_MS=60000 KMODTEST_RING_BYTES=4194304 \
			taskset -c 0 kmodtest cycle-reader >/dev/null 2>&1 &
		reader=$!
		sleep 0.5
		kill -STOP "$reader"
		;;
	esac
	insnmark $(($2 * 2))
	kill -CONT "$bench_pid"
	wait "$bench_pid"
	insnmark $(($2 * 2 + 1))
	[ -n "$reader" ] && { kill "$reader" 2>/dev/null; kill -CONT "$reader"; wait "$reader" 2>/dev/null; }
	json "$TMP/bench.out" run_ms
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

: >"$TMP/absent" ; : >"$TMP/idle" ; : >"$TMP/attached" ; : >"$TMP/producer" ; : >"$TMP/tracefs"
i=0
while [ $i -lt "$ROUNDS" ]; do
	# Module and tracing switched only while no guest runs (see tests/vm/README.md).
	rmmod self_e
	run_once none 0 >>"$TMP/absent"
	insmod /rig/modules/self_e.ko
	run_once none 1 >>"$TMP/idle"
	run_once attach 2 >>"$TMP/attached"
	run_once producer 3 >>"$TMP/producer"
	rmmod self_e
	echo 1 >$T/events/kvm/kvm_page_fault/enable
	taskset -c 0 cat $T/trace_pipe >/dev/null &
	tp=$!
	run_once none 4 >>"$TMP/tracefs"
	kill $tp; wait $tp 2>/dev/null
	echo 0 >$T/events/kvm/kvm_page_fault/enable
	insmod /rig/modules/self_e.ko
	i=$((i + 1))
done

a=$(median <"$TMP/absent")
echo "bench: minivmm, $PAGES guest page faults, median of $ROUNDS runs each (ms):"
for s in absent idle attached producer tracefs; do
	m=$(median <"$TMP/$s")
	echo "bench:   $s: $m ms  [$(tr '\n' ' ' <"$TMP/$s")]  ratio to absent $(awk -v m="$m" -v a="$a" 'BEGIN { printf "%.3f", m / a }')"
done
echo "bench: target: attached <= 1.02 x absent, and below tracefs"

# make bench-kmod-profile: the functions' addresses, for bench/tcg/insn_profile.sh.
if [ -n "${PROFILE:-}" ]; then
	echo KALLSYMS-BEGIN
	grep ' [tT] ' /proc/kallsyms
	echo KALLSYMS-END
fi
