# Reads a rig run's output and summarizes bench/tcg/insn_marks.c's lines:
# marker 2k begins and 2k+1 ends one run of setup k; prints, per setup, the
# median instructions the machine executed over its runs and the ratio to
# setup 0. NAMES (-v names="a b c") names the setups in marker order.
#
#   awk -v names="absent idle attached" -f insn_summary.awk rig-output
function median(k,    n, i, j, t, a) {
	n = count[k]
	for (i = 1; i <= n; i++) a[i] = runs[k, i]
	for (i = 2; i <= n; i++)	# insertion sort: a few dozen runs
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return a[int((n + 1) / 2)]
}
$1 == "insn-mark" {
	id = $2 + 0
	if (id % 2 == 0) { begin[id / 2] = $3; next }
	k = (id - 1) / 2
	if (!(k in begin)) next
	runs[k, ++count[k]] = $3 - begin[k]
	delete begin[k]
}
END {
	n = split(names, name, " ")
	if (!count[0]) { print "insn: no marker pairs for setup 0 in the output"; exit 1 }
	base = median(0)
	printf "insn: instructions the machine executed per run (all vCPUs), median of the runs:\n"
	for (k = 0; k < n; k++) {
		if (!count[k]) continue
		m = median(k)
		spread = ""
		for (i = 1; i <= count[k]; i++) spread = spread sprintf(" %.1f", runs[k, i] / 1e6)
		printf "insn:   %-9s %8.2f M  ratio to %s %.4f  [%s ] M\n", name[k + 1], m / 1e6, name[1], m / base, spread
	}
}
