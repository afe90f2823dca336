# Kiln — the two commands a new user needs are `make run` and `make test`.
GO        ?= go
PKGS      ?= ./...
# Test binaries and servers built from Go modules are cached here between runs.
KILN_CACHE ?= $(HOME)/.cache/kiln
export KILN_CACHE

.PHONY: run test test-deps vet fuzz bench build

build:
	$(GO) build -o bin/kiln ./cmd/kiln

# The main job: start the embedded server (SQLite, local engine, local files), run the flagship
# pipeline on the breast-cancer dataset, register the best model and serve it.
run:
	bash scripts/run.sh

test-deps:
	bash scripts/test-deps.sh

test: test-deps vet
	$(GO) test -count=1 -timeout 25m $(PKGS)
	$(MAKE) fuzz

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet $(PKGS)

# A short pass of every fuzz target; `make fuzz FUZZTIME=5m` for a longer one.
FUZZTIME ?= 10s
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
