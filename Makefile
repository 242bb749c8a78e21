# SELF-e top-level Makefile: the README's two commands (`make demo`, `make test`)
# and the steps they are made of. CMake builds user space; Kbuild builds the module.

SHELL     := /bin/bash
ROOT      := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
BUILD     ?= $(ROOT)/build
JOBS      ?= $(shell nproc)


# Kernel build directory for `make module`; the running kernel's when it has one.
KDIR       ?= $(wildcard /lib/modules/$(shell uname -r)/build)
# Where `make module` builds. Building in a copy keeps builds for several kernels apart.
MODULE_OUT ?= $(BUILD)/kmod/$(notdir $(abspath $(KDIR)))

.PHONY: all deps .deps-checked module static debug tsan asan fuzz bench bench-kmod bench-kmod-profile bench-ksm bench-ws test demo clean help

all: debug

help:
	@echo "make demo      boot the rig, run VMs that share memory, show what self-e sees"
	@echo "make test      install what is missing, build everything, run all tests"
	@echo "make deps      install the Debian packages the build and tests need"
	@echo "make module KDIR=<kernel build dir> [MODULE_OUT=dir]   build self_e.ko"
	@echo "make bench     build and run the benchmarks"
	@echo "make fuzz [FUZZ_TIME=20]   build the libFuzzer targets (clang) and run each FUZZ_TIME s"
	@echo "make bench-kmod, bench-ksm   in the rig: what self_e.ko costs guest faults, ksmd"
	@echo "make bench-kmod-profile   where bench-kmod's instructions go, per function"
	@echo "make bench-ws  in the rig: what access sampling costs a guest using its memory"

deps:
	@$(ROOT)/scripts/deps.sh install

# Only installs when something is missing, so repeated runs stay fast.
.deps-checked:
	@$(ROOT)/scripts/deps.sh check-or-install

# Kbuild writes its objects next to the sources, so build in a copy of them.
module:
	@test -n "$(KDIR)" || { echo "make module: no kernel build dir here; pass KDIR=/path/to/kernel/build" >&2; exit 2; }
	@test -f "$(KDIR)/Makefile" || { echo "make module: $(KDIR) is not a kernel build dir (no Makefile)" >&2; exit 2; }
	@mkdir -p $(MODULE_OUT)/kmod
	@cp $(ROOT)/Kbuild $(MODULE_OUT)/Kbuild
	@cp -r $(ROOT)/kmod/. $(MODULE_OUT)/kmod/
	$(MAKE) -C $(KDIR) M=$(MODULE_OUT) modules
	@echo "built $(MODULE_OUT)/self_e.ko"

# One CMake build tree per flavour.
define cmake_build
	@cmake -S $(ROOT) -B $(BUILD)/$(1) $(2) >/dev/null
	@cmake --build $(BUILD)/$(1) -j $(JOBS)
endef

debug: .deps-checked
	$(call cmake_build,debug,-DCMAKE_BUILD_TYPE=RelWithDebInfo)

# Static binaries for the rig's initramfs.
static: .deps-checked
	$(call cmake_build,static,-DCMAKE_BUILD_TYPE=Release -DSELF_E_STATIC=ON -DSELF_E_TESTS=OFF -DSELF_E_BENCH=OFF)

tsan: .deps-checked
	$(call cmake_build,tsan,-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSELF_E_SANITIZE=thread -DSELF_E_BENCH=OFF)

asan: .deps-checked
	$(call cmake_build,asan,-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSELF_E_SANITIZE=address -DSELF_E_BENCH=OFF)

# libFuzzer targets (tests/fuzz/, clang with ASan+UBSan) in build/fuzz, each
# run FUZZ_TIME seconds from its seed corpus.
FUZZ_TIME ?= 20
fuzz: .deps-checked
	@cmake -S $(ROOT) -B $(BUILD)/fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSELF_E_FUZZ=ON -DSELF_E_TESTS=OFF -DSELF_E_BENCH=OFF >/dev/null
	@cmake --build $(BUILD)/fuzz -j $(JOBS) --target fuzz-targets
	@BUILD='$(BUILD)' FUZZ_TIME='$(FUZZ_TIME)' $(ROOT)/tests/fuzz/run.sh

# Everything, tested: unit tests, sanitizer runs, the rig on both kernels.
test: .deps-checked
	@BUILD=$(BUILD) $(ROOT)/scripts/test-all.sh

