#!/bin/sh
# The soak (`make soak`, tests/vm/soak): run by the rig with --exec, with
# SOAK_DURATION (seconds, the churn phase) and SOAK_SEED set in front of it by
# tests/vm/soak. Not part of the suite (tests/*.sh): it runs for minutes.
#
# Churn, for SOAK_DURATION seconds, all at once:
#   - VMs: up to SOAK_VMS minivmm VMs at any time, each started with a random
#     size and fill (seed:1..3 shared across VMs, same:S shared within one,
#     zero, unique), holding a few seconds, often rewriting pages (COW breaks
#     of merged pages), sometimes churning a memslot or looping over its pages
#     (for access sampling), and one in eight killed with SIGKILL mid-life;
#   - KSM: run=1 with pages_to_scan 2000 and sleep_millisecs 20, all along;
#   - readers: two loops attaching and detaching all the time: `self-e trace
#     --pid` with a 1 KiB ring (it overflows), kmodtest's overflow test (a
#     full ring's counts: offered = read + dropped), with --json and --type, with
#     --sample-interval (access sampling), the all-VM text stream (`cat
#     /dev/self-e`, `self-e trace`), `self-e report`, `self-e list --json` and
#     `--watch`, kmodtest's raw reader;
#   - the module: every SOAK_RELOAD seconds the readers pause, and once none
#     holds /dev/self-e, self_e.ko is unloaded and loaded again, under the
#     running (faulting, merging) VMs.
# The rig's rule for module loads under TCG (tests/vm/README.md): QEMU 7.2's
# TCG can hang a vCPU running code whose jump label the guest kernel patches,
# and loading or unloading self_e.ko registers and removes probes on KVM's
# (and on 6.12 KSM's) tracepoints, which flips their static keys. As in
# 40-kmod, tracefs holds every tracepoint self_e.ko uses enabled (tracing
# itself off) for the whole soak, so the keys never flip; the probes still
# come and go with each load.
#
# Then a quiet phase checks that derived state equals ground truth: with the
# churn over (module loaded, no other VM but the rig's keeper), five VMs with
# known fills; a `self-e report` attached before KSM merges them follows the
# merges by events, KSM settles and stops (run=0), and that report and a
# second one seeded from a snapshot must equal /proc/PID/ksm_merging_pages,
# pagemap pfn equality (sharing pairs) and the zero pages exactly, as
# tests/55-report.sh checks them. Finally the kernel log must be clean (the
# rig checks it again on the host).
#
# Figures, as "# soak: ..." lines: VMs run, reader cycles by kind, module
# reloads, events produced and dropped (from `self-e list`), events read and
# lost by traces, KSM merges seen, duration.
. /rig/lib.sh

DURATION=${SOAK_DURATION:-600}
SEED=${SOAK_SEED:-1}
MAXVMS=${SOAK_VMS:-5}
RELOAD=${SOAK_RELOAD:-15}
K=/sys/kernel/mm/ksm
S=$TMP/soak
mkdir -p "$S"
STOP=$S/stop
PAUSE=$S/pause
now() { cut -d' ' -f1 /proc/uptime | cut -d. -f1; }
T0=$(now)
END=$((T0 + DURATION))

command -v self-e >/dev/null || { fail soak/setup "no self-e in the guest (make static)"; exit 1; }

# rnd N: a number in 0..N-1 from this shell's own LCG (R seeds it), so a run
# is repeatable from SOAK_SEED as far as timing allows.
rnd() {
	R=$(((R * 1103515245 + 12345) % 2147483648))
	RND=$(((R / 65536) % $1))
}

# The rig's rule: hold every tracepoint self_e.ko uses on in tracefs.
TR=/sys/kernel/tracing
echo 0 >$TR/tracing_on
HELD=
for e in kvmmmu/kvm_mmu_spte_requested kvmmmu/kvm_mmu_set_spte kvmmmu/kvm_tdp_mmu_spte_changed \
	ksm/ksm_merge_with_ksm_page ksm/ksm_merge_one_page; do
	if [ -e "$TR/events/$e/enable" ]; then
		echo 1 >"$TR/events/$e/enable"
		HELD="$HELD $e"
	fi
done
echo "# soak: ${DURATION} s of churn, seed $SEED, up to $MAXVMS VMs, reload every $RELOAD s; tracepoints held on:$HELD"

echo 2000 >$K/pages_to_scan
echo 20 >$K/sleep_millisecs
echo 0 >$K/use_zero_pages
echo 1 >$K/run

