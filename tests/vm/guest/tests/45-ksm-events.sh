#!/bin/sh
# self_e.ko's KSM events against ground truth. Everything a check calls
# "derived" comes from the event stream alone (`cat /dev/self-e`): a gfn is
# on KSM page P after ksm_merge/ksm_zero with pfn=P, moves with ksm_migrate,
# and leaves it at cow_break/unmerge/unmap. The truth comes from /proc/PID/pagemap (pagecheck
# --list over all of each VM's RAM), /proc/kpagecount and
# /proc/PID/ksm_merging_pages. KPF_KSM is not used: Debian's 6.12.95 sets it
# on every anonymous page.
#
#   a, b  seed:ev, N pages each, pairwise equal across a and b
#   c     same:ev, NS equal pages
#   d     unique, NU pages: nothing to merge
#   z     zero, NZ pages, merged into a KSM page of zeros (use_zero_pages=0)
#   y     zero, NY pages, merged with the zero page (use_zero_pages=1)
# Then a, z and y rewrite their first pages (COW breaks, exactly that many),
# and KSM run=2 unmerges the rest (unmerge events, exactly that many).
. /rig/lib.sh

K=/sys/kernel/mm/ksm
N=256
NS=256
NU=128
NZ=128
NY=128
RW=32
RZ=16
RY=24

echo 0 >$K/run
echo 0 >$K/use_zero_pages
cat /dev/self-e >"$TMP/ksm.txt" &
cat_pid=$!
sleep 1	# cat is reading: every VM from now on is in its stream

vm_start a --mem 4 --pages $N --fill seed:ev --hold 600 --rewrite $RW
vm_start b --mem 4 --pages $N --fill seed:ev --hold 600
vm_start c --mem 4 --pages $NS --fill same:ev --hold 600
vm_start d --mem 4 --pages $NU --fill unique --hold 600
vm_start z --mem 4 --pages $NZ --fill zero --hold 600 --rewrite $RZ
for v in a b c d z; do
	if ! vm_wait_event $v halted 120; then
		fail ksm-ev/start "VM $v did not halt"
		vm_kill a b c d z
		kill "$cat_pid"
		exit 1
	fi
done

STREAM=$TMP/ksm.txt	# for vmid

# derive NAME [FIRST_LINE]: "gfn pfn" (gfn in decimal) for every gfn that the
# events say is on a KSM page or the zero page now, into $TMP/NAME.derived.
derive() {
	tail -n +"${2:-1}" "$TMP/ksm.txt" | awk -v vm="vm=$(vmid "$1")" "$AWK_HEX"'
	$2 == vm {
		t = substr($3, 6); g = ""; p = ""; n = 0
		for (i = 4; i <= NF; i++) {
			if ($i ~ /^gfn=/) g = substr($i, 5)
			if ($i ~ /^pfn=/) p = substr($i, 5)
			if ($i ~ /^pages=/) n = substr($i, 7)
		}
		if (t == "ksm_merge" || t == "ksm_zero") st[g] = p
		else if (t == "ksm_migrate") { if (g in st) st[g] = p }
		else if (t == "cow_break" || t == "unmerge") delete st[g]
		else if (t == "unmap")	# a run of n gfns from g
			for (k in st) if (hex(k) >= hex(g) && hex(k) < hex(g) + n) delete st[k]
	}
	END { for (g in st) print hex(g), st[g] }' | sort -n >"$TMP/$1.derived"
}

# truth NAME: "gfn pfn" for every present page of the VM's RAM (gfn = index
# from guest-physical 0) into NAME.truth, without the zero page into
# NAME.truthnz, and the non-zero pages mapped more than once into NAME.multi
# (the zero page is mapped everywhere, merged or not).
truth() {
	: >"$TMP/$1.truth"
	: >"$TMP/$1.truthnz"
	: >"$TMP/$1.multi"
	vm_ram_pages "$1" | awk -v f="$TMP/$1" '
		$3 ~ /^P/ { print $1, $2 > (f ".truth") }
		$3 ~ /^P.[^Z]/ { print $1, $2 > (f ".truthnz") }
		$3 ~ /^P.[^Z]/ && $4 != "map=1" { print $1, $2 > (f ".multi") }'
}

