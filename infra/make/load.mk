# Load check: a bounded loopback load against `make run`'s stack. Included by the Makefile.
LOAD_SECONDS ?= 60
LOAD_CONCURRENCY ?= 4

.PHONY: load
load: install model ## bounded loopback load (LOAD_SECONDS=60) on make run's stack: req/s, p50/p99; fails on 5xx or lost items
	$(BIN)/python -m infra.load --model-dir $(MILES_MODEL_DIR) --duration $(LOAD_SECONDS) --concurrency $(LOAD_CONCURRENCY)
