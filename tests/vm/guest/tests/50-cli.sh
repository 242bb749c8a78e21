#!/bin/sh
# self-e list and self-e trace against self_e.ko: list shows exactly the
# running minivmm VMs; trace shows minivmm's known page pattern (the code
# page 0x1 and the data pages from gfn 0x100) and ends with the VM; errors
# exit 1 (failed) or 2 (usage) with a message naming the problem.
. /rig/lib.sh

SELF_E=$(command -v self-e)
if [ -z "$SELF_E" ]; then
	fail cli/binary "no self-e in the guest (make static)"
	exit 1
fi

# wait_gone PID SECONDS: 0 once PID has exited, 1 if it still runs.
wait_gone() {
	_i=0
	while kill -0 "$1" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -lt $(($2 * 10)) ] || return 1
		sleep 0.1
	done
}

# trace_vm NAME OUT ERR ARGS...: start `self-e trace ARGS` (output to OUT,
# stderr to ERR), wait until it says it is tracing, let the stopped minivmm
# NAME run to its end, and wait for the trace to end with it. TRACE_RC: the
# trace's exit status, or "timeout".
trace_vm() {
	_n=$1 _o=$2 _e=$3
	shift 3
	"$SELF_E" trace "$@" >"$_o" 2>"$_e" &
	_tr=$!
	wait_text "$_e" tracing 10
	eval "_vp=\$${_n}_pid"
	kill -CONT "$_vp"
	wait "$_vp"
	if wait_gone "$_tr" 30; then
		wait "$_tr"
		TRACE_RC=$?
	else
		kill "$_tr"
		wait "$_tr"
		TRACE_RC=timeout
	fi
}

