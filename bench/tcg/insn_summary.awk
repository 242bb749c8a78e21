# Reads a rig run's output and summarizes bench/tcg/insn_marks.c's lines:
# marker 2k begins and 2k+1 ends one run of setup k; prints, per setup, the
# median instructions executed over its runs and the ratio to setup 0, for
# the whole machine and, with -v vcpu=N, for vCPU N alone (the CPU the
# benchmark pinned its workload to). NAMES (-v names="a b c") names the
# setups in marker order.
#
#   awk -v names="absent idle attached" -v vcpu=1 -f insn_summary.awk rig-output
function median(c, k,    n, i, j, t, a) {
	n = count[k]
	for (i = 1; i <= n; i++) a[i] = runs[c, k, i]
	for (i = 2; i <= n; i++)	# insertion sort: a few dozen runs
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return a[int((n + 1) / 2)]
}
# The fewest too: the work is deterministic and what the rest of the
# machine adds to a run (a kworker, a tick landing on the CPU) only adds, so
# the fewest is the run with the least of it; the median is the headline.
function fewest(c, k,    i, m) {
	m = runs[c, k, 1]
	for (i = 2; i <= count[k]; i++) if (runs[c, k, i] < m) m = runs[c, k, i]
	return m
}
function table(c, what,    k, m, f, i, base, base_f, spread) {
	base = median(c, 0)
	base_f = fewest(c, 0)
	printf "insn: %s, median of the runs (and the fewest):\n", what
	for (k = 0; k < n; k++) {
		if (!count[k]) continue
		m = median(c, k)
		f = fewest(c, k)
		spread = ""
		for (i = 1; i <= count[k]; i++) spread = spread sprintf(" %.1f", runs[c, k, i] / 1e6)
		printf "insn:   %-9s %8.2f M  ratio to %s %.4f  (fewest %.4f)  [%s ] M\n", name[k + 1], m / 1e6, name[1], m / base, f / base_f, spread
	}
}
$1 == "insn-mark" {
	id = $2 + 0
	col = vcpu != "" ? 4 + vcpu : 3
	if (id % 2 == 0) { begin[id / 2] = $3; begin_v[id / 2] = $col; next }
	k = (id - 1) / 2
	if (!(k in begin)) next
	count[k]++
	runs["all", k, count[k]] = $3 - begin[k]
	runs["vcpu", k, count[k]] = $col - begin_v[k]
	delete begin[k]
}
END {
	n = split(names, name, " ")
	if (!count[0]) { print "insn: no marker pairs for setup 0 in the output"; exit 1 }
	table("all", "instructions the machine executed per run (all vCPUs)")
	if (vcpu != "")
		table("vcpu", "instructions vCPU " vcpu " executed per run (the faulting guest's)")
}
