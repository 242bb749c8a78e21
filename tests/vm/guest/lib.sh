# Helpers for the in-guest tests (busybox sh, sourced by each tests/*.sh).
# A test prints exactly one line per check: "PASS name" or "FAIL name: reason";
# run-suite.sh counts them. Values are asserted exactly against ground truth
# that the test reads itself (pagemap, kpageflags, /proc, sysfs).

FAILS=0
TMP=${TMP:-/tmp}

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }

# kv "k1=v1 k2=v2" KEY: the value of KEY in pagecheck-style output.
kv() { echo " $1 " | sed -n "s/.* $2=\([^ ]*\) .*/\1/p"; }

# expect_kv NAME OUTPUT k=v...: check every k=v against OUTPUT. Sets ERR to the
# mismatches (empty when all hold).
expect_kv() {
	_out=$1
	shift
	ERR=
	for _kv in "$@"; do
		_k=${_kv%%=*}
		_want=${_kv#*=}
		_got=$(kv "$_out" "$_k")
		[ "$_got" = "$_want" ] || ERR="$ERR $_k=${_got:-?} (want $_want)"
	done
}

# check NAME OUTPUT k=v...: PASS or FAIL NAME from expect_kv.
check() {
	_name=$1
	shift
	expect_kv "$@"
	if [ -z "$ERR" ]; then pass "$_name"; else fail "$_name" "${ERR# }"; fi
}

# json FILE KEY: the numeric or string value of KEY in the first line of FILE
# that has it (minivmm prints flat JSON, one object per line).
json() {
	sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p" "$1" | head -n 1
}

# vm_start NAME minivmm-args...: start minivmm in the background; its stdout
# goes to $TMP/NAME.out, stderr to $TMP/NAME.err, its pid to NAME_pid.
vm_start() {
	_n=$1
	shift
	# Empty the files here, not only in the background child: a waiter must
	# never see a previous VM's events in a reused file.
	: >"$TMP/$_n.out"
	: >"$TMP/$_n.err"
	minivmm "$@" >"$TMP/$_n.out" 2>"$TMP/$_n.err" &
	eval "${_n}_pid=$!"
}

# vm_wait_event NAME EVENT [SECONDS]: wait for {"event":"EVENT"} from NAME.
# Returns 1 (and says why) on timeout or if minivmm died. The deadline is on
# the guest's clock, so a slow, loaded host cannot stretch it.
vm_wait_event() {
	_end=$(( $(cut -d. -f1 /proc/uptime) + ${3:-60} ))
	eval "_pid=\$${1}_pid"
	while ! grep -q "\"event\":\"$2\"" "$TMP/$1.out" 2>/dev/null; do
		if ! kill -0 "$_pid" 2>/dev/null; then
			echo "# $1 (pid $_pid) exited before $2: $(cat "$TMP/$1.err")"
			return 1
		fi
		if [ "$(cut -d. -f1 /proc/uptime)" -ge "$_end" ]; then
			echo "# $1 (pid $_pid): no $2 event in ${3:-60} s"
			return 1
		fi
		sleep 0.1
	done
}

# vm_ram_pages NAME: pagecheck --list of all of minivmm NAME's guest RAM, one
# line per page from guest-physical 0 ("i pfn PKZ map=N kpf=F"), no header.
vm_ram_pages() {
	eval "_pid=\$${1}_pid"
	pagecheck --pid "$_pid" --addr "$(json "$TMP/$1.out" hva)" \
		--pages $(( $(json "$TMP/$1.out" mem_bytes) / 4096 )) --list | sed 1d
}

# vm_addr NAME: host address of the first data page (hva + gpa).
vm_addr() { echo $(( $(json "$TMP/$1.out" hva) + $(json "$TMP/$1.out" gpa) )); }

# vm_wait_start NAME: wait for minivmm's start line (it has a pid).
vm_wait_start() {
	_i=0
	while ! grep -q '"pid":' "$TMP/$1.out" 2>/dev/null; do
		_i=$((_i + 1))
		[ $_i -lt 600 ] || return 1
		sleep 0.1
	done
}

# wait_text FILE TEXT SECONDS: until FILE holds TEXT, or SECONDS have passed.
wait_text() {
	_i=0
	while ! grep -q "$2" "$1" 2>/dev/null && [ $_i -lt $(($3 * 10)) ]; do
		_i=$((_i + 1))
		sleep 0.1
	done
}

# vmid_of NAME: the SELF-e VM id of minivmm NAME (self-e list).
vmid_of() {
	eval "_pid=\$${1}_pid"
	self-e list --json | tr -d ' \n' | sed 's/{"vm_id"/\n{"vm_id"/g' |
		sed -n "s/^{\"vm_id\":\([0-9]*\),\"pid\":$_pid,.*/\1/p"
}

# The text stream (cat /dev/self-e) a test keeps in the file $STREAM:
# vmid NAME: minivmm NAME's SELF-e id, from its vm_create line there.
vmid() {
	eval "_pid=\$${1}_pid"
	sed -n "s/^ts=[0-9]* vm=\([0-9]*\) type=vm_create pid=$_pid\$/\1/p" "$STREAM"
}
# An awk function for the stream's hex fields: hex("0x1f") = 31 (busybox
# awk reads no hex numbers). Prepend it to a program: awk "$AWK_HEX"'...'.
AWK_HEX='function hex(s,  n, i) {
	n = 0
	s = tolower(substr(s, 3))
	for (i = 1; i <= length(s); i++)
		n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
	return n
}'