# compare NAME FIRST_GFN PAGES: k=v facts about derived vs truth:
#   merged   gfns the events put on a KSM or zero page
#   data     of those, gfns in the data range FIRST_GFN..+PAGES
#   pfn_bad  derived gfns whose page is not on the derived pfn
#   missed   gfns on a page mapped more than once that the events miss
#   zero     derived gfns on the zero page
compare() {
	derive "$1"
	truth "$1"
	zpfn=$(printf '0x%x' "$ZERO_PFN")
	awk -v lo="$2" -v n="$3" -v z="$zpfn" '
		FILENAME == ARGV[1] { t[$1] = $2; next }
		FILENAME == ARGV[2] { d[$1] = $2; m++; if ($1 >= lo && $1 < lo + n) data++
				      if ($2 == z) zero++
				      if (t[$1] != $2) bad++; next }
		!($1 in d) { missed++ }
		END { printf "merged=%d data=%d pfn_bad=%d missed=%d zero=%d\n",
		      m, data, bad, missed, zero }' \
		"$TMP/$1.truth" "$TMP/$1.derived" "$TMP/$1.multi"
}

# pairs X Y FILE_SUFFIX: pages of X whose pfn Y maps too (zero page excluded).
pairs() {
	awk -v z="$(printf '0x%x' "$ZERO_PFN")" 'NR == FNR { if ($2 != z) s[$2] = 1; next }
		($2 in s) { n++ } END { print n + 0 }' "$TMP/$2.$3" "$TMP/$1.$3"
}

# check_vm CHECK NAME PAGES k=v...: compare plus ksm_merging_pages.
check_vm() {
	_c=$1 _n=$2 _p=$3
	shift 3
	eval "_pid=\$${_n}_pid"
	out="$(compare "$_n" 256 "$_p") merging_pages=$(cat /proc/$_pid/ksm_merging_pages)"
	check "$_c" "$out" pfn_bad=0 missed=0 "$@"
}

ZERO_PFN=0
ksm_settle
echo "# ksm: $KSM_SETTLE_NOTE"
sleep 0.5	# cat takes the last events
[ -n "$KSM_SETTLED" ] || fail ksm-ev/settle "counters still moving after 60 s: $KSM_SETTLE_NOTE"

# Every gfn the events call merged is on that pfn, no shared page is missing,
# and the counts are KSM's own per-process counts. a and b also share their
# code page, so they count one more than their data pages.
for v in a b c d z; do
	compare "$v" 256 1 >/dev/null
done
ma=$(cat /proc/$a_pid/ksm_merging_pages)
check_vm ksm-ev/seed-a a $N data=$N merged=$ma merging_pages=$((N + 1))
check_vm ksm-ev/seed-b b $N data=$N merged=$((N + 1))
check_vm ksm-ev/same c $NS data=$NS merged=$NS merging_pages=$NS
check_vm ksm-ev/unique d $NU data=0 merged=0 merging_pages=0
check_vm ksm-ev/zero-ksm z $NZ data=$NZ merged=$NZ merging_pages=$NZ zero=0

# The sharing matrix, derived vs truth: a and b share N data pages and their
# code page; nobody else shares with anyone.
errs=
for x in a b c d z; do
	for y in a b c d z; do
		[ $x = $y ] && continue
		d=$(pairs $x $y derived)
		t=$(pairs $x $y truthnz)
		want=0
		case $x$y in ab|ba) want=$((N + 1)) ;; esac
		[ "$d" = "$t" ] && [ "$d" = $want ] || errs="$errs $x-$y:derived=$d,truth=$t,want=$want"
	done
done
if [ -z "$errs" ]; then pass ksm-ev/matrix; else fail ksm-ev/matrix "${errs# }"; fi