# jnum LINE KEY: a number field of one compact JSON object.
jnum() { echo "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }
jstr() { echo "$1" | sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p"; }

# --- list: exactly the running VMs, with their pids and memory -------------
# Every running minivmm owns one VM (the rig's keeper too; the module also
# registers VMs made before it was loaded). Its memory is its --mem MiB
# (default 16), read back from its command line.
list_want() {
	for _p in $(pidof minivmm); do
		_m=$(tr '\0' ' ' <"/proc/$_p/cmdline" | sed -n 's/.*--mem \([0-9]*\) .*/\1/p')
		echo "$_p:$(( ${_m:-16} * 1048576 ))"
	done | sort | tr '\n' ' '
}
# list_got FILE: pid:memory_bytes of each VM in self-e list --json output
# (each key appears once per VM, in the same order).
list_got() {
	grep -o '"pid": [0-9]*' "$1" | sed 's/.* //' >"$TMP/list.pids"
	grep -o '"memory_bytes": [0-9]*' "$1" | sed 's/.* //' >"$TMP/list.mem"
	paste -d: "$TMP/list.pids" "$TMP/list.mem" | sort | tr '\n' ' '
}

vm_start la --mem 32 --pages 32 --fill zero --hold 300
vm_start lb --mem 8 --pages 16 --fill seed:3 --hold 300
if vm_wait_event la halted 60 && vm_wait_event lb halted 60; then
	"$SELF_E" list --json >"$TMP/list.json" 2>"$TMP/list.err"
	rc=$?
	"$SELF_E" list >"$TMP/list.txt" 2>&1
	sed 's/^/# /' "$TMP/list.txt"
	got=$(list_got "$TMP/list.json")
	want=$(list_want)
	nvms=$(echo "$want" | wc -w)
	comms=$(grep -c '"comm": "minivmm"' "$TMP/list.json")
	if [ "$rc" != 0 ]; then
		fail cli/list-json "exit $rc: $(cat "$TMP/list.err")"
	elif [ "$got" != "$want" ]; then
		fail cli/list-json "pid:memory_bytes '$got', want '$want'"
	elif [ "$comms" != "$nvms" ]; then
		fail cli/list-json "$comms VMs named minivmm, want $nvms"
	elif ! echo " $want" | grep -q " $la_pid:$(json "$TMP/la.out" mem_bytes) " ||
		! echo " $want" | grep -q " $lb_pid:$(json "$TMP/lb.out" mem_bytes) "; then
		fail cli/list-json "the test's VMs are not in '$want' with minivmm's mem_bytes"
	else
		pass cli/list-json
	fi
	# The table: a header, one line per VM with its pid and memory in MiB.
	if grep -q '^ *VM  *PID  *NAME' "$TMP/list.txt" &&
		grep -q "^ *[0-9]*  *$la_pid minivmm .* 32 MiB " "$TMP/list.txt" &&
		grep -q "^ *[0-9]*  *$lb_pid minivmm .* 8 MiB " "$TMP/list.txt" &&
		[ "$(wc -l <"$TMP/list.txt")" = $((nvms + 1)) ]; then
		pass cli/list-text
	else
		fail cli/list-text "$(tr '\n' '|' <"$TMP/list.txt")"
	fi
	vm_end la
	vm_end lb
	"$SELF_E" list --json >"$TMP/list2.json" 2>&1
	got=$(list_got "$TMP/list2.json")
	want=$(list_want)
	if [ "$got" = "$want" ] && ! echo " $got" | grep -q " $la_pid:\| $lb_pid:"; then
		pass cli/list-ended
	else
		fail cli/list-ended "after two VMs ended: '$got', want '$want'"
	fi
else
	fail cli/list-json "minivmm did not halt"
	vm_kill la lb
fi

# --- trace --pid --json: the VM's faults from before its guest runs -------
# --wait-start stops minivmm after it made the VM, so trace attaches first.
vm_start tj --pages 32 --fill seed:5 --hold 0 --wait-start
if vm_wait_start tj; then
	trace_vm tj "$TMP/trace.json" "$TMP/trace.err" --pid "$tj_pid" --json
	rc=$TRACE_RC
	hva=$(json "$TMP/tj.out" hva)
	: >"$TMP/tj.bad"
	: >"$TMP/tj.gfns"
	grep '"type":"fault"' "$TMP/trace.json" >"$TMP/tj.faults"
	while read -r line; do
		g=$(jnum "$line" gfn)
		h=$(jnum "$line" hva)
		a=$(jstr "$line" access)
		[ "$h" = $((hva + g * 4096)) ] || echo "gfn $g: hva $h" >>"$TMP/tj.bad"
		[ "$g" = 1 ] || [ "$a" = write ] || echo "gfn $g: $a" >>"$TMP/tj.bad"
		echo "$g" >>"$TMP/tj.gfns"
	done <"$TMP/tj.faults"
	sort -n -o "$TMP/tj.gfns" "$TMP/tj.gfns"
	{ echo 1; seq 256 287; } >"$TMP/tj.want"
	last=$(tail -n 1 "$TMP/trace.json")
	if [ "$rc" != 0 ]; then
		fail cli/trace-json "exit $rc: $(cat "$TMP/trace.err")"
	elif ! cmp -s "$TMP/tj.gfns" "$TMP/tj.want"; then
		fail cli/trace-json "fault gfns: $(wc -l <"$TMP/tj.gfns") lines, want 1 and 256..287 once each: $(uniq -d "$TMP/tj.gfns" | head -n 3 | tr '\n' ' ')"
	elif [ -s "$TMP/tj.bad" ]; then
		fail cli/trace-json "$(head -n 3 "$TMP/tj.bad" | tr '\n' ' ')"
	elif [ "$(jstr "$last" type)" != vm_destroy ]; then
		fail cli/trace-json "last line is not the VM's end: $last"
	elif ! grep -q "events printed, 0 lost" "$TMP/trace.err"; then
		fail cli/trace-json "no end summary: $(tail -n 1 "$TMP/trace.err")"
	else
		pass cli/trace-json
	fi
else
	fail cli/trace-json "minivmm printed no start line: $(cat "$TMP/tj.err")"
	vm_kill tj
fi

# --- trace --vm --type fault, text: the module's line format, faults only --
vm_start tt --pages 16 --fill zero --hold 0 --wait-start
if vm_wait_start tt; then
	vmid=$("$SELF_E" list --json | tr -d '\n ' | sed -n "s/.*\"vm_id\":\([0-9]*\),\"pid\":$tt_pid,.*/\1/p")
	trace_vm tt "$TMP/trace.txt" "$TMP/trace2.err" --vm "${vmid:-0}" --type fault
	rc=$TRACE_RC
	bad=$(grep -v -E '^ts=[0-9]+ vm='"$vmid"' type=fault vcpu=[0-9]+ gfn=0x[0-9a-f]+ hva=0x[0-9a-f]+ pfn=0x[0-9a-f]+ access=(read|write|exec|prefetch) writable=[01] level=(4k|2m|1g)$' "$TMP/trace.txt" | head -n 2)
	n=$(wc -l <"$TMP/trace.txt")
	if [ -z "$vmid" ]; then
		fail cli/trace-text "self-e list has no VM of pid $tt_pid"
	elif [ "$rc" != 0 ]; then
		fail cli/trace-text "exit $rc: $(cat "$TMP/trace2.err")"
	elif [ -n "$bad" ]; then
		fail cli/trace-text "lines off the format or not faults: $bad"
	elif [ "$n" != 17 ]; then
		fail cli/trace-text "$n fault lines, want 17 (code page + 16 data pages)"
	else
		pass cli/trace-text
	fi
else
	fail cli/trace-text "minivmm printed no start line: $(cat "$TMP/tt.err")"
	vm_kill tt
fi

# --- trace without a VM: the all-VM text stream, ended by SIGINT ------------
"$SELF_E" trace --type vm_create,vm_destroy >"$TMP/trace-all.txt" 2>"$TMP/trace-all.err" &
tr_pid=$!
sleep 1
vm_start ta --pages 4 --fill zero --hold 0
wait "$ta_pid"
sleep 1
kill -INT "$tr_pid"
if wait_gone "$tr_pid" 10; then
	wait "$tr_pid"
	rc=$?
else
	kill -9 "$tr_pid"
	rc=hung
fi
if [ "$rc" != 0 ]; then
	fail cli/trace-all "exit $rc after SIGINT: $(cat "$TMP/trace-all.err")"
elif ! grep -q "type=vm_create pid=$ta_pid\$" "$TMP/trace-all.txt" ||
	[ "$(grep -c -v 'type=vm_create\|type=vm_destroy' "$TMP/trace-all.txt")" != 0 ] ||
	[ "$(grep -c 'type=vm_destroy$' "$TMP/trace-all.txt")" = 0 ]; then
	fail cli/trace-all "$(tr '\n' '|' <"$TMP/trace-all.txt" | head -c 300)"
elif ! grep -q 'all VMs: [0-9]* events printed, 0 lost' "$TMP/trace-all.err"; then
	fail cli/trace-all "no summary on stderr: $(cat "$TMP/trace-all.err")"
else
	pass cli/trace-all
fi

# --- a tiny ring that overflows, seen by trace and by list --watch ---------
# list --watch joins the events group first. trace attaches with a 4 KiB
# ring (64 records a lane) and is stopped (SIGSTOP) while the guest writes
# 4096 pages, so the ring overflows; it resumes before the VM ends, so the
# VM's end event finds room and is preceded by a LOST record with the count.
# minivmm is pinned to CPU 0: its faults and its end go to the same lane.
# Every fault is printed or counted lost, and the module sends an overflow
# notification.
"$SELF_E" list --watch >"$TMP/watch.txt" 2>"$TMP/watch.err" &
wl_pid=$!
wait_text "$TMP/watch.txt" '^ *VM  *PID\|^no VMs' 10
: >"$TMP/ov.out"
: >"$TMP/ov.err"
taskset -c 0 minivmm --mem 32 --pages 4096 --fill zero --hold 300 --wait-start \
	>"$TMP/ov.out" 2>"$TMP/ov.err" &
ov_pid=$!
if vm_wait_start ov; then
	"$SELF_E" trace --pid "$ov_pid" --ring 4 >"$TMP/ov.txt" 2>"$TMP/ovt.err" &
	tr_pid=$!
	wait_text "$TMP/ovt.err" tracing 10
	kill -STOP "$tr_pid"
	kill -CONT "$ov_pid"
	vm_wait_event ov halted 120
	kill -CONT "$tr_pid"
	sleep 1	# trace empties the ring
	vm_end ov
	wait_text "$TMP/ovt.err" 'events printed' 30
	if grep -q 'events printed' "$TMP/ovt.err"; then
		wait "$tr_pid"
		rc=$?
	else
		kill "$tr_pid"
		wait "$tr_pid"
		rc=timeout
	fi
	faults=$(grep -c ' type=fault ' "$TMP/ov.txt")
	lost_sum=$(sed -n 's/.* type=lost count=\([0-9]*\)$/\1/p' "$TMP/ov.txt" |
		awk '{ s += $1 } END { print s + 0 }')
	lost=$(sed -n 's/.* events printed, \([0-9]*\) lost.*/\1/p' "$TMP/ovt.err")
	last=$(tail -n 1 "$TMP/ov.txt" | sed 's/^ts=[0-9]* vm=[0-9]* //')
	if [ "$rc" != 0 ]; then
		fail cli/trace-lost "exit $rc: $(cat "$TMP/ovt.err")"
	elif [ -z "$lost" ] || [ "$lost" = 0 ] || [ "$lost_sum" != "$lost" ]; then
		fail cli/trace-lost "LOST lines count $lost_sum, stderr says: $(tr '\n' '|' <"$TMP/ovt.err")"
	elif [ $((faults + lost)) != 4097 ]; then
		fail cli/trace-lost "$faults faults printed + $lost lost != 4097 (code page + 4096 data pages)"
	elif [ "$last" != type=vm_destroy ]; then
		fail cli/trace-lost "the last line is '$last', not the VM's end"
	else
		echo "# trace-lost: $faults faults printed, $lost lost (LOST lines agree)"
		pass cli/trace-lost
	fi
else
	fail cli/trace-lost "minivmm printed no start line: $(cat "$TMP/ov.err")"
	vm_kill ov
fi
sleep 1	# notifications leave the module from a work item
kill -INT "$wl_pid"
if wait_gone "$wl_pid" 10; then
	wait "$wl_pid"
	rc=$?
else
	kill -9 "$wl_pid"
	rc=hung
fi
ovm=$(sed -n "s/^vm_new vm=\([0-9]*\) pid=$ov_pid comm=minivmm\$/\1/p" "$TMP/watch.txt")
ov_hva=$(printf '0x%x' "$(json "$TMP/ov.out" hva)")
if [ "$rc" != 0 ]; then
	fail cli/list-watch "exit $rc after SIGINT: $(cat "$TMP/watch.err")"
elif [ -z "$ovm" ]; then
	fail cli/list-watch "no vm_new for pid $ov_pid: $(tr '\n' '|' <"$TMP/watch.txt" | head -c 300)"
elif ! grep -q "^memslot vm=$ovm slot=0 as=0 gfn=0x0 pages=8192 hva=$ov_hva change=create\$" "$TMP/watch.txt"; then
	fail cli/list-watch "no memslot create for VM $ovm at $ov_hva: $(grep "vm=$ovm " "$TMP/watch.txt" | tr '\n' '|')"
elif ! grep -q "^overflow vm=$ovm dropped=[1-9][0-9]*\$" "$TMP/watch.txt"; then
	fail cli/list-watch "no overflow notice for VM $ovm: $(grep "vm=$ovm " "$TMP/watch.txt" | tr '\n' '|')"
elif ! grep -q "^vm_del vm=$ovm pid=$ov_pid comm=minivmm\$" "$TMP/watch.txt"; then
	fail cli/list-watch "no vm_del for VM $ovm"
else
	pass cli/list-watch
fi

# --- errors: exit 1 for what failed, 2 for a bad command line ---------------
ERR=
out=$("$SELF_E" trace --vm 65000 2>&1)
rc=$?
case "$rc:$out" in 1:*"no VM 65000"*) ;; *) ERR="$ERR [unknown VM: rc=$rc '$out']" ;; esac
out=$("$SELF_E" trace --pid 1 2>&1)
rc=$?
case "$rc:$out" in 1:*"pid 1 has no KVM VM"*) ;; *) ERR="$ERR [pid without VM: rc=$rc '$out']" ;; esac
out=$("$SELF_E" trace --type fault,nope 2>&1)
rc=$?
case "$rc:$out" in 2:*"unknown event type 'nope'"*) ;; *) ERR="$ERR [bad type: rc=$rc '$out']" ;; esac
out=$("$SELF_E" trace --vm 1 --pid 1 2>&1)
rc=$?
case "$rc" in 2) ;; *) ERR="$ERR [--vm with --pid: rc=$rc '$out']" ;; esac
out=$("$SELF_E" list --bogus 2>&1)
rc=$?
case "$rc" in 2) ;; *) ERR="$ERR [list --bogus: rc=$rc '$out']" ;; esac
if [ -z "$ERR" ]; then pass cli/errors; else fail cli/errors "${ERR# }"; fi

