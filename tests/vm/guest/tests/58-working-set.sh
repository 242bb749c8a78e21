#!/bin/sh
# Access sampling (SELF_E_IOC_SET_SAMPLING) against a guest whose accesses are
# known: minivmm --loop reads data pages 0, S, 2S, ... (K of them) over and
# over, and its code page (gfn 1) is fetched all along; nothing else is
# touched. Once the pass that still sees the fill is over, every pass must
# report exactly those pages accessed, and no other; a budget below the VM's
# RAM must give windows that move on by the budget each pass; `self-e report`
# must turn it into the working set, hot and idle pages; the VM's sampling
# figures show in `self-e list` and end with the reader.
. /rig/lib.sh

SELF_E=$(command -v self-e)
[ -n "$SELF_E" ] || { fail ws/binary "no self-e in the guest (make static)"; exit 1; }

LOOP_K=8
LOOP_S=4
DATA_PAGES=64

# passes FILE: one line per sampling pass in a trace, "RANGES|ACCESSES":
# RANGES its sample lines (gfn/pages/p when partial), ACCESSES its access
# lines (gfn:bitmap), both in the order the module sent them.
passes() {
	awk '
	function field(name,   i) {
		for (i = 1; i <= NF; i++)
			if (index($i, name "=") == 1)
				return substr($i, length(name) + 2)
		return ""
	}
	/ type=access / { acc = acc (acc == "" ? "" : " ") field("gfn") ":" field("bitmap") }
	/ type=sample / {
		r = r (r == "" ? "" : " ") field("gfn") "/" field("pages") (field("partial") == 1 ? "/p" : "")
		if (field("end") == 1) { print r "|" acc; r = ""; acc = "" }
	}' "$1"
}

# The ground truth, from the guest's pattern: its data pages from gfn
# gpa/4096, the loop's pages every S pages from there, the code page.
loop_bitmap() {
	_b=0 _i=0
	while [ $_i -lt $LOOP_K ]; do
		_b=$((_b | (1 << (_i * LOOP_S))))
		_i=$((_i + 1))
	done
	printf '0x%x' $_b
}

# start_loop NAME: a VM that fills its pages, then loops; waits for the fill.
start_loop() {
	vm_start "$1" --pages $DATA_PAGES --fill unique --no-merge --loop 600 \
		--loop-pages $LOOP_K --loop-stride $LOOP_S
	vm_wait_event "$1" halted 60
}

# wait_passes FILE N SECONDS: until FILE holds N complete passes.
wait_passes() {
	_i=0
	while [ $_i -lt $(($3 * 10)) ]; do
		_c=$(grep -c ' type=sample .* end=1' "$1" 2>/dev/null)
		[ "${_c:-0}" -ge "$2" ] && return 0
		_i=$((_i + 1))
		sleep 0.1
	done
	return 1
}

start_loop ws || { fail ws/start "minivmm did not start"; exit 1; }
gpa=$(json "$TMP/ws.out" gpa)
code_gpa=$(json "$TMP/ws.out" code_gpa)
ram_pages=$(( $(json "$TMP/ws.out" mem_bytes) / 4096 ))
data_gfn=$(printf '0x%x' $((gpa / 4096)))
code_block_bitmap=$(printf '0x%x' $((1 << (code_gpa / 4096))))
want_access="0x0:$code_block_bitmap $data_gfn:$(loop_bitmap)"

# --- every pass: exactly the loop's pages and the code page -----------------
: >"$TMP/ws-trace.out"	# before the background trace opens it: wait_passes reads it
"$SELF_E" trace --pid "$ws_pid" --sample-interval 100 --type access,sample \
	>"$TMP/ws-trace.out" 2>"$TMP/ws-trace.err" &