# The rig on Debian 12's kernel, running tests/vm/demo.sh in the guest.
demo: static
	BUILD='$(BUILD)' JOBS='$(JOBS)' $(ROOT)/tests/vm/rig --kernel 6.1 --exec $(ROOT)/tests/vm/demo.sh

# In the rig: what self_e.ko costs a faulting guest (absent/idle/attached/tracefs).
# Also counts the instructions the machine executes per run (QEMU plugin,
# bench/tcg/): a measure the host's load does not blur.
# tsc=reliable: the guest keeps the TSC as its clocksource, as a KVM host
# does; under TCG its boot check finds the TSCs unsynchronized and falls back
# to the HPET, whose every read (each event's timestamp) costs 40 more
# emulated instructions. BENCH_KMOD_APPEND= measures with the HPET.
BENCH_KMOD_APPEND ?= tsc=reliable
BENCH_KMOD_KERNEL ?= 6.1
bench-kmod: static
	@set -o pipefail; plugin=$$(BUILD='$(BUILD)' $(ROOT)/bench/tcg/build-plugin.sh) && \
	BUILD='$(BUILD)' JOBS='$(JOBS)' RIG_QEMU_ARGS="-plugin $$plugin -d plugin" RIG_APPEND='$(BENCH_KMOD_APPEND)' \
		$(ROOT)/tests/vm/rig --kernel $(BENCH_KMOD_KERNEL) --exec $(ROOT)/bench/kmod_bench.sh --timeout 1200 | \
		tee $(BUILD)/bench/kmod.out && \
	awk -v names="absent idle attached producer tracefs" -v vcpu=1 -f $(ROOT)/bench/tcg/insn_summary.awk $(BUILD)/bench/kmod.out

# Where bench-kmod's instructions go, per function (a record per code
# block the guest runs). BENCH_PROFILE_ROUNDS rounds of each setup.
BENCH_PROFILE_ROUNDS ?= 2
bench-kmod-profile: static
	@set -o pipefail; plugin=$$(BUILD='$(BUILD)' $(ROOT)/bench/tcg/build-plugin.sh) && \
	mkdir -p $(BUILD)/bench && \
	{ echo 'ROUNDS=$(BENCH_PROFILE_ROUNDS) PROFILE=1'; cat $(ROOT)/bench/kmod_bench.sh; } >$(BUILD)/bench/kmod_profile.sh && \
	BUILD='$(BUILD)' JOBS='$(JOBS)' RIG_QEMU_ARGS="-plugin $$plugin,profile=on -d plugin" RIG_APPEND='$(BENCH_KMOD_APPEND)' \
		$(ROOT)/tests/vm/rig --kernel $(BENCH_KMOD_KERNEL) --exec $(BUILD)/bench/kmod_profile.sh --timeout 1800 \
		>$(BUILD)/bench/kmod-profile.out && \
	$(ROOT)/bench/tcg/insn_profile.sh $(BUILD)/bench/kmod-profile.out absent idle attached producer tracefs

# ksmd's CPU time in emulated instructions (QEMU -icount, 16 ns each) on one
# vCPU: host load and a reader's work on another vCPU stay out of it, and
# rounds agree to 0.5 %. BENCH_KSM_QEMU= gives the rig's two real-time vCPUs.
BENCH_KSM_QEMU ?= -icount shift=4,sleep=off -smp 1
BENCH_KSM_KERNEL ?= 6.12
bench-ksm: static
	BUILD='$(BUILD)' JOBS='$(JOBS)' RIG_QEMU_ARGS='$(BENCH_KSM_QEMU)' \
		$(ROOT)/tests/vm/rig --kernel $(BENCH_KSM_KERNEL) --exec $(ROOT)/bench/ksm_bench.sh --timeout 900

bench-ws: static
	BUILD='$(BUILD)' JOBS='$(JOBS)' $(ROOT)/tests/vm/rig --kernel 6.1 --exec $(ROOT)/bench/ws_bench.sh --timeout 900

# snapshot_bench reads /proc/kpageflags: run as root. Its baseline is the
# kernel's page-types, built from Debian's linux-source-6.1 (bench/page-types.sh).
bench: debug
	$(BUILD)/debug/bench/ring_bench
	$(BUILD)/debug/bench/snapshot_bench 1024 "$$(BUILD='$(BUILD)' $(ROOT)/bench/page-types.sh)"
	$(BUILD)/debug/bench/aggregator_bench

-include $(ROOT)/tests/vm/rig.mk

clean:
	rm -rf $(BUILD)
