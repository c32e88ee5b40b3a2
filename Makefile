# The repository root is also the synthetic sample event: `make` builds
# bethel and runs it on the sample, `make test` runs every test.
GO      ?= go
BETHEL  := bin/bethel

.PHONY: all build install test test-deps vet fmt-check bench fuzz clean-bin

all: build
	./$(BETHEL) make

# bethel is built without cgo: a static binary starts without the dynamic
# loader and libc (about 1.4 ms of every command; scripts/bench-engine.sh),
# and nothing in it needs C (DNS goes through Go's resolver).
build:
	CGO_ENABLED=0 $(GO) build -o $(BETHEL) ./cmd/bethel

# install puts bethel on PATH: into $(go env GOBIN), or $(go env GOPATH)/bin.
install:
	CGO_ENABLED=0 $(GO) install ./cmd/bethel

fmt-check:
	@out=$$(gofmt -l cmd pkg test); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The browser tests need Chromium: test-deps installs it when it can (as
# root with apt-get), or says how.
test-deps:
	@bash scripts/test-deps.sh

test: fmt-check vet test-deps
	$(GO) test -count=1 -timeout 20m ./...

# Benchmarks: Go benchmarks, then every scripts/bench-*.sh (each prints its
# own table; see docs/developing.md, Performance).
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./...
	@for s in scripts/bench-*.sh; do [ -f "$$s" ] || continue; echo "== $$s"; bash "$$s" || exit 1; done

# Short fuzzing of every fuzz target (FUZZTIME per target); finds land in
# each package's testdata/fuzz and must be committed as regression seeds.
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean-bin:
	rm -rf bin
