#!/bin/sh
# self-e record, and reading the recording back: two minivmm VMs with the
# same seed fault their pages in, KSM merges them (the code pages too), one
# rewrites some (COW breaks: the data pages, and the code page whose
# parameters its VMM rewrites), while `self-e record` and a live `self-e report --json` both watch
# every VM. Then `report --from` prints the live report (duration_s aside,
# the only field that depends on when each was stopped), `trace --from`
# prints one line per recorded event, and `heatmap` draws a PNG of the asked
# size whose pixels are coloured at minivmm's data pages and white where
# the guest never wrote. Errors exit 1 (failed) or 2 (usage).
. /rig/lib.sh

K=/sys/kernel/mm/ksm
N=128
RW=16

[ -e /dev/self-e ] || insmod /rig/modules/self_e.ko ||
	{ fail record/insmod "cannot load self_e.ko"; exit 1; }
echo 0 >$K/run
echo 0 >$K/use_zero_pages

# readers_of NAME: readers attached to minivmm NAME's VM (self-e list).
readers_of() {
	eval "_pid=\$${1}_pid"
	self-e list --json | tr -d ' \n' | sed 's/{"vm_id"/\n{"vm_id"/g' | grep "\"pid\":$_pid," |
		sed -n 's/.*"readers":\([0-9]*\).*/\1/p'
}
# wait_readers NAME COUNT SECONDS
wait_readers() {
	_i=0
	while [ "$(readers_of "$1")" != "$2" ]; do
		_i=$((_i + 1))
		[ $_i -lt $(($3 * 10)) ] || return 1
		sleep 0.1
	done
}

# --wait-start: the VMs exist, stopped before their guests run, so both
# readers attach before the first fault.
vm_start ra --mem 4 --pages $N --fill seed:9 --hold 600 --rewrite $RW --wait-start
vm_start rb --mem 4 --pages $N --fill seed:9 --hold 600 --wait-start
if ! vm_wait_start ra || ! vm_wait_start rb; then
	fail record/start "minivmm printed no start line: $(cat "$TMP/ra.err" "$TMP/rb.err")"
	vm_kill ra rb
	exit 1
fi
A=$(vmid_of ra)
B=$(vmid_of rb)
REC=$TMP/rec.sefr

self-e record -o "$REC" >"$TMP/rec.out" 2>"$TMP/rec.err" &
rec=$!
self-e report --json --duration 600 >"$TMP/live.json" 2>"$TMP/live.err" &
live=$!
# Both attached (2 readers on each VM) and seeded (record says so after its
# snapshots; the report's snapshot of a stopped VM sees nothing either way).
if ! wait_readers ra 2 30 || ! wait_readers rb 2 30; then
	fail record/attach "readers of VM $A: $(readers_of ra), of VM $B: $(readers_of rb); $(cat "$TMP/rec.err" "$TMP/live.err")"
fi
_i=0
while ! grep -q "recording" "$TMP/rec.err" && [ $_i -lt 300 ]; do
	_i=$((_i + 1))
	sleep 0.1
done
sleep 1

kill -CONT "$ra_pid" "$rb_pid"
if vm_wait_event ra halted 120 && vm_wait_event rb halted 120; then
	ksm_settle
	[ -n "$KSM_SETTLED" ] || fail record/settle "counters still moving: $KSM_SETTLE_NOTE"
	kill -USR1 "$ra_pid"
	vm_wait_event ra rewritten 60 || fail record/rewrite "VM ra did not rewrite"
else
	fail record/run "minivmm did not halt: $(cat "$TMP/ra.err" "$TMP/rb.err")"
fi
sleep 1
kill -INT "$rec" "$live"
wait "$rec"
rec_rc=$?
wait "$live"
live_rc=$?
echo "# $(tail -n 1 "$TMP/rec.err")"
# "self-e record: FILE: N events of M VM(s) ..."
events=$(tail -n 1 "$TMP/rec.err" | sed -n 's/.*: \([0-9]*\) events of .*/\1/p')

# --- the recording's report is the live one --------------------------------
if [ "$rec_rc" != 0 ] || [ "$live_rc" != 0 ] || [ -z "$events" ]; then
	fail record/report-from "record exit $rec_rc, live report exit $live_rc: $(cat "$TMP/rec.err" "$TMP/live.err" | head -c 400)"
