# SagaPay's two commands: `make up` and `make test`. Everything else is a convenience.
SHELL := /bin/bash
.DEFAULT_GOAL := help
JOBS ?= $(shell nproc)
STACK := scripts/stack.sh

.PHONY: help deps build up test test-unit test-tsan tidy coverage fuzz stop clean format format-check bench

help:
	@echo "make up          install what is missing, build, start PostgreSQL, Redis and all services"
	@echo "make test        the whole suite (unit, PostgreSQL, Redis, end to end) under ASan+UBSan"
	@echo "make test-unit   only the hermetic tests"
	@echo "make test-tsan   the hermetic, PostgreSQL and Redis tests under ThreadSanitizer"
	@echo "make tidy        clang-tidy (.clang-tidy) over every source; fails on any finding"
	@echo "make coverage    line coverage per folder of the non-e2e tests (docs/coverage.md);"
	@echo "                 COVERAGE_ENFORCE=1 fails below 85 % of services/ or 90 % of core/"
	@echo "make fuzz        the libFuzzer targets (clang-14, ASan+UBSan), FUZZ_SECONDS each (300);"
	@echo "                 fails on any crash, leaving the input in build/fuzz/artifacts/"
	@echo "make stop        stop the private PostgreSQL and Redis"
	@echo "make bench       the benchmarks (docs/benchmarks.md)"
	@echo "make format      clang-format every C++ file"

deps:
	@scripts/deps.sh

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release --target sagapay -j $(JOBS)

up: build
	./build/release/app/sagapay up

# CI runs this on a fresh machine: installs, builds with warnings as errors under ASan+UBSan,
# starts the private stack and runs every test.
test: deps
	cmake --preset ci >/dev/null
	cmake --build --preset ci -j $(JOBS)
	$(STACK) start
	eval "$$($(STACK) env)" && ctest --preset ci -j $(JOBS) --timeout 600

test-unit: deps
	cmake --preset debug >/dev/null
	cmake --build --preset debug -j $(JOBS)
	ctest --preset unit -j $(JOBS)

# ThreadSanitizer build and the tests that need no end-to-end stack. scripts/tsan.sh runs the
# build (gtest discovery runs the binaries) and the tests with an mmap layout g++ 12 TSan accepts.
test-tsan: deps
	cmake --preset tsan >/dev/null
	scripts/tsan.sh cmake --build --preset tsan -j $(JOBS)
	$(STACK) start
	eval "$$($(STACK) env)" && scripts/tsan.sh ctest --preset tsan -j $(JOBS) --timeout 900

# clang-tidy over compile_commands.json of the `tidy` preset (nothing is compiled).
tidy: deps
	JOBS=$(JOBS) scripts/tidy.sh

# Builds the `coverage` preset, starts the stack, runs the non-e2e tests, writes docs/coverage.md.
coverage: deps
	JOBS=$(JOBS) scripts/coverage.sh

# libFuzzer targets beside the code (docs/fuzzing.md), each run for FUZZ_SECONDS one after another.
FUZZ_SECONDS ?= 300
fuzz: deps
	JOBS=$(JOBS) scripts/fuzz.sh $(FUZZ_SECONDS)

stop:
	$(STACK) stop

clean:
	rm -rf build

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

format-check:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror

# Stop `make up` first: the benchmark starts its own services on 8000-8006.
bench: deps
	scripts/bench.sh
