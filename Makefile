# Miles developer entry points. `make run` and `make test` do all set-up themselves.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
# Installing torch first, pinned, keeps pip on the local CPU wheel instead of CUDA builds.
TORCH_PIN := torch==2.13.0
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
# Silence pip's notes about the machine's extra local indexes; real errors still show.
PIP_FILTER := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
INSTALL_STAMP := $(VENV)/.installed
# The images' pins (layers/*.txt) as pip constraints: .venv runs the versions the images run.
CONSTRAINTS := infra/dev-constraints.txt
MODEL_SRC := miles_core/artifacts/default
MODEL_DIR ?= build/model
export MILES_MODEL_DIR ?= $(abspath $(MODEL_DIR))
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export SAM_CLI_TELEMETRY := 0

# Each area adds its targets in its own fragment (model.mk, predict.mk, scrape.mk, deploy.mk).
-include infra/make/*.mk

.PHONY: help
help: ## list targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(INSTALL_STAMP): pyproject.toml $(CONSTRAINTS)
	@echo ">> creating $(VENV) and installing Miles with all extras, pinned by $(CONSTRAINTS) (first time: ~2 min)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	set -o pipefail; $(PIP) install $(TORCH_PIN) $(PIP_FILTER)
	set -o pipefail; $(PIP) install -c $(CONSTRAINTS) -e ".[serve,train,scrape,llm,dev]" $(PIP_FILTER)
	touch $@

.PHONY: constraints
constraints: ## regenerate $(CONSTRAINTS) from layers/*.txt (commit it; make test fails when it is stale)
	$(PYTHON) infra/dev_constraints.py

.PHONY: install
install: $(INSTALL_STAMP) ## create .venv with every extra (idempotent)

# Debian packages the suite drives: qemu-user runs the model on an emulated AVX2-only CPU
# (tests/e2e/test_isa_independence.py); chromium renders the creator page (tests/e2e/test_creator_page.py).
SYSTEM_PACKAGES := qemu-user chromium
SYSTEM_COMMANDS := qemu-x86_64 chromium
APT_GET := $(if $(filter 0,$(shell id -u)),,sudo )apt-get

.PHONY: system-deps
system-deps: ## install the Debian packages the tests drive (qemu-user, chromium), if missing
	@command -v $(SYSTEM_COMMANDS) >/dev/null || { \
	  echo ">> installing $(SYSTEM_PACKAGES) (Debian packages)"; \
	  $(APT_GET) install -y -q --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null 2>&1 || \
	  { $(APT_GET) update -q >/dev/null && $(APT_GET) install -y -q --no-install-recommends $(SYSTEM_PACKAGES); }; }

.PHONY: lint
lint: install ## ruff + mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy miles_core functions infra tests

.PHONY: format
format: install ## ruff format + ruff check --fix (then `make lint` shows what is left)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

.PHONY: test
test: install sam-install system-deps ## install everything and run the whole suite (offline)
	$(MAKE) lint
	$(BIN)/python -m pytest
