#!/bin/sh
# minivmm: argument checks, every fill mode, --rewrite. The guest's writes are
# checked from outside: pagecheck reads minivmm's memory (/proc/PID/mem at
# hva + gpa) and compares it with fill.h's content; pagemap says which pages
# the guest touched.
. /rig/lib.sh

N=256		# data pages per VM
RW=64		# pages rewritten by --rewrite

# KSM off: nothing may be merged behind this test's back.
echo 0 >/sys/kernel/mm/ksm/run

# Bad arguments: exit 2 with a message naming the problem.
ERR=
out=$(minivmm --mem 2 --pages 257 --fill zero 2>&1)
rc=$?
case "$rc:$out" in 2:*"does not fit"*) ;; *) ERR="$ERR [too many pages: rc=$rc '$out']" ;; esac
out=$(minivmm --pages 1 --fill nope 2>&1)
rc=$?
case "$rc:$out" in 2:*"--fill 'nope'"*) ;; *) ERR="$ERR [bad fill: rc=$rc '$out']" ;; esac
out=$(minivmm --fill zero 2>&1)
rc=$?
case "$rc:$out" in 2:*"--pages is required"*) ;; *) ERR="$ERR [no pages: rc=$rc '$out']" ;; esac
if [ -z "$ERR" ]; then pass minivmm/bad-args; else fail minivmm/bad-args "${ERR# }"; fi

# fill_check MODE: one VM, its pages checked against the fill and the pages
# around them checked untouched.
fill_check() {
	name=minivmm/fill-${1%%:*}
	vm_start vm --mem 4 --pages $N --fill "$1" --hold 300
	if ! vm_wait_event vm halted 60; then
		fail "$name" "minivmm did not halt"
		vm_kill vm
		return
	fi
	a=$(vm_addr vm)
	spec=$(json "$TMP/vm.out" fill)
	errs=
	out=$(pagecheck --pid "$vm_pid" --addr "$a" --pages $N --expect "$spec")
	expect_kv "$out" present=$N multi=0 zero=0 distinct=$N content_ok=$N content_bad=0
	errs="$errs$ERR"
	# Only the N pages: not the page below 1 MiB, not the 16 after them.
	out=$(pagecheck --pid "$vm_pid" --addr $((a - 4096)) --pages 1)
	expect_kv "$out" present=0
	[ -z "$ERR" ] || errs="$errs below:$ERR"
	out=$(pagecheck --pid "$vm_pid" --addr $((a + N * 4096)) --pages 16)
	expect_kv "$out" present=0
	[ -z "$ERR" ] || errs="$errs after:$ERR"
	# Negative control: the same pages are not another fill's.
	out=$(pagecheck --pid "$vm_pid" --addr "$a" --pages $N --expect seed:other)
	expect_kv "$out" content_ok=0 content_bad=$N first_bad=0
	[ -z "$ERR" ] || errs="$errs control:$ERR"
	vm_end vm
	[ "$VM_RC" = 0 ] || errs="$errs exit=$VM_RC"
	if [ -z "$errs" ]; then pass "$name"; else fail "$name" "${errs# } (fill $spec)"; fi
}

for mode in unique zero same:rig seed:rig; do
	fill_check $mode
done

# Two unique VMs hold different contents: each VM's pages fail the other's fill.
vm_start u1 --mem 4 --pages 16 --fill unique --hold 300
vm_start u2 --mem 4 --pages 16 --fill unique --hold 300
if vm_wait_event u1 halted 60 && vm_wait_event u2 halted 60; then
	s1=$(json "$TMP/u1.out" fill)
	s2=$(json "$TMP/u2.out" fill)
	o1=$(pagecheck --pid "$u1_pid" --addr "$(vm_addr u1)" --pages 16 --expect "$s2")
	o2=$(pagecheck --pid "$u2_pid" --addr "$(vm_addr u2)" --pages 16 --expect "$s1")
	expect_kv "$o1" content_ok=0 content_bad=16
	errs=$ERR
	expect_kv "$o2" content_ok=0 content_bad=16
	errs="$errs$ERR"
	[ "$s1" != "$s2" ] || errs="$errs both VMs use fill $s1"
	if [ -z "$errs" ]; then pass minivmm/unique-across-vms; else fail minivmm/unique-across-vms "${errs# }"; fi
else
	fail minivmm/unique-across-vms "minivmm did not halt"
fi
vm_end u1
vm_end u2

# --rewrite: the first RW pages get a new unique fill, the rest keep theirs.
vm_start rw --mem 4 --pages $N --fill seed:rw --hold 300 --rewrite $RW
if vm_wait_event rw halted 60 && kill -USR1 "$rw_pid" && vm_wait_event rw rewritten 60; then
	a=$(vm_addr rw)
	spec=$(sed -n 's/.*"event":"rewritten".*"fill":"\([^"]*\)".*/\1/p' "$TMP/rw.out")
	new=$(pagecheck --pid "$rw_pid" --addr "$a" --pages $RW --expect "$spec")
	old=$(pagecheck --pid "$rw_pid" --addr "$a" --pages $N --expect seed:rw)
	expect_kv "$new" present=$RW content_ok=$RW
	errs=$ERR
	expect_kv "$old" present=$N distinct=$N content_ok=$((N - RW)) first_bad=0
	errs="$errs$ERR"
	vm_end rw
	[ "$VM_RC" = 0 ] || errs="$errs exit=$VM_RC"
	if [ -z "$errs" ]; then pass minivmm/rewrite; else fail minivmm/rewrite "${errs# }"; fi
else
	fail minivmm/rewrite "minivmm did not halt and rewrite"
	vm_kill rw
fi

[ "$FAILS" -eq 0 ]
