#!/bin/sh
# KSM merges what it should and nothing else, with ground truth from
# /proc/PID/pagemap, /proc/kpageflags, /proc/kpagecount (pagecheck) and
# /proc/PID/ksm_merging_pages:
#   a, b  seed:ksm, N pages each: page i of a and page i of b share one KSM
#         pfn, and all N pfns differ;
#   c     same:ksm, NS pages of one content: all on KSM pages, at most
#         max_page_sharing mappings per KSM page, so ceil(NS / mps) pfns;
#   d     unique, NU pages: nothing merged;
#   e     seed:ksm like a and b, NE pages, but --no-merge: nothing merged;
#   code  the code pages of a and b are identical too (same code and
#         parameters), so they merge; c's and d's are unique.
# Then a rewrites its first RW pages, which breaks their sharing.
# Merged pages show as one pfn mapped several times (pagecheck's same_pfn,
# distinct, multi) and, where the kernel gets it right, KPF_KSM: Debian's
# 6.12.95 sets KPF_KSM on every anonymous page, so the KPF_KSM checks only
# run where pagecheck finds the bit trustworthy (kpf_ksm_ok=1).
. /rig/lib.sh

K=/sys/kernel/mm/ksm
N=512
NS=512
NU=256
NE=64
RW=64

echo 0 >$K/run
vm_start a --mem 4 --pages $N --fill seed:ksm --hold 600 --rewrite $RW
vm_start b --mem 4 --pages $N --fill seed:ksm --hold 600
vm_start c --mem 4 --pages $NS --fill same:ksm --hold 600
vm_start d --mem 4 --pages $NU --fill unique --hold 600
vm_start e --mem 4 --pages $NE --fill seed:ksm --hold 600 --no-merge
for v in a b c d e; do
	if ! vm_wait_event $v halted 120; then
		fail ksm/start "VM $v did not halt"
		vm_kill a b c d e
		exit 1
	fi
done
A=$(vm_addr a)
B=$(vm_addr b)
C=$(vm_addr c)
D=$(vm_addr d)
E=$(vm_addr e)
code() { echo $(( $(json "$TMP/$1.out" hva) + $(json "$TMP/$1.out" code_gpa) )); }

# Nothing is merged yet, so what follows is KSM's doing.
out=$(pagecheck --pid "$a_pid" --addr "$A" --pages $N --pid2 "$b_pid" --addr2 "$B")
# KSM_ k=v...: the k=v only when KPF_KSM can be trusted on this kernel.
if [ "$(kv "$out" kpf_ksm_ok)" = 1 ]; then
	KSM_() { echo "$@"; }
else
	KSM_() { :; }
	echo "# note: KPF_KSM is set on anonymous pages KSM never merged on this kernel; not asserted"
fi
check ksm/before "$out" same_pfn=0 a_present=$N b_present=$N a_distinct=$N b_distinct=$N \
	a_multi=0 b_multi=0 $(KSM_ both_ksm=0)

ksm_settle
echo "# ksm: $KSM_SETTLE_NOTE"
[ -n "$KSM_SETTLED" ] || fail ksm/settle "counters still moving after 60 s: $KSM_SETTLE_NOTE"

mps=$(cat $K/max_page_sharing)
ks=$(( (NS + mps - 1) / mps ))		# KSM pages for c's NS equal pages
maxs=$(( NS < mps ? NS : mps ))

out=$(pagecheck --pid "$a_pid" --addr "$A" --pages $N --pid2 "$b_pid" --addr2 "$B")
check ksm/seed-pairs "$out" same_pfn=$N cross=0 a_present=$N a_distinct=$N a_multi=$N \
	b_present=$N b_distinct=$N b_multi=$N $(KSM_ both_ksm=$N a_ksm=$N b_ksm=$N)

out=$(pagecheck --pid "$a_pid" --addr "$A" --pages $N --expect seed:ksm)
check ksm/seed-content "$out" content_ok=$N

# self-e snapshot sees the merged pages as KSM pages, or, where KPF_KSM
# cannot be trusted, as shared ones, and says which.
snap=$(self-e snapshot --pid "$a_pid" --range "$(printf '0x%x-0x%x' "$A" $((A + N * 4096)))" --json |
	tr -d ' \n')
sv() { echo "$snap" | sed -n "s/.*\"$1\":\([a-z0-9]*\).*/\1/p"; }
ok=$(kv "$(pagecheck --pid "$a_pid" --addr "$A" --pages 1)" kpf_ksm_ok)
if [ "$ok" = 1 ]; then want="true $N 0"; else want="false 0 $N"; fi
got="$(sv ksm_flag_trusted) $(sv ksm) $(sv shared)"
# Without --range, the module's memslots give the guest RAM: minivmm's one slot.
full=$(self-e snapshot --pid "$a_pid" --json | tr -d ' \n')
origin=$(echo "$full" | sed -n 's/.*"range_origin":"\([a-z_]*\)".*/\1/p')
ranges=$(echo "$full" | sed -n 's/.*"ranges":\[\([^]]*\)\].*/\1/p')
hva=$(json "$TMP/a.out" hva)
got="$got $origin $ranges"
want="$want memslots {\"start\":$hva,\"end\":$((hva + $(json "$TMP/a.out" mem_bytes)))}"
if [ "$got" = "$want" ]; then
	pass ksm/snapshot