# --- not root: both commands refuse and say why -----------------------------
# busybox su needs the user in /etc/passwd; the initramfs has none.
mkdir -p /etc
[ -f /etc/passwd ] || echo 'root:x:0:0::/:/bin/sh' >/etc/passwd
grep -q '^nobody:' /etc/passwd || echo 'nobody:x:65534:65534::/:/bin/sh' >>/etc/passwd
[ -f /etc/group ] || echo 'root:x:0:' >/etc/group
grep -q '^nogroup:' /etc/group || echo 'nogroup:x:65534:' >>/etc/group
if [ "$(su -s /bin/sh -c 'id -u' nobody 2>/dev/null)" != 65534 ]; then
	echo "# skipped cli/not-root: su cannot run a command as nobody in this guest"
else
	ERR=
	out=$(su -s /bin/sh -c "$SELF_E list" nobody 2>&1)
	rc=$?
	case "$rc:$out" in 1:*"needs root"*) ;; *) ERR="$ERR [list: rc=$rc '$out']" ;; esac
	out=$(su -s /bin/sh -c "$SELF_E trace" nobody 2>&1)
	rc=$?
	case "$rc:$out" in 1:*"needs root"*) ;; *) ERR="$ERR [trace: rc=$rc '$out']" ;; esac
	if [ -z "$ERR" ]; then pass cli/not-root; else fail cli/not-root "${ERR# }"; fi
fi

[ "$FAILS" -eq 0 ]
