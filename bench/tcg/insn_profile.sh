#!/bin/sh
# insn_profile.sh LOG NAMES...: where the instructions of each setup went,
# from a rig run of bench/kmod_bench.sh under bench/tcg/insn_marks.c with
# profile=on (make bench-kmod-profile). LOG holds the plugin's insn-mark and
# insn-prof lines and the guest's /proc/kallsyms between KALLSYMS-BEGIN and
# KALLSYMS-END; NAMES name the setups in marker order, the first the baseline.
# Prints, per other setup, the functions whose instructions per run grew most
# against the baseline ("user/nested" is all code outside the guest kernel).
# Addresses stay 16-digit hex strings: mawk's numbers cannot hold them, but
# they sort as strings in numeric order.
set -eu
log=$1
shift
names=$*

# "ADDR 0 symbol" and "ADDR 1 setup instructions", sorted by address with a
# function's start before its blocks; each block goes to the function before it.
awk '/^KALLSYMS-BEGIN/ { k = 1; next }
     /^KALLSYMS-END/ { k = 0; next }
     k && NF >= 3 && ($2 == "t" || $2 == "T") { print $1, 0, $3 ($4 != "" ? $4 : "") }
     $1 == "insn-prof" { print $3, 1, $2, $4 }' "$log" |
	LC_ALL=C sort -k1,1 -k2,2n |
	awk '$2 == 0 { fn = $3; next }
	     $1 == "0000000000000000" { print $3, "user/nested", $4; next }
	     { print $3, (fn == "" ? "?" : fn), $4 }' |
	awk -v names="$names" -v logfile="$log" '
	BEGIN {
		n = split(names, name, " ")
		while ((getline line < logfile) > 0) {	# runs per setup: end markers
			split(line, w, " ")
			if (w[1] == "insn-mark" && w[2] % 2 == 1) runs[(w[2] - 1) / 2]++
		}
	}
	{ insns[$1, $2] += $3; fns[$2] = 1 }
	END {
		for (k = 1; k < n; k++) {
			if (!runs[k] || !runs[0]) continue
			for (f in fns) {
				d = insns[k, f] / runs[k] - insns[0, f] / runs[0]
				if (d > 1000 || d < -1000) printf "%s %.0f %s\n", name[k + 1], d, f
			}
		}
	}' |
	sort -k1,1 -k2,2nr |
	awk '{ if ($1 != last) { print "profile: " $1 " (instructions per run more than " base "):"; last = $1; shown = 0 }
	       if (shown++ < 25) printf "profile:   %12d  %s\n", $2, $3 }' base="${names%% *}"
