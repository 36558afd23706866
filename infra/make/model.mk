# Model area: train the shipped model, build the serving artifact. Included by the Makefile.
# MODEL_SRC (miles_core/artifacts/default) holds the committed trained head, spec, card, tokenizer;
# MODEL_DIR (build/model, exported as MILES_MODEL_DIR) receives the ONNX serving artifact.

TRAIN_DATA ?= infra/data/benchmark/miles_benchmark_dev.csv.gz
MODEL_SOURCES := $(wildcard $(MODEL_SRC)/*.json $(MODEL_SRC)/*.jsonl $(MODEL_SRC)/*.safetensors)
MODEL_CODE := $(wildcard miles_core/training/*.py miles_core/features/*.py)

# The artifact is rebuilt only when missing or older than the committed head or the export code.
$(MODEL_DIR)/model.onnx: $(MODEL_SOURCES) $(MODEL_CODE) | $(INSTALL_STAMP)
	@echo ">> building the serving artifact in $(MODEL_DIR) from $(MODEL_SRC)"
	$(BIN)/miles export --model $(MODEL_SRC) --out $(MODEL_DIR)
	touch $@

.PHONY: model
model: $(INSTALL_STAMP) $(MODEL_DIR)/model.onnx ## build the ONNX serving artifact into $(MODEL_DIR) (only when stale)

.PHONY: train
train: $(INSTALL_STAMP) ## retrain the shipped model on $(TRAIN_DATA) into $(MODEL_SRC) (~3 min cold, 2 cores)
	$(BIN)/miles train --data $(TRAIN_DATA) --out $(MODEL_SRC)

.PHONY: evaluate
evaluate: model ## score $(TRAIN_DATA)'s val split with the built artifact (EVAL_DATA/EVAL_SPLIT to override)
	$(BIN)/miles evaluate --model $(MODEL_DIR) --data $(or $(EVAL_DATA),$(TRAIN_DATA)) $(if $(EVAL_SPLIT),--split $(EVAL_SPLIT),$(if $(EVAL_DATA),,--split val)) --json
