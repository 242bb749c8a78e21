#!/bin/bash
# Boot the rig's guest under QEMU TCG, stream its console, judge the run.
#
#   boot.sh --vmlinuz F --initrd F --log FILE [--cpu MODEL] [--timeout SEC]
#           [--label TEXT]
#
# The guest's console goes to stdout as it comes (without the kernel log dump
# at the end, which only goes to the log file) and to --log in full. The run
# then prints its own checks and, as the last line, "N passed, N failed":
#   rig/finished     the guest printed RIG-EXIT before the timeout and before
#                    QEMU exited (e.g. a panic). On a timeout a watchdog asks
#                    the guest kernel for backtraces (SysRq l and w, through
#                    the QEMU monitor), dumps the vCPU registers, ends QEMU.
#   rig/kernel-log   no kernel line in the whole console output, boot to
#                    power-off and the dmesg dump (up to the watchdog's
#                    backtraces), matches kernel-log-patterns (oops, BUG,
#                    WARNING, lockdep, hung task, ...)
#   rig/exit-status  only printed, as a FAIL, when the guest's status is not 0
#                    and no FAIL line of the guest accounts for it
# The counts are the guest's PASS/FAIL lines plus these. Exit status: the
# guest's when it is not 0, 124 on a timeout, 1 for any other failure, else 0.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM=$(dirname "$HERE")
. "$HERE/common.sh"

VMLINUZ='' INITRD='' LOG='' CPU=max TIMEOUT=300 LABEL=''
while [ $# -gt 0 ]; do
	case $1 in
	--vmlinuz) VMLINUZ=${2:?}; shift 2 ;;
	--initrd) INITRD=${2:?}; shift 2 ;;
	--log) LOG=${2:?}; shift 2 ;;
	--cpu) CPU=${2:?}; shift 2 ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	--label) LABEL=${2:?}; shift 2 ;;
	*) die "boot.sh: unknown argument '$1'" ;;
	esac
done
[ -n "$VMLINUZ" ] && [ -n "$INITRD" ] && [ -n "$LOG" ] ||
	die "boot.sh: --vmlinuz, --initrd and --log are required"
need qemu-system-x86_64 mkfifo

# loglevel=5: warnings (level 4) reach the console as they happen, so a
# splat right before a hang is in the log. printk.time: the host tells kernel
# lines from the guest's own output by their timestamp. panic=-1 with
# -no-reboot: a panic ends QEMU instead of hanging until the timeout.
# sysrq_always_enabled: the watchdog below asks for backtraces.
# no_timer_check: under TCG on a busy host the kernel's early check of the
# IO-APIC timer can miss its ticks and panic ("IO-APIC + timer doesn't work!").
# RIG_APPEND: more kernel parameters, for benchmarks (bench-kmod: tsc=reliable).
APPEND="console=ttyS0 loglevel=5 printk.time=1 panic=-1 sysrq_always_enabled=1 no_timer_check rig.cpu=$CPU${FUZZ_SECONDS:+ rig.fuzz_seconds=$FUZZ_SECONDS}${RIG_APPEND:+ $RIG_APPEND}"

# The QEMU monitor on a pair of FIFOs, for the watchdog. Opened read-write
# (<>) so that neither side ever blocks on open.
DIR=$(dirname "$LOG")
MON=$DIR/monitor
rm -f "$MON.in" "$MON.out" "$DIR/qemu.pid" "$DIR/timed-out" "$DIR/monitor.log"
mkfifo "$MON.in" "$MON.out"
cat <>"$MON.out" >"$DIR/monitor.log" &
reader=$!

# After TIMEOUT seconds: note how much of the log came before, ask the guest
# kernel for backtraces of all CPUs (SysRq l) and of blocked tasks (SysRq w),
# dump the vCPU registers, then end QEMU.
watchdog() {
	local s pid
	# Sleep in the background and wait: a TERM then ends us at once.
	trap 'kill "$s" 2>/dev/null; exit 0' TERM
	nap() { sleep "$1" & s=$!; wait "$s"; }
	nap "$TIMEOUT"
	pid=$(cat "$DIR/qemu.pid" 2>/dev/null) || exit 0
	kill -0 "$pid" 2>/dev/null || exit 0
	stat -c %s "$LOG" >"$DIR/timed-out"
	exec 3<>"$MON.in"
	echo "sendkey alt-sysrq-l" >&3
	nap 5
	echo "sendkey alt-sysrq-w" >&3
	nap 5
	echo "info registers -a" >&3
	nap 2
	echo "quit" >&3
	nap 10
	kill -KILL "$pid" 2>/dev/null
	exit 0
}
watchdog &
wd=$!

