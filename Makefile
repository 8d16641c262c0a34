# SagaPay's two commands: `make up` and `make test`. Everything else is a convenience.
SHELL := /bin/bash
.DEFAULT_GOAL := help
JOBS ?= $(shell nproc)
STACK := scripts/stack.sh

.PHONY: help deps build up test test-unit stop clean format format-check bench

help:
	@echo "make up          install what is missing, build, start PostgreSQL, Redis and all services"
	@echo "make test        the whole suite (unit, PostgreSQL, Redis, end to end) under ASan+UBSan"
	@echo "make test-unit   only the hermetic tests"
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