# alive PID: PID runs (a child that ended is a zombie until waited for).
alive() {
	[ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# --- VMs -----------------------------------------------------------------
# vm.N.pid while it runs, vm.N.done when reaped; vms.log: "N status killed".
live_vms() {
	for _f in "$S"/vm.*.pid; do
		[ -e "$_f" ] || continue
		_n=${_f%.pid}
		[ -e "$_n.done" ] || cat "$_f"
	done
}

spawner() {
	R=$((SEED * 7 + 1))
	n=0
	while [ ! -e "$STOP" ]; do
		if [ "$(live_vms | wc -l)" -ge "$MAXVMS" ]; then
			sleep 0.3
			continue
		fi
		n=$((n + 1))
		rnd 8; mem=$((4 + RND))
		rnd 8; pages=$((32 * (1 + RND)))
		rnd 6
		case $RND in
		0|1|2) rnd 3; fill=seed:$((RND + 1)) ;;
		3) rnd 2; fill=same:$((RND + 1)) ;;
		4) fill=zero ;;
		*) fill=unique ;;
		esac
		rnd 6; hold=$((1 + RND))
		args="--mem $mem --pages $pages --fill $fill --hold $hold"
		rnd 3; [ "$RND" = 0 ] || { rnd "$pages"; args="$args --rewrite $((RND + 1))"; }
		rnd 8; [ "$RND" != 0 ] || args="$args --slot-churn"
		rnd 6; [ "$RND" != 0 ] || args="$args --loop 3 --loop-pages 8 --loop-stride 4"
		rnd 8; kill=$RND
		(
			minivmm $args >/dev/null 2>"$S/vm.$n.err" &
			p=$!
			echo "$p" >"$S/vm.$n.pid"
			wait "$p"
			st=$?
			k=0
			[ -e "$S/vm.$n.killed" ] && k=1
			echo "$n $st $k $args" >>"$S/vms.log"
			touch "$S/vm.$n.done"
		) &
		if [ "$kill" = 0 ]; then
			rnd 4
			(
				sleep $((1 + RND))
				p=$(cat "$S/vm.$n.pid" 2>/dev/null)
				if [ -n "$p" ] && [ ! -e "$S/vm.$n.done" ]; then
					touch "$S/vm.$n.killed"
					kill -9 "$p" 2>/dev/null
				fi
			) &
		fi
		sleep 0.5
	done
	wait
}

# --- readers -------------------------------------------------------------
# run_reader KIND SECONDS CMD...: CMD in the background, SIGTERM after SECONDS
# (or when it ends first), status to readers.log. 0 is success; 1 is the
# documented "no such VM or pid / module not loaded" (the VM ended first, a
# reload came between); anything else is a failure.
run_reader() {
	_kind=$1 _secs=$2
	shift 2
	"$@" >"$S/r.$ID.out" 2>"$S/r.$ID.err" &
	_p=$!
	_i=0
	while [ $_i -lt $((_secs * 10)) ] && alive $_p; do
		sleep 0.1
		_i=$((_i + 1))
	done
	# TERM, not INT: a background job of a script starts with SIGINT ignored.
	kill -TERM $_p 2>/dev/null
	_i=0
	while [ $_i -lt 100 ] && alive $_p; do
		sleep 0.1
		_i=$((_i + 1))
	done
	if alive $_p; then
		echo "$_kind: still running 10 s after SIGTERM ($*): $(cat /proc/$_p/wchan 2>/dev/null) $(tr '\0' ' ' </proc/$_p/cmdline)" >>"$S/readers.bad"
		kill -9 $_p
	fi
	wait $_p
	_st=$?
	# cat and kmodtest have no SIGTERM handler: ended by it, they are fine.
	case $_kind:$_st in text-stream:143|kmodtest:143) _st=0 ;; esac
	echo "$_kind $_st" >>"$S/readers.log"
	# kmodtest overflow checks the ring's accounting itself: 1 is its FAIL.
	if [ "$_kind:$_st" = overflow:1 ] || { [ "$_st" != 0 ] && [ "$_st" != 1 ]; }; then
		echo "$_kind $_st: $(tail -n 2 "$S/r.$ID.err" | tr '\n' ' ')" >>"$S/readers.bad"
	fi
	grep -h 'events printed' "$S/r.$ID.err" >>"$S/traces.log" 2>/dev/null
	return 0
}

# note_list FILE: "LOAD VM EVENTS DROPPED" per VM of a `self-e list --json`.
note_list() {
	tr -d ' \n' <"$1" | sed 's/{"vm_id"/\n{"vm_id"/g' |
		sed -n 's/^{"vm_id":\([0-9]*\),.*"events":\([0-9]*\),"dropped":\([0-9]*\).*/\1 \2 \3/p' |
		sed "s/^/$(cat "$S/loads") /" >>"$S/list.log"
}