elif ! self-e report --from "$REC" --json >"$TMP/replay.json" 2>"$TMP/replay.err"; then
	fail record/report-from "report --from failed: $(cat "$TMP/replay.err")"
else
	grep -v '"duration_s"' "$TMP/live.json" >"$TMP/live.cmp"
	grep -v '"duration_s"' "$TMP/replay.json" >"$TMP/replay.cmp"
	# Something happened in the window: merges across a and b, COW breaks.
	shared=$(tr -d ' \n' <"$TMP/replay.json" | sed 's/{"id"/\n{"id"/g' | grep "\"id\":$A," |
		sed -n 's/.*"ksm_across":\([0-9]*\).*"cow_breaks":\([0-9]*\).*/\1 \2/p' | head -n 1)
	if ! cmp -s "$TMP/live.cmp" "$TMP/replay.cmp"; then
		fail record/report-from "differs from the live report: $(diff "$TMP/live.cmp" "$TMP/replay.cmp" | head -n 12 | tr '\n' '|')"
	elif [ "${shared% *}" -lt $((N - RW)) ] || [ "${shared#* }" -lt $RW ]; then
		fail record/report-from "VM $A ksm_across and cow_breaks '$shared', want at least $((N - RW)) and $RW"
	else
		pass record/report-from
	fi
	echo "# report --from: VM $A ksm_across, cow_breaks: $shared"
fi

# --- trace --from: one line per recorded event ------------------------------
self-e trace --from "$REC" >"$TMP/rec.trace" 2>"$TMP/rec.trace.err"
rc=$?
self-e trace --from "$REC" --json >"$TMP/rec.tjson" 2>/dev/null
self-e trace --from "$REC" --vm "$A" --type fault >"$TMP/rec.faults" 2>/dev/null
lines=$(wc -l <"$TMP/rec.trace")
jlines=$(wc -l <"$TMP/rec.tjson")
# a's faults: the code page (gfn 0x1) and the data pages 0x100..0x17f.
data=$(grep -c " type=fault vcpu=0 gfn=0x1[0-7][0-9a-f] " "$TMP/rec.faults")
if [ "$rc" != 0 ] || [ "$lines" != "$events" ] || [ "$jlines" != "$events" ]; then
	fail record/trace-from "exit $rc, $lines lines ($jlines JSON), recorded $events events: $(cat "$TMP/rec.trace.err")"
elif ! grep -q " type=fault vcpu=0 gfn=0x1 " "$TMP/rec.faults" || [ "$data" -lt $N ]; then
	fail record/trace-from "VM $A's faults: $data on data pages, want at least $N; $(head -n 3 "$TMP/rec.faults" | tr '\n' '|')"
elif [ "$(grep -c ' type=ksm_merge ' "$TMP/rec.trace")" -lt $((2 * N)) ]; then
	fail record/trace-from "$(grep -c ' type=ksm_merge ' "$TMP/rec.trace") ksm_merge lines, want at least $((2 * N))"
else
	pass record/trace-from
fi

# --- heatmap: a PNG of the asked size, coloured where minivmm wrote ---------
W=640
H=400
if ! self-e heatmap "$REC" --vm "$A" -o "$TMP/rec.png" --width $W --height $H 2>"$TMP/hm.err"; then
	fail record/heatmap "exit $?: $(cat "$TMP/hm.err")"
