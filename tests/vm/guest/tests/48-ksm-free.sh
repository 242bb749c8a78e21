#!/bin/sh
# ksm_free events against ground truth. Two VMs with the same fill: their
# data pages and their code page merge. With ksmd stopped, both rewrite all
# of their data pages (minivmm --rewrite, which also rewrites the code page's
# parameters): every KSM page loses all its mappers and is freed, but KSM
# still lists every mapper of each, since it learns of it only when it next
# looks. Then KSM drops each page's stable node, and every (VM, gfn) still on
# it must get exactly one ksm_free with the gfn, its hva and the KSM page's
# pfn that pagemap showed before the rewrite:
#   free/ksmd   seed: fill, N pages pairwise equal across the two VMs; ksmd
#               started again finds the nodes stale as it rescans;
#   free/run2   the same, but KSM run=2 (run_store, not ksmd) finds them
#               stale as it removes every rmap_item;
#   free/chain  same: fill, NC equal pages in each VM: more mappers than
#               max_page_sharing (256) allows on one KSM page, so KSM keeps
#               several KSM pages of that content in a stable node chain;
#               ksmd finds each of them stale.
# Nothing may come before KSM looks (ksm_free means KSM dropped the page),
# and afterwards KSM's counters (pages_shared, pages_sharing,
# ksm_merging_pages) must be 0.
. /rig/lib.sh

K=/sys/kernel/mm/ksm
N=64
NC=200

echo 0 >$K/run
echo 0 >$K/use_zero_pages
cat /dev/self-e >"$TMP/kf.txt" &
cat_pid=$!
sleep 1	# cat is reading: every VM from now on is in its stream

STREAM=$TMP/kf.txt	# for vmid

# frees NAME FROM: "gfn pfn hva_ok" (gfn in decimal) of every ksm_free line of
# VM NAME from line FROM on; hva_ok is 1 when the line's hva is the gfn's
# (minivmm's guest RAM starts at guest-physical 0).
frees() {
	eval "_hva=\$(json \"\$TMP/$1.out\" hva)"
	tail -n +"$2" "$TMP/kf.txt" | awk -v vm="vm=$(vmid "$1")" -v base="$_hva" "$AWK_HEX"'
	$2 == vm && $3 == "type=ksm_free" {
		g = ""; p = ""; h = ""
		for (i = 4; i <= NF; i++) {
			if ($i ~ /^gfn=/) g = substr($i, 5)
			if ($i ~ /^pfn=/) p = substr($i, 5)
			if ($i ~ /^hva=/) h = substr($i, 5)
		}
		print hex(g), p, (h != "" && hex(h) == base + hex(g) * 4096) ? 1 : 0
	}' | sort -n
}

# ksm_truth NAME OTHER: "gfn pfn 1" for each page of NAME whose pfn is mapped
# more than once in NAME and OTHER (pagemap), the zero page aside: what KSM
# merged.
ksm_truth() {
	vm_ram_pages "$2" >"$TMP/$2.pages"
	vm_ram_pages "$1" >"$TMP/$1.pages"
	awk 'FNR == 1 { f++ }
		f < 3 { if ($3 ~ /^P.[^Z]/) c[$2]++; next }
		$3 ~ /^P.[^Z]/ && c[$2] > 1 { print $1, $2, 1 }' \
		"$TMP/$2.pages" "$TMP/$1.pages" "$TMP/$1.pages" | sort -n
}