else
	fail ksm/snapshot "self-e snapshot: ksm_flag_trusted, ksm, shared = $got, want $want"
fi

out=$(pagecheck --pid "$c_pid" --addr "$C" --pages $NS --expect same:ksm)
check ksm/same "$out" present=$NS multi=$NS distinct=$ks maxshare=$maxs content_ok=$NS \
	$(KSM_ ksm=$NS)

out=$(pagecheck --pid "$d_pid" --addr "$D" --pages $NU --expect "$(json "$TMP/d.out" fill)")
check ksm/unique "$out" present=$NU multi=0 distinct=$NU content_ok=$NU $(KSM_ ksm=0)

# e holds the same contents as a's first NE pages, but is not mergeable.
out=$(pagecheck --pid "$e_pid" --addr "$E" --pages $NE --expect seed:ksm)
expect_kv "$out" present=$NE multi=0 distinct=$NE content_ok=$NE
errs=$ERR
out=$(pagecheck --pid "$e_pid" --addr "$E" --pages $NE --pid2 "$a_pid" --addr2 "$A")
expect_kv "$out" same_pfn=0 cross=0
errs="$errs$ERR"
if [ -z "$errs" ]; then pass ksm/no-merge; else fail ksm/no-merge "${errs# }"; fi

out=$(pagecheck --pid "$a_pid" --addr "$(code a)" --pages 1 --pid2 "$b_pid" --addr2 "$(code b)")
expect_kv "$out" same_pfn=1 a_multi=1 $(KSM_ both_ksm=1)
errs=$ERR
out=$(pagecheck --pid "$c_pid" --addr "$(code c)" --pages 1)
expect_kv "$out" present=1 multi=0 $(KSM_ ksm=0)
[ -z "$ERR" ] || errs="$errs c:$ERR"
out=$(pagecheck --pid "$d_pid" --addr "$(code d)" --pages 1)
expect_kv "$out" present=1 multi=0 $(KSM_ ksm=0)
[ -z "$ERR" ] || errs="$errs d:$ERR"
if [ -z "$errs" ]; then pass ksm/code-page; else fail ksm/code-page "${errs# }"; fi

# KSM's own counters agree with the page tables: N + ks + 1 KSM pages,
# N + (NS - ks) + 1 extra mappings of them.
shared=$(cat $K/pages_shared)
sharing=$(cat $K/pages_sharing)
if [ "$shared $sharing" = "$((N + ks + 1)) $((N + NS - ks + 1))" ]; then
	pass ksm/counters
else
	fail ksm/counters "pages_shared=$shared pages_sharing=$sharing, want $((N + ks + 1)) $((N + NS - ks + 1))"
fi

# KSM's per-process count: data pages plus, for a and b, the code page.
got="$(cat /proc/$a_pid/ksm_merging_pages) $(cat /proc/$b_pid/ksm_merging_pages)"
got="$got $(cat /proc/$c_pid/ksm_merging_pages) $(cat /proc/$d_pid/ksm_merging_pages)"
got="$got $(cat /proc/$e_pid/ksm_merging_pages)"
want="$((N + 1)) $((N + 1)) $NS 0 0"
if [ "$got" = "$want" ]; then
	pass ksm/merging-pages
else
	fail ksm/merging-pages "ksm_merging_pages of a b c d e: $got, want $want"
fi

# b's pfns now, to show that the rewrite leaves b on its KSM pages.
data_pfns() { pagecheck --pid "$1" --addr "$2" --pages $N --list | sed 1d | cut -d' ' -f1,2; }
data_pfns "$b_pid" "$B" >"$TMP/b.pfns"

# a rewrites its first RW pages: the guest's writes to the read-only KSM pages
# fault, KVM breaks COW, and those pages leave KSM; b keeps its (now single)
# mappings of the same KSM pages (same pfns), since KSM is stopped.
kill -USR1 "$a_pid"
if vm_wait_event a rewritten 60; then
	spec=$(sed -n 's/.*"event":"rewritten".*"fill":"\([^"]*\)".*/\1/p' "$TMP/a.out")
	out=$(pagecheck --pid "$a_pid" --addr "$A" --pages $RW --expect "$spec")
	expect_kv "$out" present=$RW multi=0 distinct=$RW content_ok=$RW $(KSM_ ksm=0)
	errs=$ERR
	out=$(pagecheck --pid "$a_pid" --addr "$A" --pages $N --pid2 "$b_pid" --addr2 "$B")
	expect_kv "$out" same_pfn=$((N - RW)) cross=0 a_multi=$((N - RW)) b_multi=$((N - RW)) \
		$(KSM_ both_ksm=$((N - RW)) a_ksm=$((N - RW)) b_ksm=$N)
	errs="$errs$ERR"
	data_pfns "$b_pid" "$B" | cmp -s - "$TMP/b.pfns" || errs="$errs b's pfns changed"
	if [ -z "$errs" ]; then pass ksm/rewrite-unshares; else fail ksm/rewrite-unshares "${errs# }"; fi
else
	fail ksm/rewrite-unshares "VM a did not rewrite"
fi

errs=
for v in a b c d e; do
	vm_end $v
	[ "$VM_RC" = 0 ] || errs="$errs $v:$VM_RC"
done
if [ -z "$errs" ]; then pass ksm/vms-exit-0; else fail ksm/vms-exit-0 "exit status${errs}"; fi

[ "$FAILS" -eq 0 ]
