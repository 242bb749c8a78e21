#!/bin/sh
# unmap events against the page tables. A VMM drops D of its KSM-merged data
# pages (minivmm --dontneed: MADV_DONTNEED, as a balloon does): the VM gets
# exactly one unmap for those gfns, pagemap shows exactly those pages gone,
# and a report attached before counts exactly them as unmapped and off their
# KSM pages (the rest still shared, by pfn equality with the other VM). The
# VMM's exit unmaps all of its guest RAM, just before the VM's end.
. /rig/lib.sh

N=64
D=16
MEM_MIB=4

vm_start a --mem $MEM_MIB --pages $N --fill seed:um --hold 600 --dontneed $D
vm_start b --mem $MEM_MIB --pages $N --fill seed:um --hold 600
for v in a b; do
	vm_wait_event $v halted 120 || { fail unmap/start "VM $v did not halt"; vm_kill a b; exit 1; }
done
ksm_settle
[ -n "$KSM_SETTLED" ] || fail unmap/settle "KSM still moving after 60 s: $KSM_SETTLE_NOTE"

: >"$TMP/um-trace.out"
: >"$TMP/um-trace.err"
self-e trace --pid "$a_pid" --type unmap,vm_destroy >"$TMP/um-trace.out" 2>"$TMP/um-trace.err" &
tr=$!
self-e report --pid "$a_pid" --duration 600 --json >"$TMP/um-report.json" 2>"$TMP/um-report.err" &
rp=$!
wait_text "$TMP/um-trace.err" tracing 30
# Both readers attached (and the report seeded: it seeds right after attaching).
_i=0
while [ "$(self-e list --json | tr -d ' \n' | sed 's/},{"vm_id"/}\n{"vm_id"/g' | grep "\"pid\":$a_pid," |
	sed -n 's/.*"readers":\([0-9]*\).*/\1/p')" != 2 ] && [ $_i -lt 300 ]; do
	_i=$((_i + 1))
	sleep 0.1
done
sleep 1

kill -USR1 "$a_pid"
vm_wait_event a dontneed 60 || fail unmap/dontneed "minivmm did not drop its pages"
sleep 1
kill -INT "$rp"
wait "$rp"
rrc=$?

data_gfn=$(( $(json "$TMP/a.out" gpa) / 4096 ))
# Ground truth from pagemap: which data pages are gone, which still share b's pfns.
vm_ram_pages a >"$TMP/um-a"
vm_ram_pages b >"$TMP/um-b"
gone=$(awk -v lo=$data_gfn -v hi=$((data_gfn + N)) '$1 >= lo && $1 < hi && $3 !~ /^P/ { printf "%d ", $1 - lo }' "$TMP/um-a")
want_gone=$(i=0; while [ $i -lt $D ]; do printf '%d ' $i; i=$((i + 1)); done)
if [ "$gone" = "$want_gone" ]; then pass unmap/pagemap; else fail unmap/pagemap "data pages not present: '$gone', want '$want_gone'"; fi
# Pages of a on a pfn b maps too: all of guest RAM (the code pages are alike
# too), and the data pages alone.
shared_truth=$(awk 'NR == FNR { if ($3 ~ /^P.[^Z]/) s[$2] = 1; next } $3 ~ /^P.[^Z]/ && ($2 in s) { n++ } END { print n + 0 }' "$TMP/um-b" "$TMP/um-a")
shared_data=$(awk -v lo=$data_gfn -v hi=$((data_gfn + N)) 'NR == FNR { if ($3 ~ /^P.[^Z]/) s[$2] = 1; next }
	$1 >= lo && $1 < hi && $3 ~ /^P.[^Z]/ && ($2 in s) { n++ } END { print n + 0 }' "$TMP/um-b" "$TMP/um-a")

lines=$(grep -c . "$TMP/um-trace.out")
first=$(head -n 1 "$TMP/um-trace.out" | sed 's/^ts=[0-9]* vm=[0-9]* //')
want="type=unmap gfn=$(printf '0x%x' $data_gfn) pages=$D"
if [ "$lines" = 1 ] && [ "$first" = "$want" ]; then
	pass unmap/event
else
	fail unmap/event "want one line '$want'; got $lines: $(tr '\n' ';' <"$TMP/um-trace.out")"
fi

r=$(tr -d ' \n' <"$TMP/um-report.json")
unmapped=$(echo "$r" | sed -n 's/.*"unmapped":\([0-9]*\).*/\1/p')
ksm=$(echo "$r" | sed -n 's/.*"ksm_shared":\([0-9]*\).*/\1/p')
if [ $rrc -ne 0 ]; then
	fail unmap/report "exit $rrc: $(cat "$TMP/um-report.err")"
elif [ "$unmapped" = "$D" ] && [ "$ksm" = "$shared_truth" ] && [ "$shared_data" = $((N - D)) ]; then
	pass unmap/report
else
	fail unmap/report "unmapped=$unmapped (want $D), ksm_shared=$ksm (pagemap: $shared_truth; data pages shared $shared_data, want $((N - D)))"
fi

# The VMM exits: all its guest RAM goes, then the VM ends.
kill -USR1 "$a_pid"
wait "$a_pid"
_i=0
while kill -0 "$tr" 2>/dev/null && [ $_i -lt 300 ]; do
	_i=$((_i + 1))
	sleep 0.1
done
kill "$tr" 2>/dev/null
wait "$tr"
got=$(sed 1d "$TMP/um-trace.out" | sed 's/^ts=[0-9]* vm=[0-9]* //' | tr '\n' ';')
want="type=unmap gfn=0x0 pages=$((MEM_MIB * 256));type=vm_destroy;"
if [ "$got" = "$want" ]; then pass unmap/exit; else fail unmap/exit "after the drop: '$got', want '$want'"; fi
vm_kill b
[ "$FAILS" -eq 0 ]