tr=$!
wait_passes "$TMP/ws-trace.out" 10 60
list=$("$SELF_E" list --json)
kill "$tr"
wait "$tr"
passes "$TMP/ws-trace.out" >"$TMP/ws-passes"
n=$(wc -l <"$TMP/ws-passes")
bad=$(sed 1d "$TMP/ws-passes" | grep -v -x -F "0x0/$ram_pages|$want_access" | head -n 2)
first=$(head -n 1 "$TMP/ws-passes")
if [ "$n" -lt 10 ]; then
	fail ws/exact "$n passes in the trace, want 10: $(cat "$TMP/ws-trace.err")"
elif [ -n "$bad" ]; then
	fail ws/exact "passes 2..$n must be '0x0/$ram_pages|$want_access'; got: $bad"
else
	pass ws/exact
fi
# The first pass still sees the whole fill: every data page, and the code page.
fill_bitmap=0xffffffffffffffff	# all DATA_PAGES (64) pages of the block
if [ "$first" = "0x0/$ram_pages|0x0:$code_block_bitmap $data_gfn:$fill_bitmap" ]; then
	pass ws/first-pass-sees-fill
else
	fail ws/first-pass-sees-fill "got '$first'"
fi

# The VM's figures while sampled: the interval and budget asked for, passes run.
vm_json=$(echo "$list" | tr -d ' \n' | sed 's/},{"vm_id"/}\n{"vm_id"/g' | grep "\"pid\":$ws_pid,")
s_int=$(echo "$vm_json" | sed -n 's/.*"sampling":{"interval_ms":\([0-9]*\),"budget_pages":\([0-9]*\),"passes":\([0-9]*\),"ns":\([0-9]*\)}.*/\1 \2 \3 \4/p')
set -- $s_int
if [ "${1:-}" = 100 ] && [ "${2:-}" = 262144 ] && [ "${3:-0}" -ge 10 ] && [ "${4:-0}" -gt 0 ]; then
	pass ws/list-while-sampled
	echo "# pass cost: $(( $4 / $3 / 1000 )) us a pass over $ram_pages pages ($3 passes)"
else
	fail ws/list-while-sampled "want interval 100, budget 262144, >= 10 passes, ns > 0; got '$s_int'"
fi
after=$("$SELF_E" list --json | tr -d ' \n' | sed 's/},{"vm_id"/}\n{"vm_id"/g' | grep "\"pid\":$ws_pid," |
	sed -n 's/.*"sampling":{"interval_ms":\([0-9]*\),.*/\1/p')
if [ "$after" = 0 ]; then pass ws/stops-with-reader; else fail ws/stops-with-reader "interval_ms=$after after the trace ended"; fi

# --- a budget: windows of 1024 pages, moving on each pass -------------------
budget=1024
: >"$TMP/ws-budget.out"
"$SELF_E" trace --pid "$ws_pid" --sample-interval 100 --sample-budget $budget --type access,sample \
	>"$TMP/ws-budget.out" 2>"$TMP/ws-budget.err" &
tr=$!
wait_passes "$TMP/ws-budget.out" 9 60
kill "$tr"
wait "$tr"
passes "$TMP/ws-budget.out" >"$TMP/ws-budget-passes"
n=$(wc -l <"$TMP/ws-budget-passes")
errs='' k=1
while read -r line; do
	win=$(( ((k - 1) % (ram_pages / budget)) * budget ))
	want="$(printf '0x%x' $win)/$budget/p|"
	[ $win -eq 0 ] && want="$want$want_access"
	# The first window still holds the fill.
	[ $k -gt 1 ] && [ "$line" != "$want" ] && errs="$errs pass $k: '$line' (want '$want');"
	k=$((k + 1))
done <"$TMP/ws-budget-passes"
if [ "$n" -lt 9 ]; then
	fail ws/budget "$n passes, want 9: $(cat "$TMP/ws-budget.err")"
elif [ -n "$errs" ]; then
	fail ws/budget "${errs% }"
else
	pass ws/budget
fi