else
	echo "# $(cat "$TMP/hm.err")"
	# The PNG's IHDR: width and height, big-endian, at bytes 16 and 20.
	size=$(od -An -tu1 -j16 -N8 "$TMP/rec.png" | awk '{ print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8 }')
	# "plot at X,Y WxH": where the cells are. Guest page p (of 1024) is on
	# pixel line py + ph - 1 - p * ph / 1024, time runs over px..px+pw-1.
	geo=$(sed -n 's/.*plot at \([0-9]*\),\([0-9]*\) \([0-9]*\)x\([0-9]*\),.*/\1 \2 \3 \4/p' "$TMP/hm.err")
	set -- $geo
	px=$1 py=$2 pw=$3 ph=$4
	pages=1024
	line_of() { echo $((py + ph - 1 - $1 * ph / pages)); }
	data_y=$(line_of $((256 + N / 2)))	# the middle of the data pages
	idle_y=$(line_of 800)			# never touched
	probes=
	x=$px
	while [ $x -lt $((px + pw)) ]; do
		probes="$probes --probe $x,$data_y --probe $x,$idle_y"
		x=$((x + 1))
	done
	self-e heatmap "$REC" --vm "$A" -o "$TMP/rec.png" --width $W --height $H $probes >"$TMP/hm.probes" 2>/dev/null
	# Heat colours are blues; white is an empty cell; markers are green/red.
	hot=$(grep " *,$data_y #" "$TMP/hm.probes" | grep -v -e '#ffffff' -e '#00aa3c' -e '#dc141e' | wc -l)
	idle=$(grep " *,$idle_y #" "$TMP/hm.probes" | grep -vc '#ffffff')
	total=$(wc -l <"$TMP/hm.probes")
	if [ "$size" != "$W $H" ]; then
		fail record/heatmap "PNG is '$size', want '$W $H'"
	elif [ "$total" != $((2 * pw)) ] || [ "$hot" -lt 1 ] || [ "$idle" != 0 ]; then
		fail record/heatmap "$total probes; data line $data_y: $hot heat pixels (want >= 1); idle line $idle_y: $idle non-white (want 0)"
	else
		pass record/heatmap
	fi
	echo "# heatmap: data line $data_y has $hot heat pixels of $pw, idle line $idle_y has $idle"
fi

