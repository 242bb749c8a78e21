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
# The whole in-guest suite: about 5 minutes on an idle host, more on a busy
# one (TCG); the rig's own default timeout (300 s) is for single scripts.
RIG_SUITE_TIMEOUT ?= 1200

.PHONY: rig-6.1 rig-6.12 rig-shadow rig-selftest

rig-6.1: static
	$(RIG_ENV) $(RIG) --kernel 6.1 --timeout $(RIG_SUITE_TIMEOUT) $(RIG_ARGS)

rig-6.12: static
	$(RIG_ENV) $(RIG) --kernel 6.12 --timeout $(RIG_SUITE_TIMEOUT) $(RIG_ARGS)

rig-shadow: static
	$(RIG_ENV) $(RIG) --kernel 6.1 --cpu qemu64,+svm --timeout $(RIG_SUITE_TIMEOUT) $(RIG_ARGS)

# Needs no self-e: the rig builds its own test programs.
rig-selftest:
	$(RIG_ENV) $(ROOT)/tests/vm/selftest/run.sh

# The soak (tests/vm/soak, tests/vm/guest/soak.sh): VMs, KSM, readers and
# module reloads churning for DURATION seconds, then derived state against
# ground truth. Not part of `make test`.
#   make soak [DURATION=600] [KERNEL=6.1|6.12|6.1-debug] [SOAK_ARGS='--seed 2 --vms 6']
DURATION ?= 600
KERNEL   ?= 6.1
SOAK_ARGS ?=

.PHONY: soak rig-6.1-debug test-debug

soak: static
	$(RIG_ENV) $(ROOT)/tests/vm/soak --kernel $(KERNEL) --duration $(DURATION) $(SOAK_ARGS)

# The debug kernel (tests/vm/lib/debug-kernel.sh): Debian's linux-source-6.1
# with KASAN, lockdep, DEBUG_ATOMIC_SLEEP and KFENCE, built once into
# $(BUILD)/vm-debug (about an hour under nice on 2 busy cores, see README).
rig-6.1-debug: static
	$(RIG_ENV) $(RIG) --kernel 6.1-debug --timeout 1800 $(RIG_ARGS)

# The suite, then a short soak, on the debug kernel. Not part of `make test`.
DEBUG_SOAK ?= 120
test-debug: static
	@$(ROOT)/scripts/deps.sh check-or-install-debug
	@rc=0; \
	$(RIG_ENV) $(RIG) --kernel 6.1-debug --timeout 1800 $(RIG_ARGS) | tee $(BUILD)/test-debug-suite.log; \
	[ "$${PIPESTATUS[0]}" = 0 ] || rc=1; \
	$(RIG_ENV) $(ROOT)/tests/vm/soak --kernel 6.1-debug --duration $(DEBUG_SOAK) | tee $(BUILD)/test-debug-soak.log; \
	[ "$${PIPESTATUS[0]}" = 0 ] || rc=1; \
	p=0; f=0; for l in suite soak; do \
		set -- $$(tail -n 1 $(BUILD)/test-debug-$$l.log | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$$/\1 \2/p'); \
		p=$$((p + $${1:-0})); f=$$((f + $${2:-1})); \
	done; \
	echo "$$p passed, $$f failed"; exit $$rc
