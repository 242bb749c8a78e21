#!/bin/sh
# self-e top --batch and self-e export against ground truth. Four minivmm
# VMs, merged by KSM and then left alone: a and b hold the same pages (shared
# between VMs), c one page 64 times (shared within the VM), z zero pages
# merged with the zero page (use_zero_pages=1). top's rows and the exporter's
# self_e_ series must equal, per VM, what the page tables show: KSM pages
# mapped by another VM (INTER), by this VM only (INTRA), zero-page merges,
# pages present, and /proc/PID/ksm_merging_pages for all KSM-shared pages.
. /rig/lib.sh

K=/sys/kernel/mm/ksm
N=128
NS=64
NZ=96
PORT=9860

echo 0 >$K/run
echo 1 >$K/use_zero_pages
[ -d /sys/module/self_e ] || insmod /rig/modules/self_e.ko || { fail top/insmod "cannot load self_e.ko"; exit 1; }
vm_start a --mem 4 --pages $N --fill seed:65 --hold 600
vm_start b --mem 4 --pages $N --fill seed:65 --hold 600
vm_start c --mem 4 --pages $NS --fill same:65 --hold 600
vm_start z --mem 4 --pages $NZ --fill zero --hold 600
for v in a b c z; do
	if ! vm_wait_event $v halted 120; then
		fail top/start "VM $v did not halt"
		vm_kill a b c z
		exit 1
	fi
done
ksm_settle
[ -n "$KSM_SETTLED" ] || fail top/settle "counters still moving after 60 s: $KSM_SETTLE_NOTE"

# truth V: "present intra inter zero ksm" of VM V from its page tables: pages
# present; non-zero pages whose frame another of the VMs maps (inter), else
# that V maps more than once (intra); zero-page pages; ksm_merging_pages.
truth() {
	: >"$TMP/te.others"
	for w in a b c z; do
		[ $w = "$1" ] || vm_ram_pages $w | awk '$3 ~ /^P.[^Z]/ { print $2 }' >>"$TMP/te.others"
	done
	vm_ram_pages "$1" >"$TMP/te.mine"
	eval "_pid=\$${1}_pid"
	awk -v ksm="$(cat /proc/$_pid/ksm_merging_pages)" '
		NR == FNR { other[$1] = 1; next }
		$3 ~ /^P/ { present++ }
		$3 ~ /^P.Z/ { zero++ }
		$3 ~ /^P.[^Z]/ { n[$2]++ }
		END {
			for (p in n) { if (p in other) inter += n[p]; else if (n[p] > 1) intra += n[p] }
			print present + 0, intra + 0, inter + 0, zero + 0, ksm
		}' "$TMP/te.others" "$TMP/te.mine"
}
for v in a b c z; do
	eval "truth_$v=\"$(truth $v)\""
done
echo "# truth (present intra inter zero ksm_merging_pages): a $truth_a, b $truth_b, c $truth_c, z $truth_z"
# The fill gives these sharing figures; the truth must show them too.
[ "$(echo $truth_a | cut -d' ' -f3)" -ge $N ] && [ "$(echo $truth_c | cut -d' ' -f2)" -ge $NS ] &&
	[ "$(echo $truth_z | cut -d' ' -f4)" -ge $NZ ] || fail top/truth "KSM did not merge as the fills say"

# --- self-e top --batch: two snapshots, a row per VM ----------------------
if ! self-e top --batch --count 2 --interval 1 --sort pid >"$TMP/top.txt" 2>"$TMP/top.err"; then
	fail top/batch "self-e top failed: $(cat "$TMP/top.err")"
else
	errs=
	n=$(grep -c '^self-e top ' "$TMP/top.txt")
	[ "$n" = 2 ] || errs="$errs snapshots=$n"
	grep -q '\[' "$TMP/top.txt" && errs="$errs escape-sequence"
	for v in a b c z; do
		eval "_pid=\$${v}_pid; _t=\$truth_$v"
		# The second snapshot's row: VM PID NAME TOUCH/s TOUCHED INTRA INTER ZERO COW/s DROP
		row=$(awk -v pid="$_pid" '/^self-e top / { k++ } k == 2 && $2 == pid' "$TMP/top.txt")
		got=$(echo "$row" | awk '{ print $3, $5, $6, $7, $8, $9, $10 }')
		want="minivmm $(echo $_t | cut -d' ' -f1-4) 0.0 0"
		[ "$got" = "$want" ] || errs="$errs $v:name,touched,intra,inter,zero,cow/s,drop=$got,want=$want"
		ksm=$(echo "$row" | awk '{ print $6 + $7 }')
		[ "$ksm" = "$(echo $_t | cut -d' ' -f5)" ] || errs="$errs $v:intra+inter=$ksm,ksm_merging_pages=$(echo $_t | cut -d' ' -f5)"
	done
	if [ -z "$errs" ]; then pass top/batch; else fail top/batch "${errs# }"; sed 's/^/# /' "$TMP/top.txt"; fi
fi

# --- self-e export, scraped with busybox wget -------------------------------
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
self-e export --listen 127.0.0.1:$PORT --interval 1 >"$TMP/exp.out" 2>"$TMP/exp.err" &
ex=$!
_i=0
while ! wget -q -O "$TMP/metrics.txt" "http://127.0.0.1:$PORT/metrics" 2>/dev/null; do
	_i=$((_i + 1))
	if [ $_i -ge 300 ] || ! kill -0 $ex 2>/dev/null; then
		break
	fi
	sleep 0.1
