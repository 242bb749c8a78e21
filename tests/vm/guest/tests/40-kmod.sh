#!/bin/sh
# self_e.ko's interface: page-fault events against minivmm's known page
# pattern (kmodtest), the text stream of /dev/self-e, and load/attach/unload
# cycles while VMs keep faulting.
. /rig/lib.sh

# kmodtest prints its own PASS/FAIL line; a crash without one is a failure.
for t in faults two-vms readers overflow watermark bad-input netlink; do
	out=$(kmodtest "$t" 2>&1)
	echo "$out"
	echo "$out" | grep -q "^\(PASS\|FAIL\) kmod/$t" ||
		fail "kmod/$t" "kmodtest ended without a result: $(echo "$out" | tail -n 1)"
	echo "$out" | grep -q "^FAIL " && FAILS=$((FAILS + 1))
done

# --- text stream: `cat /dev/self-e` under a running VM --------------------
cat /dev/self-e >"$TMP/text.out" &
cat_pid=$!
sleep 1	# cat is reading: every VM from now on is in its stream
# cat reads the VM's lines only once the VM is gone: their hvas must still
# come from the VM's memslots.
kill -STOP "$cat_pid"
vm_start tv --pages 32 --fill seed:5 --hold 0 --slot-churn
wait "$tv_pid"
sleep 0.2	# the VM's end is delivered a grace period after its destruction
kill -CONT "$cat_pid"
sleep 1	# let cat take the lines
kill "$cat_pid"
wait "$cat_pid" 2>/dev/null

vmid=$(sed -n "s/^ts=[0-9]* vm=\([0-9]*\) type=vm_create pid=$tv_pid\$/\1/p" "$TMP/text.out")
hva=$(json "$TMP/tv.out" hva)
grep " vm=$vmid " "$TMP/text.out" >"$TMP/text.vm" 2>/dev/null
# Every line of the VM has the documented shape (anchored, nothing extra).
shape_bad=$(grep -v -E \
	-e '^ts=[0-9]+ vm=[0-9]+ type=vm_create pid=[0-9]+$' \
	-e '^ts=[0-9]+ vm=[0-9]+ type=memslot slot=[0-9]+ as=[0-9]+ gfn=0x[0-9a-f]+ pages=[0-9]+( hva=0x[0-9a-f]+)? change=(create|delete|move|flags)$' \
	-e '^ts=[0-9]+ vm=[0-9]+ type=fault vcpu=[0-9]+ gfn=0x[0-9a-f]+( hva=0x[0-9a-f]+)? pfn=0x[0-9a-f]+ access=(read|write|exec|prefetch) writable=[01] level=(4k|2m|1g)$' \
	-e '^ts=[0-9]+ vm=[0-9]+ type=unmap gfn=0x[0-9a-f]+ pages=[0-9]+$' \
	-e '^ts=[0-9]+ vm=[0-9]+ type=vm_destroy$' "$TMP/text.vm" | head -n 2)