# --- KSM pages migrated: soft-offlining moves them; the events follow -----
# Soft-offlining a page in use migrates it to a new page (CONFIG_MEMORY_FAILURE).
# Moved: a's first 4 data pages' KSM pages (mapped by a and b), c's one KSM
# page (all NS of c's pages) and z's (all NZ). Each move must give exactly one
# ksm_migrate per gfn mapping the page, and the derived pfns must equal
# pagemap's again.
from=$(($(wc -l <"$TMP/ksm.txt") + 1))
moving=
for vg in a:256 a:257 a:258 a:259 c:256 z:256; do
	moving="$moving $(vm_ram_pages "${vg%%:*}" | awk -v g="${vg#*:}" '$1 == g { print $2 }')"
done
want_moves=0
for p in $moving; do
	for v in a b c d z; do
		want_moves=$((want_moves + $(vm_ram_pages $v | awk -v p="$p" '$2 == p { n++ } END { print n + 0 }')))
	done
	echo $((p)) | awk '{ printf "%d\n", $1 * 4096 }' >/sys/devices/system/memory/soft_offline_page ||
		echo "# soft_offline_page of pfn $p failed"
done
sleep 0.5
moved=$(tail -n +"$from" "$TMP/ksm.txt" | grep -c ' type=ksm_migrate ')
echo "# soft-offlined KSM pages$moving: $moved ksm_migrate events"
errs=
for v in a b c z; do
	out=$(compare "$v" 256 1)
	expect_kv "$out" pfn_bad=0 missed=0
	[ -z "$ERR" ] || errs="$errs $v:$ERR"
done
if [ "$moved" != "$want_moves" ]; then
	fail ksm-ev/migrate "$moved ksm_migrate events for pfns$moving, want $want_moves (their mappings)"
elif [ -n "$errs" ]; then
	fail ksm-ev/migrate "after $moved ksm_migrate events:$errs"
else
	pass ksm-ev/migrate
fi

# New KSM pages: one page of each pair became the KSM page (new=1), the
# other joined it; for c and z one page became the KSM page, the rest joined.
news() { grep -c "^ts=[0-9]* vm=$(vmid "$1") type=ksm_merge .* new=1\$" "$TMP/ksm.txt"; }
got="$(( $(news a) + $(news b) )) $(news c) $(news z)"
if [ "$got" = "$((N + 1)) 1 1" ]; then
	pass ksm-ev/new
else
	fail ksm-ev/new "new=1 merges of a+b, c, z: $got, want $((N + 1)) 1 1"
fi

# --- COW breaks: a and z rewrite their first pages -------------------------
# rewrite NAME K: end the hold, wait for the rewrite, and check that exactly K
# cow_break events came for the data pages, for gfns 256..256+K-1, each
# leaving the KSM page it was on. minivmm writes the guest's parameters into
# its code page for the second run, which breaks that page's sharing too
# where it was merged (a's, with b's): any break outside the data pages must
# also leave the page the gfn was merged on.
rewrite() {
	_n=$1 _k=$2
	derive "$_n"
	cp "$TMP/$_n.derived" "$TMP/$_n.before"
	_from=$(($(wc -l <"$TMP/ksm.txt") + 1))
	eval "kill -USR1 \$${_n}_pid"
	if ! vm_wait_event "$_n" rewritten 60; then
		fail "ksm-ev/cow-$_n" "VM $_n did not rewrite"
		return
	fi
	sleep 0.5
	tail -n +"$_from" "$TMP/ksm.txt" | grep "^ts=[0-9]* vm=$(vmid "$_n") type=cow_break " |
		sed 's/.* gfn=\(0x[0-9a-f]*\) .*pfn=\(0x[0-9a-f]*\)$/\1 \2/' >"$TMP/$_n.cow"
	_out=$(awk -v k="$_k" "$AWK_HEX"'
		NR == FNR { was[$1] = $2; next }
		{ g = hex($1)
		  if (g >= 256 && g < 256 + k) data++
		  else if (g >= 256) { bad = bad " " $0; next }
		  else other++
		  if (was[g] != $2 || seen[g]++) bad = bad " " $0 }
		END { printf "data=%d other=%d bad=%s\n", data, other, bad == "" ? "none" : bad }' \
		"$TMP/$_n.before" "$TMP/$_n.cow")
	echo "# cow_break events of $_n: $_out"
	check "ksm-ev/cow-$_n" "$_out" data="$_k" bad=none
}

rewrite a $RW
rewrite z $RZ
# After the breaks, derived equals truth again. ksm_merging_pages only drops
# at ksmd's next look, which does not come (run=0): not compared.
out=$(compare a 256 $N)
check ksm-ev/after-cow-a "$out" pfn_bad=0 missed=0 data=$((N - RW))
out=$(compare z 256 $NZ)
check ksm-ev/after-cow-z "$out" pfn_bad=0 missed=0 data=$((NZ - RZ))
out=$(compare b 256 $N)
check ksm-ev/after-cow-b "$out" pfn_bad=0 data=$N

# --- merges with the zero page (use_zero_pages=1) --------------------------
# z goes first: 6.1 looks in the stable tree before it tries the zero page,
# and would merge y into z's KSM page of zeros.
vm_end z
z_rc=$VM_RC
echo 1 >$K/use_zero_pages
vm_start y --mem 4 --pages $NY --fill zero --hold 600 --rewrite $RY
if vm_wait_event y halted 120; then
	ksm_settle
	sleep 0.5
	ZERO_PFN=$(grep "^ts=[0-9]* vm=$(vmid y) type=ksm_zero " "$TMP/ksm.txt" | head -n 1 |
		sed 's/.* pfn=0x\([0-9a-f]*\)$/\1/')
	ZERO_PFN=$((0x${ZERO_PFN:-0}))
	# The truth's zero pages are pagecheck's 'Z' pages.
	out=$(compare y 256 $NY)
	zt=$(pagecheck --pid "$y_pid" --addr "$(vm_addr y)" --pages $NY)
	check ksm-ev/zero-page "$out zero_truth=$(kv "$zt" zero)" pfn_bad=0 data=$NY zero=$NY \
		zero_truth=$NY
	rewrite y $RY
	out=$(compare y 256 $NY)
	check ksm-ev/after-cow-y "$out" pfn_bad=0 data=$((NY - RY)) zero=$((NY - RY))
else
	fail ksm-ev/zero-page "VM y did not halt"
fi
echo 0 >$K/use_zero_pages

# --- run=2 unmerges everything: one unmerge event per merged gfn -----------
# (6.1's break_ksm leaves zero-page merges alone: y may keep them, and then
# the events must say so too.)
for v in a b c y; do
	derive "$v"
	eval "${v}_had=\$(wc -l <\"\$TMP/$v.derived\")"
done
from=$(($(wc -l <"$TMP/ksm.txt") + 1))
echo 2 >$K/run
sleep 1
echo 0 >$K/run
sleep 0.5
errs=
for v in a b c y; do
	eval "had=\$${v}_had"
	got=$(tail -n +"$from" "$TMP/ksm.txt" | grep -c "^ts=[0-9]* vm=$(vmid $v) type=unmerge ")
	out=$(compare $v 256 1)
	left=$(kv "$out" merged)
	[ $((got + left)) = "$had" ] || errs="$errs $v:unmerge=$got+left=$left,want=$had"
	[ $v = y ] || [ "$left" = 0 ] || errs="$errs $v:left=$left"
	expect_kv "$out" pfn_bad=0 missed=0 zero=$left	# what stays is on the zero page
	[ -z "$ERR" ] || errs="$errs $v:$ERR"
done
if [ -z "$errs" ]; then pass ksm-ev/unmerge; else fail ksm-ev/unmerge "${errs# }"; fi

errs=
[ "$z_rc" = 0 ] || errs=" z:$z_rc"
for v in a b c d y; do
	vm_end $v
	[ "$VM_RC" = 0 ] || errs="$errs $v:$VM_RC"
done
kill "$cat_pid"
wait "$cat_pid" 2>/dev/null
[ -z "$errs" ] || fail ksm-ev/vms-exit-0 "exit status${errs}"
bad=$(bad_kernel_lines)
[ -z "$bad" ] || fail ksm-ev/kernel-log "$(echo "$bad" | head -n 3 | tr '\n' '|')"

[ "$FAILS" -eq 0 ]
