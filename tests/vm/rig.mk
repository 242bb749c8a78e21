# The VM rig's targets; the top-level Makefile includes this file.
# It uses ROOT, BUILD, JOBS and the `static` target (which builds self-e) from
# there. RIG_ARGS adds rig options, e.g. `make rig-6.1 RIG_ARGS='--timeout 600'`.
#
#   rig-6.1       Debian 12's kernel, -cpu max (nested paging)
#   rig-6.12      bookworm-backports' 6.12 kernel, -cpu max
#   rig-shadow    6.1 with -cpu qemu64,+svm (no NPT: shadow paging)
#   rig-selftest  the rig's own failure modes (exit status, WARNING, timeout)
# Each prints "N passed, N failed" as its last line and fails with the run.

RIG      := $(ROOT)/tests/vm/rig
RIG_ENV  := BUILD='$(BUILD)' JOBS='$(JOBS)'
RIG_ARGS ?=

.PHONY: rig-6.1 rig-6.12 rig-shadow rig-selftest

rig-6.1: static
	$(RIG_ENV) $(RIG) --kernel 6.1 $(RIG_ARGS)

rig-6.12: static
	$(RIG_ENV) $(RIG) --kernel 6.12 $(RIG_ARGS)

rig-shadow: static
	$(RIG_ENV) $(RIG) --kernel 6.1 --cpu qemu64,+svm $(RIG_ARGS)

# Needs no self-e: the rig builds its own test programs.
rig-selftest:
	$(RIG_ENV) $(ROOT)/tests/vm/selftest/run.sh
