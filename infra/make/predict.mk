# Prediction API area (owner: predict): the local stack (infra/localstack) and the benchmark (infra/bench).
# `model` (build/model from the committed trained head) is defined in infra/make/model.mk.

PORT ?= 8000

.PHONY: run
run: install model ## serve the API on http://127.0.0.1:8000 (PORT= to change; moto + real handlers; key printed at start)
	PORT=$(PORT) $(BIN)/python -m infra.localstack

.PHONY: bench
bench: install model ## Miles vs BERT-base baseline: cold/warm/HTTP/batch/RSS -> table + .bench/results.json
	$(BIN)/python -m infra.bench --model-dir $(MILES_MODEL_DIR)

.PHONY: test-predict
test-predict: install ## only the prediction API's tests
	$(BIN)/python -m pytest tests/functional/predict tests/unit/inference -q

.PHONY: openapi
openapi: install model ## regenerate miles_core/api/openapi.json, the one OpenAPI document of every route (commit it)
	$(BIN)/python -m infra.openapi