reader() {
	ID=$1
	R=$((SEED * 13 + ID))
	while [ ! -e "$STOP" ]; do
		if [ -e "$PAUSE" ]; then
			touch "$S/idle.$ID"
			sleep 0.2
			continue
		fi
		rm -f "$S/idle.$ID"
		pids=$(live_vms)
		n=$(echo "$pids" | grep -c .)
		if [ "$n" = 0 ]; then
			sleep 0.2
			continue
		fi
		rnd "$n"
		pid=$(echo "$pids" | sed -n "$((RND + 1))p")
		rnd 3; secs=$((1 + RND))
		rnd 11
		case $RND in
		0|1) run_reader trace-small-ring "$secs" self-e trace --pid "$pid" --ring 1 ;;
		10) run_reader overflow 60 kmodtest overflow ;;
		2) run_reader trace-json "$secs" self-e trace --pid "$pid" --json --type fault,ksm_merge,cow_break,unmerge ;;
		3) run_reader trace-sampling "$secs" self-e trace --pid "$pid" --sample-interval 50 --type access,sample ;;
		4) run_reader text-stream "$secs" cat /dev/self-e ;;
		5) run_reader trace-all "$secs" self-e trace ;;
		6) rnd 2
		   if [ "$RND" = 0 ]; then
			   run_reader report "$((secs + 1))" self-e report --pid "$pid" --duration "$secs" --json
		   else
			   run_reader report-sampling "$((secs + 1))" self-e report --pid "$pid" --duration "$secs" --sample-interval 100 --json
		   fi ;;
		7) run_reader list 5 self-e list --json
		   note_list "$S/r.$ID.out" ;;
		8) run_reader list-watch "$secs" self-e list --watch --json ;;
		*) run_reader kmodtest "$((secs + 1))" env KMODTEST_PID="$pid" KMODTEST_MS=$((secs * 1000)) kmodtest cycle-reader ;;
		esac
	done
	touch "$S/idle.$ID"
}

