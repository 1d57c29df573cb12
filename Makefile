# The two set-up commands of the README are `make demo` and `make test`.
# Both run as root on a fresh Debian machine: the lab script installs
# docker.io, busybox-static and docker-registry when they are missing.
SHELL := /bin/bash
GO ?= go
LAB := test/lab/lab.sh
DEMO := test/demo.sh
TEST_TIMEOUT ?= 15m

.PHONY: all build demo demo-down test unit e2e bench bench-lab fmt vet

all: build

build:
	$(GO) build -o bin/swarm ./cmd/swarm

# Four real engines in network namespaces, a registry, and a manager on
# tcp://10.77.0.1:2375; prints the export line for DOCKER_HOST.
demo: build
	$(DEMO) up

demo-down:
	$(DEMO) down

# Every test: formatting, vet, unit tests, fuzz seed corpora and the
# end-to-end suite on the real-engine lab (test/e2e brings it up and down);
# then the product's packages again under the race detector (-short: the
# lab's tests ran above), where tests such as cluster's
# TestListingWhileTheCacheChanges catch unsynchronised access.
test: fmt vet
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(GO) test -count=1 -race -short -timeout $(TEST_TIMEOUT) $$($(GO) list ./... | grep -v /test/)

unit: fmt vet
	$(GO) test -count=1 -short ./...

e2e:
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) -v ./test/e2e/

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Scheduler micro-benchmarks, then the manager at 1,000 simulated engines and
# 30,000 containers (figures 1-5 of docs/benchmarks.md, appended there), then
# figure 1's load through the null proxy, the floor figure 1 is read against
# on the same machine.
bench:
	$(GO) test -run '^$$' -bench BenchmarkSchedule -benchmem ./scheduler/...
	$(GO) run ./test/bench --engines 1000 --containers 30 --docs docs/benchmarks.md
	$(GO) run ./test/bench --engines 1000 --containers 30 --floor --docs docs/benchmarks.md

# docker run -d through the manager versus straight to a real engine (root;
# brings the lab up if it is down).
bench-lab:
	$(GO) run ./test/bench --lab-only --docs docs/benchmarks.md
