# SagaPay's two commands: `make up` and `make test`. Everything else is a convenience.
SHELL := /bin/bash
.DEFAULT_GOAL := help
JOBS ?= $(shell nproc)
STACK := scripts/stack.sh
# The event bus of `make up` and `make bench`: redis (Redis Streams, the default) or kafka (a
# private Kafka broker beside PostgreSQL and Redis, docs/kafka.md).
BUS ?= redis
# Several instances of services: `make up REPLICAS=orchestrator=2,provider=3`.
REPLICAS ?=
# `make bench TRACING=1`: the comparison without and with OTLP trace export (docs/tracing.md).
TRACING ?=

.PHONY: help deps build up test test-unit test-tsan tidy coverage fuzz stop clean format format-check bench profile simulate apifuzz chaos

help:
	@echo "make up          install what is missing, build, start PostgreSQL, Redis and all services;"
	@echo "                 BUS=kafka also starts a Kafka broker and runs the saga on it (docs/kafka.md);"
	@echo "                 REPLICAS=orchestrator=2,provider=3 runs several instances"
	@echo "make test        the whole suite (unit, PostgreSQL, Redis, Kafka, end to end, both buses)"
	@echo "                 under ASan+UBSan"
	@echo "make test-unit   only the hermetic tests"
	@echo "make test-tsan   the hermetic, PostgreSQL and Redis tests under ThreadSanitizer"
	@echo "make tidy        clang-tidy (.clang-tidy) over every source; fails on any finding"
	@echo "make coverage    line coverage per folder of the non-e2e tests (docs/coverage.md);"
	@echo "                 COVERAGE_ENFORCE=1 fails below 85 % of services/ or 90 % of core/"
	@echo "make apifuzz     schemathesis against the live services per docs/openapi.yaml (no 5xx,"
	@echo "                 answers as documented, nothing written by a refused request);"
	@echo "                 APIFUZZ_MAX_EXAMPLES (100) cases per operation, docs/api-fuzzing.md"
	@echo "make fuzz        the libFuzzer targets (clang-14, ASan+UBSan), FUZZ_SECONDS each (300);"
	@echo "                 fails on any crash, leaving the input in build/fuzz/artifacts/"
	@echo "make stop        stop the private PostgreSQL, Redis and Kafka"
	@echo "make bench       the benchmarks (docs/benchmarks.md); BUS=kafka and/or REPLICAS=2 instead run"
	@echo "                 the comparison with Redis and one instance (section Buses and instances);"
	@echo "                 TRACING=1 the same with and without OTLP trace export (docs/tracing.md)"
	@echo "make profile     CPU per settled payment by process and PostgreSQL's statements over a"
	@echo "                 closed loop (var/profile/report.md); PROFILE_DURATION (30), PROFILE_WARMUP=full|short,"
	@echo "                 PROFILE_RATE=n (an open loop offering n payments/s instead)"
	@echo "make simulate    the deterministic saga simulation: SEEDS=N (default 10000) [FIRST=S],"
	@echo "                 or SEED=S alone with every step printed (tests/sim/README.md)"
	@echo "make chaos       load + killed services, crashed PostgreSQL/Redis on a private stack, then"
	@echo "                 the invariants (docs/chaos.md); DURATION=120 SEED=… RATE=15; CHAOS_BUS=kafka"
	@echo "                 on a three-broker Kafka whose brokers are SIGKILLed too"
	@echo "make format      clang-format every C++ file"

deps:
	@scripts/deps.sh

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release --target sagapay -j $(JOBS)

up: build
	EVENT_BUS=$(BUS) ./build/release/app/sagapay up $(if $(REPLICAS),--replicas $(REPLICAS))

# CI runs this on a fresh machine: installs, builds with warnings as errors under ASan+UBSan,
# starts the private stack with its Kafka broker (the `kafka` tests fail without one) and runs
# every test.
test: deps
	cmake --preset ci >/dev/null
	cmake --build --preset ci -j $(JOBS)
	SAGAPAY_BUS=kafka $(STACK) start
	eval "$$(SAGAPAY_BUS=kafka $(STACK) env)" && ctest --preset ci -j $(JOBS) --timeout 600

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

# The deterministic simulation over many seeds (make test runs 10,000 under ASan), or one seed
# with its every step: a failing seed prints `make simulate SEED=…`.
SEEDS ?= 10000
FIRST ?= 1
simulate: deps
	cmake --preset release >/dev/null
	cmake --build --preset release --target simulate -j $(JOBS)
	./build/release/tests/sim/simulate $(if $(SEED),--seed $(SEED),--seeds $(SEEDS) --first $(FIRST))

# Property-based API fuzzing (scripts/apifuzz.sh): a venv in var/apifuzz, the `ci` build (built
# if missing; APIFUZZ_PRESET to change), services on ports 18000-18006 with their own databases.
apifuzz: deps
	scripts/apifuzz.sh

# Stop `make up` first: the benchmark starts its own services on 8000-8006.
bench: deps
	BENCH_BUS=$(BUS) BENCH_REPLICAS=$(REPLICAS) BENCH_TRACING=$(TRACING) scripts/bench.sh

# Chaos under load on a private stack (var/chaos) with its own ports: never the dev stack. Uses
# the ASan+UBSan `ci` build (built by `make test` already in CI); CHAOS_PRESET=release for speed.
CHAOS_PRESET ?= ci
# CHAOS_BUS=kafka: the saga on a private three-broker Kafka, whose brokers are killed too.
CHAOS_BUS ?= redis
# Where a settled payment's time goes: CPU per process and PostgreSQL's statements over a closed
# loop (scripts/profile.sh; PROFILE_DURATION, PROFILE_WARMUP=full|short, PROFILE_BUS, PROFILE_RATE).
profile: deps
	scripts/profile.sh

chaos: deps
	cmake --preset $(CHAOS_PRESET) >/dev/null
	cmake --build --preset $(CHAOS_PRESET) --target sagapay -j $(JOBS)
	CHAOS_PRESET=$(CHAOS_PRESET) DURATION=$(DURATION) SEED=$(SEED) RATE=$(RATE) \
	  CHAOS_BUS=$(CHAOS_BUS) scripts/chaos.sh