# --- reloads ---------------------------------------------------------------
echo 1 >"$S/loads"
reloader() {
	while [ ! -e "$STOP" ]; do
		sleep "$RELOAD"
		[ -e "$STOP" ] && break
		touch "$PAUSE"
		i=0
		while { [ ! -e "$S/idle.1" ] || [ ! -e "$S/idle.2" ]; } && [ $i -lt 600 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		# A reader that started just before the pause can still hold the
		# module for a moment: rmmod refuses (EBUSY) until it is gone.
		i=0 ok=
		while [ $i -lt 100 ]; do
			if rmmod self_e 2>"$S/rmmod.err"; then ok=1; break; fi
			sleep 0.2
			i=$((i + 1))
		done
		if [ -z "$ok" ]; then
			echo "rmmod: $(cat "$S/rmmod.err"), refcnt $(cat /sys/module/self_e/refcnt 2>/dev/null)" >>"$S/reload.bad"
		elif ! insmod /rig/modules/self_e.ko 2>"$S/insmod.err"; then
			echo "insmod: $(cat "$S/insmod.err")" >>"$S/reload.bad"
			rm -f "$PAUSE"
			break
		else
			echo $(($(cat "$S/loads") + 1)) >"$S/loads"
		fi
		rm -f "$S/idle.1" "$S/idle.2" "$PAUSE"
	done
}

# KSM's counters as the churn goes: the most pages_sharing seen.
ksm_watch() {
	max=0
	while [ ! -e "$STOP" ]; do
		v=$(cat $K/pages_sharing)
		[ "$v" -le "$max" ] || max=$v
		echo "$max $(cat $K/full_scans)" >"$S/ksm.max"
		sleep 1
	done
}

spawner &
sp=$!
reader 1 &
r1=$!
reader 2 &
r2=$!
reloader &
rl=$!
ksm_watch &
kw=$!

last=$T0
while [ "$(now)" -lt "$END" ]; do
	sleep 5
	t=$(now)
	if [ $((t - last)) -ge 30 ]; then
		last=$t
		echo "# soak: $((t - T0)) s: $(grep -c . "$S/vms.log" 2>/dev/null) VMs done, $(grep -c . "$S/readers.log" 2>/dev/null) readers, $(($(cat "$S/loads") - 1)) reloads, ksm $(cat $K/pages_shared)/$(cat $K/pages_sharing)"
	fi
done
touch "$STOP"
echo "# soak: churn over at $(($(now) - T0)) s, stopping"
# The readers stop within seconds, the VMs within their holds (~25 s at most).
i=0
while [ $i -lt 1200 ] && { alive $r1 || alive $r2 || alive $rl || alive $kw || alive $sp; }; do
	sleep 0.1
	i=$((i + 1))
done
if alive $r1 || alive $r2 || alive $rl || alive $kw || alive $sp; then
	fail soak/stop "the churn did not stop within 120 s; processes:"
	ps -o pid,ppid,stat,args 2>/dev/null || ps
	for p in $(ls /proc | grep '^[0-9]*$'); do
		[ -r /proc/$p/wchan ] && echo "# $p $(cat /proc/$p/wchan) $(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null | head -c 100)"
	done
	tail -n 5 "$S/readers.log"
	for p in $(live_vms); do kill -9 $p; done
	kill -9 $r1 $r2 $rl $kw $sp 2>/dev/null
fi
wait $r1 $r2 $rl $kw $sp
T1=$(now)
rm -f "$PAUSE"
echo 0 >$K/run

# --- figures and the churn's checks ------------------------------------------
vms=$(grep -c . "$S/vms.log")
killed=$(awk '$3 == 1' "$S/vms.log" | grep -c .)
vmbad=$(awk '$3 == 0 && $2 != 0' "$S/vms.log")
rtotal=$(grep -c . "$S/readers.log")
rmissed=$(awk '$2 == 1' "$S/readers.log" | grep -c .)
# kmodtest overflow passes only when its ring overflowed with exact counts.
ovtests=$(awk '$1 == "overflow" && $2 == 0' "$S/readers.log" | grep -c .)
kinds=$(awk '{ n[$1]++ } END { for (k in n) printf "%s=%d ", k, n[k] }' "$S/readers.log")
reloads=$(($(cat "$S/loads") - 1))
# Events per VM: the largest count `self-e list` showed for it in each load.
ev=$(awk '{ k = $1 " " $2; if ($3 > e[k]) e[k] = $3; if ($4 > d[k]) d[k] = $4 }
	END { for (k in e) { E += e[k]; D += d[k]; n++ } printf "%d %d %d", E, D, n }' "$S/list.log" 2>/dev/null)
set -- $ev
produced=${1:-0} dropped=${2:-0} listed=${3:-0}
tr=$(sed -n 's/.*: \([0-9]*\) events printed, \([0-9]*\) lost.*/\1 \2/p' "$S/traces.log" 2>/dev/null |
	awk '{ p += $1; l += $2; n++; if ($2 > 0) o++ } END { printf "%d %d %d %d", n, p, l, o }')
set -- $tr
traces=${1:-0} printed=${2:-0} lost=${3:-0} overflowed=${4:-0}
read -r ksmmax scans <"$S/ksm.max"
echo "# soak: churn ${DURATION} s (ran $((T1 - T0)) s): $vms VMs ($killed killed with SIGKILL), up to $MAXVMS at once"
echo "# soak: readers: $rtotal cycles ($rmissed found their VM gone or the module reloading): $kinds"
echo "# soak: module reloads: $reloads"
echo "# soak: events: $produced produced and $dropped dropped (module counters, $listed VM lists); traces: $traces ended, $printed events read, $lost lost, $overflowed overflowed; $ovtests overflow tests passed"
echo "# soak: ksm: up to $ksmmax pages_sharing, $scans full scans"

if [ "$vms" -lt 3 ]; then
	fail soak/vms "only $vms VMs ran"
elif [ -n "$vmbad" ]; then
	fail soak/vms "minivmm failed: $(echo "$vmbad" | head -n 3 | tr '\n' '|') $(cat "$S"/vm.$(echo "$vmbad" | head -n 1 | cut -d' ' -f1).err | head -c 300)"
else
	pass soak/vms
fi
if [ -s "$S/readers.bad" ]; then
	fail soak/readers "$(grep -c . "$S/readers.bad") failed: $(head -n 3 "$S/readers.bad" | tr '\n' '|')"
elif [ "$rtotal" -lt 3 ]; then
	fail soak/readers "only $rtotal reader cycles"
elif [ "$overflowed" = 0 ] && [ "$dropped" = 0 ] && [ "$ovtests" = 0 ]; then
	fail soak/readers "no ring ever overflowed"
else
	pass soak/readers
fi
if [ -s "$S/reload.bad" ]; then
	fail soak/reloads "$(head -n 3 "$S/reload.bad" | tr '\n' '|')"
elif [ "$reloads" -lt 1 ] && [ "$DURATION" -ge $((RELOAD * 2)) ]; then
	fail soak/reloads "no reload happened"
else
	pass soak/reloads
fi
[ "$ksmmax" -gt 0 ] && pass soak/ksm || fail soak/ksm "KSM never merged a page in the churn"

# --- quiet phase: derived state against ground truth -----------------------
lsmod | grep -q '^self_e ' || insmod /rig/modules/self_e.ko || fail soak/insmod "self_e.ko not loaded"
left=$(live_vms)
[ -z "$left" ] || { echo "# soak: VMs still alive after the churn: $left"; kill -9 $left 2>/dev/null; sleep 1; }
echo 1 >$K/use_zero_pages
N=128
vm_start a --mem 4 --pages $N --fill seed:fa --hold 600
vm_start b --mem 4 --pages $N --fill seed:fa --hold 600
vm_start c --mem 4 --pages 64 --fill same:fc --hold 600
vm_start d --mem 4 --pages 64 --fill unique --hold 600
vm_start z --mem 4 --pages 96 --fill zero --hold 600
for v in a b c d z; do
	if ! vm_wait_event $v halted 120; then
		fail soak/final "VM $v did not halt"
		vm_kill a b c d z
		exit 1
	fi
done

# check_report NAME FILE: the report against the truth read now.
check_report() {
	errs=
	for v in a b c d z; do
		eval "_pid=\$${v}_pid"
		got="$(rv "$2" $v ksm_shared) $(rv "$2" $v total) $(rv "$2" $v exact)"
		want="$(cat /proc/$_pid/ksm_merging_pages) 1024 true"
		[ "$got" = "$want" ] || errs="$errs $v:ksm_shared,total,exact=$got,want=$want"
	done
	zt=$(pagecheck --pid "$z_pid" --addr "$(json "$TMP/z.out" hva)" --pages 1024)
	got="$(rv "$2" z ksm_zero) $(rv "$2" z ksm_shared)"
	[ "$got" = "$(kv "$zt" zero) 0" ] && [ "$(kv "$zt" zero)" = 96 ] ||
		errs="$errs z:ksm_zero,ksm_shared=$got,truth zero pages=$(kv "$zt" zero),want 96"
	for p in ab ba ac ca bc cb ad da az za; do
		x=${p%?} y=${p#?}
		got=$(shared_with "$2" $x $y)
		want=$(shared $x $y)
		[ "${got:-0}" = "$want" ] || errs="$errs $x-$y:shared_with=${got:-none},truth=$want"
	done
	if [ -z "$errs" ]; then pass "$1"; else fail "$1" "${errs# }"; fi
}

# A report that sees every merge as an event: attached before KSM runs.
self-e report --json --duration 600 >"$TMP/sk-live.json" 2>"$TMP/sk-live.err" &
rp=$!
sleep 3	# attached and seeded
ksm_settle
[ -n "$KSM_SETTLED" ] || fail soak/settle "KSM still moving after 60 s: $KSM_SETTLE_NOTE"
echo "# soak: final merge: $KSM_SETTLE_NOTE; merging pages a=$(cat /proc/$a_pid/ksm_merging_pages) b=$(cat /proc/$b_pid/ksm_merging_pages) c=$(cat /proc/$c_pid/ksm_merging_pages) d=$(cat /proc/$d_pid/ksm_merging_pages)"
sleep 1
kill -INT $rp
wait $rp
st=$?
if [ $st != 0 ]; then
	fail soak/final-events "self-e report exited $st: $(head -c 300 "$TMP/sk-live.err")"
else
	check_report soak/final-events "$TMP/sk-live.json"
fi
# And one seeded from a snapshot of the merged state.
if self-e report --json --duration 0 >"$TMP/sk-snap.json" 2>"$TMP/sk-snap.err"; then
	check_report soak/final-snapshot "$TMP/sk-snap.json"
else
	fail soak/final-snapshot "self-e report failed: $(head -c 300 "$TMP/sk-snap.err")"
fi
for v in a b c d z; do
	vm_end $v
done
echo 0 >$K/use_zero_pages
for e in $HELD; do echo 0 >"$TR/events/$e/enable"; done
echo 1 >$TR/tracing_on

bad=$(bad_kernel_lines)
if [ -n "$bad" ]; then
	fail soak/kernel-log "$(echo "$bad" | head -n 3 | tr '\n' '|')"
else
	pass soak/kernel-log
fi
echo "# soak: done in $(($(now) - T0)) s"
[ "$FAILS" -eq 0 ]