# The fault lines: code page 0x1 and gfns 0x100..0x11f, each once, the data
# pages written, hva = minivmm's base + gfn * 4 KiB.
grep ' type=fault ' "$TMP/text.vm" >"$TMP/text.faults"
: >"$TMP/text.bad"
: >"$TMP/text.gfns"
while read -r _ts _vm _type _vcpu gfn hvaf _pfn access _w _l; do
	g=${gfn#gfn=}
	want=$(printf 'hva=0x%x' $((hva + g * 4096)))
	[ "$hvaf" = "$want" ] || echo "$g:$hvaf!=$want" >>"$TMP/text.bad"
	[ "$g" = 0x1 ] || [ "$access" = access=write ] || echo "$g:$access" >>"$TMP/text.bad"
	echo "$g" >>"$TMP/text.gfns"
done <"$TMP/text.faults"
sort -o "$TMP/text.gfns" "$TMP/text.gfns"
{ echo 0x1; i=256; while [ $i -lt 288 ]; do printf '0x%x\n' $i; i=$((i + 1)); done; } |
	sort >"$TMP/text.want"
faults=$(wc -l <"$TMP/text.gfns")
slot_line=$(grep -c "type=memslot slot=0 as=0 gfn=0x0 pages=4096 hva=$(printf '0x%x' "$hva") change=create\$" "$TMP/text.vm")
last=$(tail -n 1 "$TMP/text.vm" | sed 's/^ts=[0-9]* //')
# The second slot's life: create at 1 GiB, move to 1.25 GiB, flags, delete;
# 16 pages throughout, and its hva wherever a line has one (a line read after
# the delete has none: hvas come from the memslots when the line is read).
churn_hva=$(printf '0x%x' "$(sed -n 's/.*"event":"slots".*"hva":\([0-9]*\).*/\1/p' "$TMP/tv.out")")
churn=$(grep ' type=memslot slot=1 ' "$TMP/text.vm" | sed 's/^ts=[0-9]* vm=[0-9]* type=memslot //' |
	sed "s/ hva=$churn_hva / /" | tr '\n' '|')
churn_want='slot=1 as=0 gfn=0x40000 pages=16 change=create|slot=1 as=0 gfn=0x50000 pages=16 change=move|slot=1 as=0 gfn=0x50000 pages=16 change=flags|slot=1 as=0 gfn=0x50000 pages=16 change=delete|'
if [ "$churn" = "$churn_want" ]; then
	pass text/memslots
else
	fail text/memslots "slot 1's lines (hva $churn_hva taken out): '$churn', want '$churn_want'"
fi
if [ -z "$vmid" ]; then
	fail text/stream "no vm_create line for pid $tv_pid in $(wc -l <"$TMP/text.out") lines"
elif [ -n "$shape_bad" ]; then
	fail text/stream "lines off the documented format: $shape_bad"
elif [ -s "$TMP/text.bad" ]; then
	fail text/stream "fault lines: $(head -n 3 "$TMP/text.bad" | tr '\n' ' ')"
elif [ "$faults" != 33 ] || ! cmp -s "$TMP/text.gfns" "$TMP/text.want"; then
	fail text/stream "fault lines: $faults gfns, want the code page and 32 data pages: $(sort "$TMP/text.gfns" | uniq -d | head -n 3 | tr '\n' ' ')"
elif [ "$slot_line" != 1 ]; then
	fail text/stream "no memslot line with minivmm's hva $(printf '0x%x' "$hva")"
elif [ "$last" != "vm=$vmid type=vm_destroy" ]; then
	fail text/stream "the VM's last line is '$last', not its vm_destroy"
else
	pass text/stream
fi

# --- unload is refused while a reader holds the device ---------------------
exec 3</dev/self-e
if rmmod self_e 2>/dev/null; then
	fail module/busy "rmmod succeeded with /dev/self-e open"
	insmod /rig/modules/self_e.ko
else
	pass module/busy
fi
exec 3<&-

# --- 20 cycles: load, attach, read, detach, unload, VMs faulting throughout --
# QEMU 7.2's TCG hangs a vCPU that runs KVM's fault path while the kernel
# live-patches the jump label of kvm_mmu_spte_requested in kvm_tdp_mmu_map()
# (reproduced with no self_e.ko at all, by toggling the event in tracefs while
# minivmm faults). Real CPUs do not; the rig does. So tracefs holds both
# events' static keys on (tracing itself off) for the cycles: each load and
# unload still adds and removes self_e's probes under faulting VMs, but the
# jump labels are not rewritten under TCG's feet.
EV=/sys/kernel/tracing/events/kvmmmu
echo 0 >/sys/kernel/tracing/tracing_on
echo 1 >"$EV/kvm_mmu_spte_requested/enable"
echo 1 >"$EV/kvm_mmu_set_spte/enable"
rm -f "$TMP/cycle.stop"
(
	while [ ! -e "$TMP/cycle.stop" ]; do
		minivmm --mem 32 --pages 4096 --fill unique --hold 0 >/dev/null 2>&1
	done
) &
loop_pid=$!
i=0 attached=0 err=
while [ $i -lt 20 ]; do
	pid=$(pidof minivmm | cut -d' ' -f1)
	if [ -n "$pid" ] && KMODTEST_PID=$pid KMODTEST_MS=300 kmodtest cycle-reader >/dev/null 2>&1; then
		attached=$((attached + 1))
	fi
	if ! out=$(rmmod self_e 2>&1); then err="cycle $i: rmmod: $out"; break; fi
	if ! out=$(insmod /rig/modules/self_e.ko 2>&1); then err="cycle $i: insmod: $out"; break; fi
	i=$((i + 1))
done
touch "$TMP/cycle.stop"
wait "$loop_pid"
echo 0 >"$EV/kvm_mmu_spte_requested/enable"
echo 0 >"$EV/kvm_mmu_set_spte/enable"
echo 1 >/sys/kernel/tracing/tracing_on
bad=$(bad_kernel_lines)
if [ -n "$err" ]; then
	fail module/cycles "$err"
elif [ "$attached" -eq 0 ]; then
	fail module/cycles "no cycle found a running VM to attach to"
elif [ -n "$bad" ]; then
	fail module/cycles "kernel log: $(echo "$bad" | head -n 3 | tr '\n' '|')"
else
	echo "# cycles: 20 unloads under faulting VMs, $attached with a reader attached"
	pass module/cycles
fi

[ "$FAILS" -eq 0 ]
