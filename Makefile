# Tally: the two commands a new user needs are `make run` and `make test`.
.PHONY: run test build debug deps bench fuzz format clean

JOBS ?= $(shell nproc)
DATA_DIR ?= tally-data
LISTEN ?= 127.0.0.1:8080

deps:
	scripts/install-deps

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

debug: deps
	cmake --preset debug >/dev/null
	cmake --build --preset debug -j $(JOBS)

run: build
	scripts/run-demo "$(DATA_DIR)" "$(LISTEN)"

test: debug
	scripts/run-tests

bench:
	TALLY_WITH_BENCH=1 scripts/install-deps
	cmake --preset bench >/dev/null
	cmake --build --preset bench -j $(JOBS)
	bench/run-all

fuzz: deps
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS)

format:
	find src tests bench fuzz -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf build