# Ground truth against `self-e report --json`:
# pfns FILE VM: "pfn" of every present non-zero page of the VM's RAM.
pfns() {
	vm_ram_pages "$2" | awk '$3 ~ /^P.[^Z]/ { print $2 }' >"$1"
}
# shared X Y: pages of X whose pfn Y maps too (pagemap).
shared() {
	pfns "$TMP/shared.x" "$1"
	pfns "$TMP/shared.y" "$2"
	awk 'NR == FNR { s[$1] = 1; next } ($1 in s) { n++ } END { print n + 0 }' \
		"$TMP/shared.y" "$TMP/shared.x"
}
# rv FILE VM KEY: a number (or true/false) of the VM (by pid) in a report's JSON.
rv() {
	eval "_pid=\$${2}_pid"
	tr -d ' \n' <"$1" | sed 's/{"id"/\n{"id"/g' | grep "\"pid\":$_pid," |
		sed -n "s/.*\"$3\":\\([0-9a-z]*\\).*/\\1/p" | head -n 1
}
# shared_with FILE X Y: pages of X the report says Y's KSM pages hold too.
shared_with() {
	eval "_px=\$${2}_pid"
	tr -d ' \n' <"$1" | sed 's/{"id"/\n{"id"/g' | awk -v px="\"pid\":$_px," \
		-v key="{\"id\":$(vmid_of "$3"),\"pages\":" '
		index($0, px) { in_vm = 1; next }
		/"pid":/ { in_vm = 0 }
		in_vm && index($0, key) == 1 { s = substr($0, length(key) + 1); sub(/[^0-9].*/, "", s); print s }'
}

# vm_end NAME: end the current hold (SIGUSR1) and reap minivmm; its exit
# status goes to VM_RC. (Not an $(...) helper: a subshell cannot wait.)
vm_end() {
	eval "_pid=\$${1}_pid"
	kill -USR1 "$_pid" 2>/dev/null
	wait "$_pid"
	VM_RC=$?
}

# vm_kill NAME...: for cleanup after a failure.
vm_kill() {
	for _n in "$@"; do
		eval "_pid=\${${_n}_pid:-}"
		[ -z "$_pid" ] || kill -9 "$_pid" 2>/dev/null
	done
	wait 2>/dev/null
	return 0
}

# ksm_settle: run KSM over everything in one batch until it has settled, then
# stop it (run=0), so that nothing changes while a test looks. Settled: the
# counters stay the same over at least one whole scan (two full_scans apart),
# after the 2 scans KSM needs to merge (the first only records checksums).
# Sets KSM_SETTLED (1 or empty) and KSM_SETTLE_NOTE (what happened).
ksm_settle() {
	_k=/sys/kernel/mm/ksm
	_s0=$(cat $_k/full_scans)
	echo 10000 >$_k/pages_to_scan
	echo 20 >$_k/sleep_millisecs
	echo 1 >$_k/run
	_prev= _prevf= KSM_SETTLED= _i=0
	_t0=$(cut -d' ' -f1 /proc/uptime)
	while [ $_i -lt 600 ]; do
		_f=$(cat $_k/full_scans)
		_cur="$(cat $_k/pages_shared) $(cat $_k/pages_sharing)"
		if [ "$_f" -ge $((_s0 + 3)) ] && { [ -z "$_prevf" ] || [ "$_f" -ge $((_prevf + 2)) ]; }; then
			if [ "$_cur" = "$_prev" ]; then
				KSM_SETTLED=1
				break
			fi
			_prev=$_cur
			_prevf=$_f
		fi
		_i=$((_i + 1))
		sleep 0.1
	done
	echo 0 >$_k/run
	KSM_SETTLE_NOTE="full_scans $_s0 -> $(cat $_k/full_scans), shared/sharing $_cur, $_t0 -> $(cut -d' ' -f1 /proc/uptime) s"
}

# Kernel log lines that fail a run (the same list the host scans), since
# kernel_log_mark was last called (since boot without it).
KLOG_MARK=0
kernel_log_mark() { KLOG_MARK=$(dmesg | wc -l); }
kernel_log_since_mark() { dmesg | awk -v m="$KLOG_MARK" 'NR > m'; }
bad_kernel_lines() { kernel_log_since_mark | grep -E -f /rig/kernel-log-patterns; }

# check_kernel_log NAME: PASS NAME, or FAIL NAME with the first bad lines.
check_kernel_log() {
	_bad=$(bad_kernel_lines)
	if [ -n "$_bad" ]; then
		fail "$1" "$(echo "$_bad" | head -n 3 | tr '\n' '|')"
	else
		pass "$1"
	fi
}
