#!/bin/sh
# `make demo`, run inside the rig: six VMs under nested KVM with KSM on, and
# what SELF-e shows about them, command by command, as an operator would run
# them. The VMs (minivmm guests, 16 MiB each):
#   a, b  512 pages of identical content (seed:42): two clones of one image;
#         a later rewrites 64 of them, which breaks their sharing
#   c     512 copies of one page (same:7): sharing within one VM
#   d     512 unique pages: nothing to share
#   z     256 zeroed pages: KSM merges them with the zero page
#   w     1024 unique pages of which it keeps reading 128: a working set
. /rig/lib.sh

say() { printf '\n=== %s\n' "$*"; }
run() { printf '\n$ %s\n' "$*"; "$@"; }

KSM=/sys/kernel/mm/ksm
echo 5000 >$KSM/pages_to_scan
echo 10 >$KSM/sleep_millisecs
echo 1 >$KSM/use_zero_pages
echo 1 >$KSM/run

say "self-e: the tools in this guest"
self-e --version

# The all-VMs text stream, from before the first VM exists.
cat /dev/self-e >"$TMP/events.txt" &
cat_pid=$!
sleep 1

say "starting 6 VMs (minivmm under nested KVM, 16 MiB each)"
vm_start a --pages 512 --fill seed:42 --hold 600 --rewrite 64
vm_start b --pages 512 --fill seed:42 --hold 600
vm_start c --pages 512 --fill same:7 --hold 600
vm_start d --pages 512 --fill unique --hold 600
vm_start z --pages 256 --fill zero --hold 600
vm_start w --pages 1024 --fill unique --no-merge --hold 0 --loop 600 --loop-pages 128
for v in a b c d z w; do
	vm_wait_event $v halted 120 || { vm_kill a b c d z w; exit 1; }
	eval "echo \"  VM $v: pid \$${v}_pid, $(json "$TMP/$v.out" pages) pages, $(json "$TMP/$v.out" fill)\""
done

say "every VM on the host, found by self_e.ko without help from the VMM"
echo "  (VM 1 is the rig's idle keeper VM; the code page is each VM's one extra page)"
run self-e list

say "the live event stream (cat /dev/self-e): one line per event, first lines"
head -n 6 "$TMP/events.txt"
echo "  ... $(wc -l <"$TMP/events.txt") lines so far; per VM and type:"
awk '{ split($2, v, "="); split($3, t, "="); n[v[2] " " t[2]]++ }
	END { for (k in n) print "  vm " k ": " n[k] }' "$TMP/events.txt" | sort -n -k2

say "waiting for ksmd to merge (pages_to_scan=5000, use_zero_pages=1)"
last=-1
for i in $(seq 1 60); do
	now=$(cat $KSM/pages_sharing)
	[ "$now" = "$last" ] && [ "$now" -gt 0 ] && break
	last=$now
	sleep 1
done
echo "  pages_shared=$(cat $KSM/pages_shared) pages_sharing=$(cat $KSM/pages_sharing) after ${i} s"

say "what each VM shares, with whom, and what that saves"
run self-e report

say "VM a rewrites 64 of its shared pages: each write breaks sharing (COW)"
: >"$TMP/cow.txt"
self-e trace --pid "$a_pid" --type cow_break >"$TMP/cow.txt" 2>/dev/null &
trace_pid=$!
self-e report --duration 4 >"$TMP/report-cow.txt" 2>&1 &
report_pid=$!
sleep 1
kill -USR1 "$a_pid"	# a's hold ends: it rewrites, then holds again
vm_wait_event a rewritten 60
wait "$report_pid"
kill "$trace_pid" 2>/dev/null
wait "$trace_pid" 2>/dev/null
printf '\n$ self-e trace --pid %s --type cow_break\n' "$a_pid"
head -n 4 "$TMP/cow.txt"
echo "  ... $(wc -l <"$TMP/cow.txt") cow_break lines"
printf '\n$ self-e report --duration 4   (attached while a rewrote)\n'
cat "$TMP/report-cow.txt"

say "working set: sampling accessed bits every 200 ms (VM w reads 128 of its pages)"
run self-e report --pid "$w_pid" --duration 3 --sample-interval 200

say "all VMs at a glance (self-e top; --batch prints one plain screen)"
run self-e top --batch --count 1

say "without the module: VM b's guest RAM classified from /proc alone"
hva=$(json "$TMP/b.out" hva)
mem=$(json "$TMP/b.out" mem_bytes)
run self-e snapshot --pid "$b_pid" --range "$(printf '0x%x-0x%x' "$hva" $((hva + mem)))"

for v in a b c d z; do vm_end $v; done
kill -USR1 "$w_pid"	# ends w's loop; then its last hold is 0 s
wait "$w_pid"
sleep 1	# the ends reach cat after a grace period
kill "$cat_pid" 2>/dev/null
echo 0 >$KSM/run
say "done: the VMs have ended; the stream showed each one's vm_destroy"
grep -c 'type=vm_destroy' "$TMP/events.txt" | sed 's/^/  vm_destroy lines: /'