start=$(now)
set +e
# stdin from /dev/null: no terminal games, nothing typed reaches the guest.
# The serial console stays on stdio; the monitor goes to the FIFOs.
# RIG_QEMU_ARGS: more QEMU options, word-split, after the rig's own (a later
# -smp wins), for benchmarks: '-icount shift=4,sleep=off -smp 1' (bench-ksm),
# '-plugin FILE -d plugin' (bench-kmod's instruction counter, bench/tcg/).
# shellcheck disable=SC2086
qemu-system-x86_64 -accel "tcg,thread=${RIG_TCG_THREAD:-single}" -cpu "$CPU" -m 1G -smp 2 -nographic -no-reboot \
	-monitor "pipe:$MON" -pidfile "$DIR/qemu.pid" \
	-kernel "$VMLINUZ" -initrd "$INITRD" -append "$APPEND" ${RIG_QEMU_ARGS:-} \
	</dev/null 2>&1 |
	sed -u -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[c]//g' | tee "$LOG" |
	awk '/^RIG-DMESG-BEGIN/ { skip = 1; print "(guest dmesg: in the log)"; fflush() }
	     !skip { print; fflush() }
	     /^RIG-DMESG-END/ { skip = 0 }'
codes=("${PIPESTATUS[@]}")
set -e
qemu_rc=${codes[0]}
secs=$(elapsed "$start")
kill "$wd" 2>/dev/null
wait "$wd" 2>/dev/null || true
sleep 0.2	# let the reader drain the monitor's last output
kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null || true
rm -f "$MON.in" "$MON.out"

# What the log held when the watchdog fired: the kernel-log scan stops there,
# since the backtraces asked for afterwards are not the guest's doing.
scan_bytes=
if [ -f "$DIR/timed-out" ]; then
	scan_bytes=$(cat "$DIR/timed-out")
	{
		echo "rig: timeout: vCPU state from the QEMU monitor (full dump: $DIR/monitor.log)"
		sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\r//g' "$DIR/monitor.log" |
			grep -a -E '^(CPU#|RIP=|CS =)' || true
	} | tee -a "$LOG"
fi

passed=0 failed=0
result() {	# result PASS|FAIL name [reason]
	if [ "$1" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
	echo "$1 $2${3:+: $3}"
}

marker=$(grep -a '^RIG-EXIT: ' "$LOG" | tail -n 1 | cut -d' ' -f2 || true)
count=$(grep -a '^RIG-COUNT: ' "$LOG" | tail -n 1 || true)
if [ -n "$count" ]; then
	read -r _ gp gf <<<"$count"
else	# the guest never got that far: count what it printed
	gp=$(grep -a -c '^PASS ' "$LOG" || true)
	gf=$(grep -a -c '^FAIL ' "$LOG" || true)
fi
passed=$((passed + gp))
failed=$((failed + gf))

echo "rig: ${LABEL:+$LABEL, }cpu $CPU, ${secs} s, log $LOG"
rc=0
if [ -n "$scan_bytes" ]; then
	result FAIL rig/finished "timeout: the guest did not finish within $TIMEOUT s, QEMU killed (backtraces in the log)"
	rc=124
elif [ -z "$marker" ]; then
	result FAIL rig/finished "QEMU exited (status $qemu_rc) before the guest's RIG-EXIT line (kernel panic or QEMU error? see the log)"
	rc=1
else
	result PASS rig/finished "in $secs s"
fi

# Kernel lines carry a "[ seconds.micros]" stamp; the guest's own output does not.
bad=$(head -c "${scan_bytes:-$(stat -c %s "$LOG")}" "$LOG" | grep -a -E '\[ *[0-9]+\.[0-9]+\] ' |
	grep -a -E -f "$VM/kernel-log-patterns" | awk '!seen[$0]++' || true)
if [ -n "$bad" ]; then
	result FAIL rig/kernel-log "$(wc -l <<<"$bad") bad kernel line(s), first: $(head -n 1 <<<"$bad")"
	head -n 10 <<<"$bad" | sed 's/^/    /'
	[ "$rc" -ne 0 ] || rc=1
else
	result PASS rig/kernel-log "no oops, BUG, WARNING, lockdep or hung-task lines"
fi

if [ -n "$marker" ] && [ "$marker" != 0 ]; then
	[ "$gf" -gt 0 ] || result FAIL rig/exit-status "the guest exited $marker without a FAIL line"
	case $marker in
	''|*[!0-9]*) rc=1 ;;
	*) rc=$marker ;;
	esac
fi
[ "$failed" -eq 0 ] || [ "$rc" -ne 0 ] || rc=1

echo "$passed passed, $failed failed"
exit "$rc"
