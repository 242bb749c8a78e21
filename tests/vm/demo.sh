#!/bin/sh
# `make demo`, run inside the rig: four VMs under nested KVM with KSM on,
# and what SELF-e shows about them. Two VMs hold identical pages (seed:42),
# one holds 512 copies of one page (same:7), one holds only unique pages.
. /rig/lib.sh

say() { printf '\n=== %s\n' "$*"; }

KSM=/sys/kernel/mm/ksm
echo 5000 >$KSM/pages_to_scan
echo 10 >$KSM/sleep_millisecs
echo 1 >$KSM/run

say "self-e: the tools in this guest"
self-e --version

# The all-VMs text stream, from before the first VM exists.
cat /dev/self-e >"$TMP/events.txt" &
cat_pid=$!
sleep 1

say "starting 4 VMs (minivmm, 16 MiB each, 512 guest pages written)"
vm_start a --pages 512 --fill seed:42 --hold 60
vm_start b --pages 512 --fill seed:42 --hold 60
vm_start c --pages 512 --fill same:7 --hold 60
vm_start d --pages 512 --fill unique --hold 60
for v in a b c d; do
	vm_wait_event $v halted 120 || exit 1
	eval "echo \"  VM $v: pid \$${v}_pid, $(json "$TMP/$v.out" fill)\""
done

say "the live event stream (cat /dev/self-e), first lines"
head -n 8 "$TMP/events.txt"
echo "  ..."

say "events per VM and type, from the stream"
awk '{ split($2, v, "="); split($3, t, "="); n[v[2] " " t[2]]++ }
	END { for (k in n) print "  vm " k ": " n[k] }' "$TMP/events.txt" | sort

say "waiting for KSM to merge (ksmd, pages_to_scan=5000)"
last=-1
for i in $(seq 1 60); do
	now=$(cat $KSM/pages_sharing)
	[ "$now" = "$last" ] && [ "$now" -gt 0 ] && break
	last=$now
	sleep 1
done
echo "  pages_shared=$(cat $KSM/pages_shared) pages_sharing=$(cat $KSM/pages_sharing) after ${i} s"

for v in a b c d; do
	eval "pid=\$${v}_pid"
	hva=$(json "$TMP/$v.out" hva)
	mem=$(json "$TMP/$v.out" mem_bytes)
	say "self-e snapshot of VM $v ($(json "$TMP/$v.out" fill)): its 16 MiB of guest RAM"
	self-e snapshot --pid "$pid" --range "$(printf '0x%x-0x%x' "$hva" $((hva + mem)))"
done

for v in a b c d; do vm_end $v; done
sleep 1	# the ends reach cat after a grace period
kill "$cat_pid" 2>/dev/null
echo 0 >$KSM/run
say "done: the VMs have ended; self-e's stream showed each one's vm_destroy"
grep -c 'type=vm_destroy' "$TMP/events.txt" | sed 's/^/  vm_destroy lines: /'
