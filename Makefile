# indexd — the two commands: `make run` (embedded default) and `make test`.
GO ?= go
export INDEXD_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/datacommons/indexd/internal/app.Version=$(VERSION) -X github.com/datacommons/indexd/internal/app.Commit=$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

.PHONY: run test build vet unit integration fuzz soak bench clean

## run: the embedded default — local database, demo policy and data, serves on 127.0.0.1:8080
run:
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/indexd run

## test: build, vet, unit and integration tests against a real PostgreSQL, then a short fuzz run
test: build vet
	$(GO) test -count=1 -race -timeout 20m ./...
	$(MAKE) fuzz FUZZTIME=5s

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/indexd ./cmd/indexd

vet:
	$(GO) vet ./...

FUZZTIME ?= 30s
## fuzz: run every fuzz target for FUZZTIME each; print each target's executions.
## Go 1.26's fuzz coordinator can report "context deadline exceeded" at the
## FUZZTIME boundary with no failing input (golang/go#75804, fixed in Go
## 1.27): such a run is said so and repeated, at most twice; any other
## failure, or a failing input written, fails at once.
fuzz:
	@for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$spec/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    tries=0; \
	    while :; do \
	      out=$$(mktemp); \
	      if $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$spec >$$out 2>&1; then \
	        echo "fuzz $$spec $$f: $$(grep '^fuzz: elapsed' $$out | tail -n 1 | sed 's/^fuzz: //')"; \
	        rm -f $$out; break; \
	      fi; \
	      if [ $$tries -lt 2 ] && grep -qx '    context deadline exceeded' $$out && ! grep -q 'Failing input written to' $$out; then \
	        tries=$$((tries + 1)); rm -f $$out; \
	        echo "fuzz $$spec $$f: \"context deadline exceeded\" at the fuzztime boundary, no failing input (golang/go#75804): running it again"; \
	        continue; \
	      fi; \
	      echo "fuzz $$spec $$f FAILED:"; cat $$out; rm -f $$out; exit 1; \
	    done; \
	  done; \
	done

SOAKLOG ?= $(shell mktemp -t indexd-soak.XXXXXX)
## soak: the long versions of the property and fault tests; prints their
## figures (the full log is kept in SOAKLOG), then fuzzes each target for 2m
soak:
	@log=$(SOAKLOG); echo "soak: INDEXD_SOAK=1 go test ./integration/... (log: $$log)"; \
	  INDEXD_SOAK=1 $(GO) test -count=1 -v -timeout 60m ./integration/... >$$log 2>&1; rc=$$?; \
	  grep -h 'figures:' $$log | sed 's/^ *[a-z_]*\.go:[0-9]*: figures: /  /'; \
	  if [ $$rc -ne 0 ]; then grep -v '^=== ' $$log | grep -A 20 -e '--- FAIL' -e '^panic' | head -n 200; exit $$rc; fi
	$(MAKE) fuzz FUZZTIME=2m

## bench: load harness at BENCH_N records (default 1,000,000) plus Go benchmarks
BENCH_N ?= 1000000
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./api/... ./repository/... ./discovery/...
	$(GO) run ./cmd/indexd bench -n $(BENCH_N)

clean:
	rm -rf bin .devdb