# --- errors name the problem, with the documented exit status ---------------
errs=
head -c 300 "$REC" >"$TMP/rec.short"
out=$(self-e report --from "$TMP/rec.short" 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "truncated" || errs="$errs truncated: rc=$rc '$out'"
out=$(self-e report --from "$TMP/none.sefr" 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q none.sefr || errs="$errs missing file: rc=$rc '$out'"
out=$(self-e report --from "$REC" --vm 65000 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q 65000 || errs="$errs --vm 65000: rc=$rc '$out'"
out=$(self-e heatmap "$REC" -o "$TMP/x.png" 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q -- "--vm" || errs="$errs several VMs, no --vm: rc=$rc '$out'"
out=$(self-e heatmap "$REC" --vm "$A" -o "$TMP/x.jpg" 2>&1); rc=$?
[ $rc = 2 ] || errs="$errs .jpg: rc=$rc '$out'"
out=$(self-e record 2>&1); rc=$?
[ $rc = 2 ] || errs="$errs no -o: rc=$rc '$out'"
out=$(self-e record -o "$TMP/x.sefr" --vm 65000 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q 65000 || errs="$errs record --vm 65000: rc=$rc '$out'"
out=$(self-e record -o "$TMP/x.sefr" --type nosuch 2>&1); rc=$?
[ $rc = 2 ] || errs="$errs --type nosuch: rc=$rc '$out'"
if [ -z "$errs" ]; then pass record/errors; else fail record/errors "${errs# }"; fi

# --- a recording of given VMs ends when they do ------------------------------
vm_start rc --mem 4 --pages 32 --fill seed:3 --hold 0 --wait-start
if vm_wait_start rc; then
	self-e record -o "$TMP/rc.sefr" --pid "$rc_pid" --duration 120 2>"$TMP/rc.err" &
	r=$!
	wait_readers rc 1 30
	kill -CONT "$rc_pid"
	wait "$rc_pid"
	wait "$r"
	rc=$?
	n=$(self-e trace --from "$TMP/rc.sefr" --type fault 2>/dev/null | wc -l)
	if [ $rc = 0 ] && grep -q "every VM ended" "$TMP/rc.err" && [ "$n" -ge 33 ] &&
		self-e trace --from "$TMP/rc.sefr" 2>/dev/null | tail -n 1 | grep -q "type=vm_destroy"; then
		pass record/pid-ends
	else
		fail record/pid-ends "exit $rc, $n faults: $(cat "$TMP/rc.err")"
	fi
else
	fail record/pid-ends "minivmm printed no start line"
	vm_kill rc
fi

# --- a recording of every VM takes in the VMs created while it runs --------
self-e record -o "$TMP/rn.sefr" --duration 120 2>"$TMP/rn.err" &
r=$!
_i=0
while ! grep -q "recording" "$TMP/rn.err" && [ $_i -lt 300 ]; do
	_i=$((_i + 1))
	sleep 0.1
done
vm_start rn --mem 4 --pages 32 --fill seed:4 --hold 0 --wait-start
if vm_wait_start rn && wait_readers rn 1 30; then
	N_ID=$(vmid_of rn)
	kill -CONT "$rn_pid"
	wait "$rn_pid"
	sleep 1
	kill -INT "$r"
	wait "$r"
	rc=$?
	n=$(self-e trace --from "$TMP/rn.sefr" --vm "$N_ID" --type fault 2>/dev/null | grep -c " type=fault ")
	last=$(self-e trace --from "$TMP/rn.sefr" --vm "$N_ID" 2>/dev/null | tail -n 1)
	if [ $rc = 0 ] && [ "$n" -ge 33 ] && echo "$last" | grep -q "type=vm_destroy"; then
		pass record/new-vm
	else
		fail record/new-vm "exit $rc, VM $N_ID: $n faults (want >= 33), last line '$last': $(cat "$TMP/rn.err")"
	fi
else
	fail record/new-vm "the recorder did not attach to the new VM: readers $(readers_of rn); $(cat "$TMP/rn.err")"
	kill -INT "$r"
	wait "$r"
	vm_kill rn
fi

# --- with access sampling: a looping guest's pages, sampled over time -------
# minivmm --loop reads data pages 0, 4, ..., 28 (gfn 0x100 on) over and over;
# a pass every 100 ms puts their accesses in the recording, and in the
# heatmap as a line along the time axis at the data pages' address.
vm_start rs --mem 4 --pages 64 --fill unique --no-merge --loop 600 --loop-pages 8 --loop-stride 4
if vm_wait_event rs halted 60; then
	self-e record -o "$TMP/rs.sefr" --pid "$rs_pid" --sample-interval 100 --duration 4 2>"$TMP/rs.err"
	rc=$?
	kill -USR1 "$rs_pid"
	wait "$rs_pid"
	acc=$(self-e trace --from "$TMP/rs.sefr" --type access 2>/dev/null | grep -c " gfn=0x100 bitmap=0x11111111")
	self-e report --from "$TMP/rs.sefr" --json >"$TMP/rs.json" 2>&1
	ws=$(tr -d ' \n' <"$TMP/rs.json" | sed -n 's/.*"working_set_pages":{"1":\([0-9]*\).*/\1/p')
	self-e heatmap "$TMP/rs.sefr" -o "$TMP/rs.png" --width 640 --height 400 2>"$TMP/rs-hm.err"
	geo=$(sed -n 's/.*plot at \([0-9]*\),\([0-9]*\) \([0-9]*\)x\([0-9]*\),.*/\1 \2 \3 \4/p' "$TMP/rs-hm.err")
	set -- $geo
	px=$1 py=$2 pw=$3 ph=$4
	loop_y=$((py + ph - 1 - 256 * ph / 1024))
	idle_y=$((py + ph - 1 - 800 * ph / 1024))
	probes=
	x=$px
	while [ $x -lt $((px + pw)) ]; do
		probes="$probes --probe $x,$loop_y --probe $x,$idle_y"
		x=$((x + 1))
	done
	self-e heatmap "$TMP/rs.sefr" -o "$TMP/rs.png" --width 640 --height 400 $probes >"$TMP/rs.probes" 2>/dev/null
	hot=$(grep " *,$loop_y #" "$TMP/rs.probes" | grep -vc '#ffffff')
	idle=$(grep " *,$idle_y #" "$TMP/rs.probes" | grep -vc '#ffffff')
	echo "# sampled: $acc access records of the loop's block, working set $ws pages; heatmap line $loop_y: $hot of $pw columns, idle line: $idle"
	# Passes come every 100 ms only on an idle host (TCG): ask for a few.
	if [ $rc != 0 ] || [ "${acc:-0}" -lt 3 ] || [ -z "$ws" ] || [ "$ws" -lt 8 ]; then
		fail record/sampled "exit $rc, $acc access records with the loop's bitmap (want >= 3), working set '$ws': $(cat "$TMP/rs.err") $(head -c 200 "$TMP/rs.json")"
	elif [ "$hot" -lt 10 ] || [ "$idle" != 0 ]; then
		fail record/sampled "heatmap: $hot coloured columns on the loop's line (want >= 10), $idle on an idle line (want 0)"
	else
		pass record/sampled
	fi
else
	fail record/sampled "minivmm --loop did not start: $(cat "$TMP/rs.err")"
	vm_kill rs
fi

for v in ra rb; do
	vm_end $v
done
[ "$FAILS" -eq 0 ]