# --- report: the working set over 1/10/60 passes, hot and idle pages --------
# Sampled for more than 60 passes: the fill is out of every window, so the
# working set is the loop's pages and the code page, and all other pages of
# guest RAM are idle (cold_pages, pages last used 10..59 passes ago, is 0).
"$SELF_E" report --pid "$ws_pid" --sample-interval 100 --duration 9 --json >"$TMP/ws-report.json" 2>"$TMP/ws-report.err"
rc=$?
r=$(tr -d ' \n' <"$TMP/ws-report.json")
ws_got=$(echo "$r" | sed -n 's/.*"working_set_pages":{"1":\([0-9]*\),"10":\([0-9]*\),"60":\([0-9]*\)},"idle_pages":\([0-9]*\),"sampling":{"passes":\([0-9]*\),"partial_passes":\([0-9]*\),"coarse_passes":\([0-9]*\),"sampled_pages":\([0-9]*\),"hot_pages":\([0-9]*\),"cold_pages":0}.*/\1 \2 \3 \4 \5 \6 \7 \8 \9/p')
set -- $ws_got
ws_want=$((LOOP_K + 1))
if [ $rc -ne 0 ]; then
	fail ws/report "exit $rc: $(cat "$TMP/ws-report.err")"
elif [ "${5:-0}" -lt 61 ]; then
	fail ws/report "only ${5:-0} passes in 9 s at 100 ms (need 61): '$ws_got'"
elif [ "$1 $2 $3 $4 $6 $7 $8 $9" != "$ws_want $ws_want $ws_want $((ram_pages - ws_want)) 0 0 $ram_pages $ws_want" ]; then
	fail ws/report "ws1 ws10 ws60 idle partial coarse sampled hot = '$1 $2 $3 $4 $6 $7 $8 $9', want '$ws_want $ws_want $ws_want $((ram_pages - ws_want)) 0 0 $ram_pages $ws_want'"
else
	pass ws/report
fi
# --- the VM ends while sampled every 10 ms: the trace ends with it --------
: >"$TMP/ws-end.out"
"$SELF_E" trace --pid "$ws_pid" --sample-interval 10 --type sample,vm_destroy \
	>"$TMP/ws-end.out" 2>"$TMP/ws-end.err" &
tr=$!
wait_passes "$TMP/ws-end.out" 5 60
kill -USR1 "$ws_pid"
wait "$ws_pid"
_i=0
while kill -0 "$tr" 2>/dev/null && [ $_i -lt 300 ]; do
	_i=$((_i + 1))
	sleep 0.1
done
if kill -0 "$tr" 2>/dev/null; then
	kill "$tr"
	fail ws/vm-ends-while-sampled "the trace did not end with the VM"
elif wait "$tr" && [ "$(tail -n 1 "$TMP/ws-end.out" | sed -n 's/.* type=\([a-z_]*\).*/\1/p')" = vm_destroy ]; then
	pass ws/vm-ends-while-sampled
else
	fail ws/vm-ends-while-sampled "last line '$(tail -n 1 "$TMP/ws-end.out")': $(cat "$TMP/ws-end.err")"
fi
echo "# $(grep '"looped"' "$TMP/ws.out")"

# --- bad requests: a message and exit 2 -------------------------------------
"$SELF_E" trace --sample-interval 100 >/dev/null 2>"$TMP/ws-e1"
rc1=$?
"$SELF_E" trace --pid 1 --sample-interval 5 >/dev/null 2>"$TMP/ws-e2"
rc2=$?
if [ $rc1 -eq 2 ] && grep -q 'need --vm or --pid' "$TMP/ws-e1" && [ $rc2 -eq 2 ] && grep -q 'sample-interval' "$TMP/ws-e2"; then
	pass ws/usage-errors
else
	fail ws/usage-errors "exit $rc1 '$(cat "$TMP/ws-e1")', exit $rc2 '$(cat "$TMP/ws-e2")'"
fi

[ "$FAILS" -eq 0 ]
