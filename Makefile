# pxos Makefile: a thin front for scripts/setup, CMake presets and ctest.
# The README's two commands are `make demo` and `make test`.
JOBS ?= $(shell nproc)
PXOS := build/pxos

.PHONY: all setup build debug test test-release test-debug demo bench bench-vm fuzz clean

all: build

setup:
	@bash scripts/setup

build: setup
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

debug: setup
	@cmake --preset debug >/dev/null
	@cmake --build --preset debug -j $(JOBS)

# Release: every test (unit, golden, integration, fuzz smoke).
# Debug (ASan+UBSan): the unit tests and the fuzz smoke runs again under sanitizers.
test: build debug
	@cd build && ctest --output-on-failure -j $(JOBS)
	@cd build-debug && ctest --output-on-failure -j $(JOBS) -L 'unit|fuzz'

demo: build
	@bash scripts/demo

bench: bench-vm

bench-vm: build
	@bash bench/vm/run.sh

# Long libFuzzer runs (clang-19); FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
fuzz:
	@PXOS_SETUP_FUZZ=1 bash scripts/setup
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	@bash tests/fuzz/run_libfuzzer.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf build build-debug build-fuzz