# scenario CHECK FILL PAGES HOW: two VMs x, y of FILL with PAGES data pages
# each; merge, stop ksmd, rewrite, then let KSM find the freed pages by HOW
# (ksmd | run2) and check the events. KSM pages wanted (pages_shared) come
# in WANT_SHARED, and the stable node chains (at least) in WANT_CHAINS.
scenario() {
	_c=$1 _p=$3
	vm_start x --mem 4 --pages $_p --fill "$2" --hold 600 --rewrite $_p
	vm_start y --mem 4 --pages $_p --fill "$2" --hold 600 --rewrite $_p
	for v in x y; do
		if ! vm_wait_event $v halted 120; then
			fail "$_c" "VM $v did not halt"
			vm_kill x y
			return
		fi
	done
	ksm_settle
	[ -n "$KSM_SETTLED" ] || fail "$_c/settle" "counters still moving: $KSM_SETTLE_NOTE"
	echo "# $_c: $KSM_SETTLE_NOTE, stable_node_chains $(cat $K/stable_node_chains)"
	ksm_truth x y >"$TMP/x.truth"
	ksm_truth y x >"$TMP/y.truth"
	# The data pages and the code page, each merged; pages_sharing counts
	# every mapper but the first of each KSM page.
	_got="shared=$(cat $K/pages_shared) sharing=$(cat $K/pages_sharing)"
	_got="$_got chains=$(( $(cat $K/stable_node_chains) >= WANT_CHAINS ))"
	for v in x y; do
		_got="$_got $v=$(wc -l <"$TMP/$v.truth") ${v}_data=$(awk -v lo=256 -v hi=$((256 + _p)) \
			'$1 >= lo && $1 < hi { n++ } END { print n + 0 }' "$TMP/$v.truth")"
	done
	expect_kv "$_got" shared="$WANT_SHARED" sharing=$((2 * _p + 2 - WANT_SHARED)) chains=1 \
		x=$((_p + 1)) x_data="$_p" y=$((_p + 1)) y_data="$_p"
	[ -z "$ERR" ] || fail "$_c/merged" "${ERR# }"

	_from=$(($(wc -l <"$TMP/kf.txt") + 1))
	kill -USR1 "$x_pid" "$y_pid"
	for v in x y; do
		vm_wait_event $v rewritten 120 || fail "$_c/rewrite" "VM $v did not rewrite"
	done
	sleep 0.5
	_early=$(tail -n +"$_from" "$TMP/kf.txt" | grep -c ' type=ksm_free ')
	[ "$_early" = 0 ] || fail "$_c/early" "$_early ksm_free events before KSM looked"

	_s0=$(cat $K/full_scans)
	case $4 in
	ksmd)
		echo 1 >$K/run
		_i=0
		while [ $_i -lt 1200 ]; do
			[ "$(cat $K/full_scans)" -ge $((_s0 + 2)) ] && [ "$(cat $K/pages_shared)" = 0 ] && break
			_i=$((_i + 1))
			sleep 0.1
		done
		echo 0 >$K/run
		;;
	run2)
		echo 2 >$K/run
		echo 0 >$K/run
		;;
	esac
	sleep 0.5	# cat takes the last events
	_after="pages_shared=$(cat $K/pages_shared) pages_sharing=$(cat $K/pages_sharing)"
	_after="$_after merging_x=$(cat /proc/$x_pid/ksm_merging_pages) merging_y=$(cat /proc/$y_pid/ksm_merging_pages)"
	check "$_c/ksm-counters" "$_after" pages_shared=0 pages_sharing=0 merging_x=0 merging_y=0

	_errs=
	for v in x y; do
		frees $v "$_from" >"$TMP/$v.free"
		_n=$(wc -l <"$TMP/$v.free")
		if ! cmp -s "$TMP/$v.free" "$TMP/$v.truth"; then
			_errs="$_errs $v:$_n-events,diff:$(diff "$TMP/$v.truth" "$TMP/$v.free" |
				grep '^[-+][0-9]' | head -n 4 | tr '\n' ';')"
		fi
	done
	if [ -z "$_errs" ]; then
		pass "$_c/events"
	else
		fail "$_c/events" "want one ksm_free per page pagemap showed merged (gfn pfn hva):${_errs}"
	fi
	echo "# $_c: $(wc -l <"$TMP/x.free") + $(wc -l <"$TMP/y.free") ksm_free events"

	_errs=
	for v in x y; do
		vm_end $v
		[ "$VM_RC" = 0 ] || _errs="$_errs $v:$VM_RC"
	done
	[ -z "$_errs" ] || fail "$_c/vms-exit-0" "exit status${_errs}"
}

WANT_SHARED=$((N + 1)) WANT_CHAINS=0
scenario free/ksmd seed:kf1 $N ksmd
scenario free/run2 seed:kf2 $N run2
# 2 * NC equal pages: 2 KSM pages (256 and 2 * NC - 256 mappers), chained.
WANT_SHARED=3 WANT_CHAINS=1
scenario free/chain same:kf3 $NC ksmd

kill "$cat_pid"
wait "$cat_pid" 2>/dev/null
bad=$(bad_kernel_lines)
[ -z "$bad" ] || fail free/kernel-log "$(echo "$bad" | head -n 3 | tr '\n' '|')"

[ "$FAILS" -eq 0 ]
