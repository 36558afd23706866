# Scraping area (owner: scrape). Included by the top-level Makefile.
#   scrape-once:   run the scheduled scrape once against the running `make run` stack (its stream
#                  poller then scores the new videos); NICHES="a,b" overrides MILES_NICHES.
#   export-dataset: Miles' own snapshots from the running local stack -> benchmark-schema CSV.
NICHES ?=
EXPORT_OUT ?= build/miles_snapshots.csv

.PHONY: scrape-once
scrape-once: install ## scrape every niche once into the running `make run` stack (needs network for YouTube)
	$(BIN)/python -m infra.localstack attach scrape $(if $(NICHES),--niches "$(NICHES)")

.PHONY: export-dataset
export-dataset: install ## write the local stack's snapshots as a benchmark CSV ($(EXPORT_OUT))
	$(BIN)/python -m infra.localstack attach export-dataset --out $(EXPORT_OUT)

.PHONY: test-scrape
test-scrape: install ## only the scrape area's tests (moto, recorded responses, offline)
	$(BIN)/python -m pytest tests/unit/scraping tests/unit/store tests/functional/scrape -q
