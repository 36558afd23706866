# Deployment targets (owned by the deploy area). Included by the top-level Makefile.
#   offline, no Docker, no AWS:  sam-install, validate
#   Docker, no AWS credentials:  build, invoke-<fn>
#   AWS credentials:             deploy, logs, outputs, delete
SAM_VERSION := 1.170.0
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_VERSION)
SAMCONFIG := $(abspath infra/samconfig.toml)
ENV ?= dev
SAM_ENV := --config-file $(SAMCONFIG) --config-env $(ENV)
# Log tail: FN=PredictFunction|ScorerFunction|ScrapeApiFunction|ScrapeWorkerFunction|RecommendFunction
FN ?= PredictFunction
BUILT_TEMPLATE := .aws-sam/build/template.yaml

# aws-sam-cli pins its own boto3/click/aws-sam-translator: its own virtualenv keeps it out of .venv.
$(SAM_STAMP):
	@echo ">> creating $(SAM_VENV) with aws-sam-cli==$(SAM_VERSION)"
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	set -o pipefail; $(SAM_VENV)/bin/python -m pip --disable-pip-version-check -q install "aws-sam-cli==$(SAM_VERSION)" $(PIP_FILTER)
	touch $@

.PHONY: sam-install
sam-install: $(SAM_STAMP) ## install the pinned SAM CLI into .venv-sam (offline checks need it)

.PHONY: validate
validate: $(SAM_STAMP) install ## sam validate --lint + cfn-lint on template.yaml (offline)
	$(SAM) validate --lint --template-file template.yaml --region us-east-1
	$(BIN)/cfn-lint template.yaml

.PHONY: build
build: $(SAM_STAMP) ## sam build: the three container images (needs Docker)
	$(SAM) build --template-file template.yaml $(SAM_ENV)

.PHONY: deploy
deploy: build ## sam deploy ENV=dev|prod (needs Docker + AWS credentials)
	$(SAM) deploy $(SAM_ENV)

.PHONY: outputs
outputs: $(SAM_STAMP) ## stack outputs (API URL, API key id, secret ARNs) for ENV (AWS credentials)
	$(SAM) list stack-outputs --stack-name miles-$(ENV) --output table

.PHONY: logs
logs: $(SAM_STAMP) ## tail a deployed function's logs: make logs ENV=dev FN=PredictFunction (AWS credentials)
	$(SAM) logs --name $(FN) --tail $(SAM_ENV)

.PHONY: delete
delete: $(SAM_STAMP) ## delete the ENV stack (the table is retained; AWS credentials)
	$(SAM) delete $(SAM_ENV)

# sam local invoke: runs the built image with the event (needs Docker; `make build` first).
# MILES_MODEL_DIR etc. come from the template; AWS calls go to real AWS unless AWS_ENDPOINT_URL is set.
define invoke
	test -f $(BUILT_TEMPLATE) || $(MAKE) build
	$(SAM) local invoke $(1) --template-file $(BUILT_TEMPLATE) --event $(2)
endef

.PHONY: invoke-predict
invoke-predict: $(SAM_STAMP) ## sam local invoke PredictFunction with events/predict.json (EVENT= to change)
	$(call invoke,PredictFunction,$(or $(EVENT),events/predict.json))

.PHONY: invoke-scorer
invoke-scorer: $(SAM_STAMP) ## sam local invoke ScorerFunction with events/score_stream.json
	$(call invoke,ScorerFunction,$(or $(EVENT),events/score_stream.json))

.PHONY: invoke-scrape
invoke-scrape: $(SAM_STAMP) ## sam local invoke ScrapeApiFunction with events/scrape_job_request.json
	$(call invoke,ScrapeApiFunction,$(or $(EVENT),events/scrape_job_request.json))

.PHONY: invoke-worker
invoke-worker: $(SAM_STAMP) ## sam local invoke ScrapeWorkerFunction with events/scrape_schedule.json
	$(call invoke,ScrapeWorkerFunction,$(or $(EVENT),events/scrape_schedule.json))

.PHONY: invoke-recommend
invoke-recommend: $(SAM_STAMP) ## sam local invoke RecommendFunction with events/recommendations.json
	$(call invoke,RecommendFunction,$(or $(EVENT),events/recommendations.json))