done
if [ ! -s "$TMP/metrics.txt" ]; then
	fail export/scrape "no /metrics from self-e export: $(cat "$TMP/exp.err")"
else
	errs=
	# m NAME LABELS: the value of the series NAME{LABELS...}.
	m() { grep -F "$1{$2} " "$TMP/metrics.txt" | head -n 1 | sed 's/.* //'; }
	m0() { grep "^$1 " "$TMP/metrics.txt" | sed 's/.* //'; }
	got="$(m0 self_e_module_loaded) $(m0 self_e_host_ksm_shared_pages) $(m0 self_e_host_ksm_sharing_pages)"
	want="1 $(cat $K/pages_shared) $(cat $K/pages_sharing)"
	[ "$got" = "$want" ] || errs="$errs module_loaded,host_ksm=$got,want=$want"
	for v in a b c z; do
		eval "_pid=\$${v}_pid; _t=\$truth_$v"
		l=$(grep -o "self_e_vm_guest_pages{vm=\"[0-9]*\",pid=\"$_pid\",name=\"minivmm\"}" "$TMP/metrics.txt" |
			sed 's/self_e_vm_guest_pages{//; s/}$//')
		if [ -z "$l" ]; then
			errs="$errs $v:no-series"
			continue
		fi
		got="$(m self_e_vm_guest_pages "$l") $(m self_e_vm_touched_pages "$l")"
		for c in ksm_intra ksm_inter zero; do
			got="$got $(m self_e_vm_pages "$l,class=\"$c\"")"
		done
		got="$got $(m self_e_vm_cow_breaks_total "$l") $(m self_e_vm_exact "$l")"
		want="1024 $(echo $_t | cut -d' ' -f1-4) 0 1"
		[ "$got" = "$want" ] || errs="$errs $v:guest,touched,intra,inter,zero,cow,exact=$got,want=$want"
		sum=0
		for c in untouched private ksm_intra ksm_inter ksm_alone zero unmapped; do
			sum=$((sum + $(m self_e_vm_pages "$l,class=\"$c\"")))
		done
		[ $sum = 1024 ] || errs="$errs $v:classes-sum=$sum"
	done
	if [ -z "$errs" ]; then pass export/scrape; else fail export/scrape "${errs# }"; fi
fi
# --- a VM created and destroyed while the exporter runs ----------------------
# scrape_until TEXT yes|no: scrape every 0.2 s (at most 30 s) until /metrics
# holds TEXT (yes) or no longer does (no).
scrape_until() {
	_i=0
	while [ $_i -lt 150 ]; do
		if wget -q -O "$TMP/m2.txt" "http://127.0.0.1:$PORT/metrics" 2>/dev/null; then
			if grep -qF "$1" "$TMP/m2.txt"; then [ "$2" = yes ] && return 0; else [ "$2" = no ] && return 0; fi
		fi
		_i=$((_i + 1))
		sleep 0.2
	done
	return 1
}
vm_start n --mem 4 --pages 16 --fill unique --hold 600
if ! vm_wait_event n halted 120; then
	fail export/vm-new "VM n did not halt"
	vm_kill n
else
	if scrape_until "pid=\"$n_pid\",name=\"minivmm\",class=\"private\"}" yes; then
		sleep 2.5	# two samples after it halted
		wget -q -O "$TMP/m2.txt" "http://127.0.0.1:$PORT/metrics"
		want=$(vm_ram_pages n | awk '$3 ~ /^P/ { n++ } END { print n + 0 }')
		got=$(grep -F "self_e_vm_touched_pages{" "$TMP/m2.txt" | grep -F "pid=\"$n_pid\"" | sed 's/.* //')
		if [ "$got" = "$want" ]; then pass export/vm-new; else fail export/vm-new "touched=$got, pages present=$want"; fi
	else
		fail export/vm-new "no series for the new VM (pid $n_pid) within 30 s"
	fi
	vm_end n
	if scrape_until "pid=\"$n_pid\"" no; then pass export/vm-gone; else fail export/vm-gone "VM n's series stayed after it ended"; fi
fi

kill -TERM $ex
wait $ex
rc=$?
if [ $rc = 0 ] && grep -q stopped "$TMP/exp.err"; then pass export/stop; else fail export/stop "rc=$rc: $(cat "$TMP/exp.err")"; fi

# --- errors with the documented exit status ---------------------------------
errs=
out=$(self-e top --sort bogus 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q bogus || errs="$errs --sort bogus: rc=$rc '$out'"
out=$(self-e top --count 2 2>&1); rc=$?
[ $rc = 2 ] || errs="$errs --count without --batch: rc=$rc '$out'"
out=$(self-e top </dev/null 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q -- --batch || errs="$errs no terminal: rc=$rc '$out'"
out=$(self-e export --listen nowhere 2>&1); rc=$?
[ $rc = 2 ] || errs="$errs --listen nowhere: rc=$rc '$out'"
if [ -z "$errs" ]; then pass top/errors; else fail top/errors "${errs# }"; fi

for v in a b c z; do
	vm_end $v
done
echo 0 >$K/use_zero_pages
[ "$FAILS" -eq 0 ]
