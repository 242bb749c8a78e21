#!/bin/sh
# self-e report against ground truth. self_e.ko is loaded only after the VMs
# exist and KSM has merged their pages, so the report must find both VMs and
# merges that came before it (VM discovery; the snapshot seed). After KSM has
# merged (and stopped), the
# report's per-VM counts and sharing pairs equal /proc/PID/ksm_merging_pages
# and pfn equality in /proc/PID/pagemap; a report attached while a VM
# rewrites pages counts exactly the COW breaks the page tables show, and
# its ksm_shared drops at once (ksm_merging_pages only at ksmd's next look).
. /rig/lib.sh

K=/sys/kernel/mm/ksm
N=128
NS=64
NU=64
NZ=96
RW=16

echo 0 >$K/run
echo 1 >$K/use_zero_pages	# z's zero pages merge with the zero page
rmmod self_e || fail report/rmmod "cannot unload self_e.ko before the VMs start"
vm_start a --mem 4 --pages $N --fill seed:rp --hold 600 --rewrite $RW
vm_start b --mem 4 --pages $N --fill seed:rp --hold 600
vm_start c --mem 4 --pages $NS --fill same:rp --hold 600
vm_start d --mem 4 --pages $NU --fill unique --hold 600
vm_start z --mem 4 --pages $NZ --fill zero --hold 600
for v in a b c d z; do
	if ! vm_wait_event $v halted 120; then
		fail report/start "VM $v did not halt"
		vm_kill a b c d z
		exit 1
	fi
done
ksm_settle
[ -n "$KSM_SETTLED" ] || fail report/settle "counters still moving after 60 s: $KSM_SETTLE_NOTE"
insmod /rig/modules/self_e.ko || { fail report/insmod "cannot load self_e.ko"; vm_kill a b c d z; exit 1; }

# multi X: X's pages mapped twice or more.
multi() {
	vm_ram_pages "$1" | awk '$3 ~ /^P.[^Z]/ && $4 != "map=1" { n++ } END { print n + 0 }'
}

# --- a report taken after the merges: the snapshot seed is the truth -------
if ! self-e report --json --duration 0 >"$TMP/rp1.json" 2>"$TMP/rp1.err"; then
	fail report/after-merge "self-e report failed: $(cat "$TMP/rp1.err")"
else
	errs=
	for v in a b c d z; do
		eval "_pid=\$${v}_pid"
		got="$(rv "$TMP/rp1.json" $v ksm_shared) $(rv "$TMP/rp1.json" $v total) $(rv "$TMP/rp1.json" $v cow_breaks)"
		want="$(cat /proc/$_pid/ksm_merging_pages) 1024 0"
		[ "$got" = "$want" ] || errs="$errs $v:ksm_shared,total,cow_breaks=$got,want=$want"
	done
	zt=$(pagecheck --pid "$z_pid" --addr "$(json "$TMP/z.out" hva)" --pages 1024)
	got="$(rv "$TMP/rp1.json" z ksm_zero) $(rv "$TMP/rp1.json" z ksm_shared)"
	[ "$got" = "$(kv "$zt" zero) 0" ] && [ "$(kv "$zt" zero)" = $NZ ] ||
		errs="$errs z:ksm_zero,ksm_shared=$got,truth zero pages=$(kv "$zt" zero),want $NZ"
	for p in ab ba ac ca bc cb ad da az za; do
		x=${p%?} y=${p#?}
		got=$(shared_with "$TMP/rp1.json" $x $y)
		want=$(shared $x $y)
		[ "${got:-0}" = "$want" ] || errs="$errs $x-$y:shared_with=${got:-none},truth=$want"
	done
	if [ -z "$errs" ]; then pass report/after-merge; else fail report/after-merge "${errs# }"; fi
fi

# --- a report watching while a rewrites: COW breaks, counted live -----------
before=$(multi a)
self-e report --json --duration 60 >"$TMP/rp2.json" 2>"$TMP/rp2.err" &
rp=$!
sleep 2	# attached and seeded
kill -USR1 "$a_pid"
if vm_wait_event a rewritten 60; then
	sleep 1
	kill -INT "$rp"
	wait "$rp"
	rc=$?
	after=$(multi a)
	got="$rc $(rv "$TMP/rp2.json" a cow_breaks) $(rv "$TMP/rp2.json" a ksm_shared) $(rv "$TMP/rp2.json" b ksm_shared)"
	want="0 $((before - after)) $after $(cat /proc/$b_pid/ksm_merging_pages)"
	echo "# report: a's pages on KSM pages $before -> $after; ksm_merging_pages now $(cat /proc/$a_pid/ksm_merging_pages) (lazy)"
	errs=
	[ "$got" = "$want" ] || errs="exit,a.cow_breaks,a.ksm_shared,b.ksm_shared=$got, want $want"
	sw=$(shared_with "$TMP/rp2.json" a b)
	[ "${sw:-0}" = "$(shared a b)" ] || errs="$errs a-b:shared_with=${sw:-none},truth=$(shared a b)"
	if [ -z "$errs" ]; then pass report/cow-live; else fail report/cow-live "$errs $(head -c 300 "$TMP/rp2.err")"; fi
else
	kill "$rp"
	fail report/cow-live "VM a did not rewrite"
fi

# --- errors name the problem, with the documented exit status ---------------
errs=
out=$(self-e report --pid 999999 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q 999999 || errs="$errs --pid 999999: rc=$rc '$out'"
out=$(self-e report --vm 65000 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q 65000 || errs="$errs --vm 65000: rc=$rc '$out'"
out=$(self-e report --vm 70000 2>&1); rc=$?
[ $rc = 2 ] || errs="$errs --vm 70000: rc=$rc '$out'"
out=$(self-e report --duration -1 2>&1); rc=$?
[ $rc = 2 ] || errs="$errs --duration -1: rc=$rc '$out'"
if [ -z "$errs" ]; then pass report/errors; else fail report/errors "${errs# }"; fi

for v in a b c d z; do
	vm_end $v
done
echo 0 >$K/use_zero_pages
[ "$FAILS" -eq 0 ]
