# pxos Makefile: a thin front for scripts/setup, CMake presets and ctest.
# The README's two commands are `make demo` and `make test`.
JOBS ?= $(shell nproc)
PXOS := build/pxos

.PHONY: all setup build install debug check-tsan test demo bench bench-vm bench-gpu bench-godpixel bench-plots fuzz clean

all: build

setup:
	@bash scripts/setup

build: setup
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

# make install PREFIX=/opt/pxos: binary, man page, completions, kernels, Dawn (src/cli/CMakeLists.txt).
PREFIX ?= /usr/local
install: build
	@cmake --install build --prefix "$(PREFIX)"

debug: setup
	@cmake --preset debug >/dev/null
	@cmake --build --preset debug -j $(JOBS)

# Release: every test (unit, golden, integration, fuzz smoke).
# Debug (ASan+UBSan): the unit tests and the fuzz smoke runs again under sanitizers.
# TSan (clang-19): the mailbox unit tests again; a race fails the run.
test: build debug check-tsan
	@cd build && ctest --output-on-failure -j $(JOBS)
	@cd build-debug && ctest --output-on-failure -j $(JOBS) -L 'unit|fuzz'

# ThreadSanitizer over the mailbox library and its unit tests only (a small build: the other
# modules are skipped in build-tsan). ASLR is turned off for the run where setarch may do so:
# TSan's shadow layout rejects some kernels' mmap randomisation ("unexpected memory mapping").
TSAN_TARGETS := test_mailbox_protocol test_mailbox_server test_mailbox_race test_llm_server
TSAN_NOASLR = $(shell setarch -R true >/dev/null 2>&1 && echo setarch -R)
check-tsan: setup
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS) --target $(TSAN_TARGETS)
	@cd build-tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  $(TSAN_NOASLR) ctest --output-on-failure -j $(JOBS) -R '^unit\.(mailbox_protocol|mailbox_server|mailbox_race|llm_server)$$'

demo: build
	@bash scripts/demo

bench: bench-vm bench-gpu bench-godpixel bench-mailbox bench-hv bench-boot

bench-godpixel: build
	@bash bench/godpixel/run.sh

# GPU kernels on this machine's adapter (lavapipe on CPU-only machines: small figures). The H100
# table in docs/BENCHMARKS.md comes from bench/gpu/run_h100.sh on the GPU machine.
bench-gpu: build
	@build/pxos gpu bench matmul --n 256 512 --reps 5

bench-vm: build
	@bash bench/vm/run.sh

# docs/img/*.png from the result files in bench/*/results (matplotlib; docs/BENCHMARKS.md shows them).
bench-plots: setup
	@python3 bench/plots.py

# Long libFuzzer runs (clang-19); FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
fuzz:
	@PXOS_SETUP_FUZZ=1 bash scripts/setup
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	@bash tests/fuzz/run_libfuzzer.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf build build-debug build-fuzz build-tsan

# Mailbox latency / throughput / CPU cost (bench/mailbox; figures in docs/BENCHMARKS.md "Mailbox").
.PHONY: bench-mailbox
bench-mailbox: build
	@bash bench/mailbox/run.sh build

# Microkernel boot: QEMU start → hello, TSC phases, median of 10 (bench/boot; docs/BENCHMARKS.md "Boot").
.PHONY: bench-boot
bench-boot: build
	@PXOS=build/pxos bash bench/boot/run.sh 10

# Hypervisor start-up and per-run overhead (bench/hv; docs/BENCHMARKS.md "Hypervisor").
.PHONY: bench-hv
bench-hv: build
	@bash bench/hv/run.sh build
