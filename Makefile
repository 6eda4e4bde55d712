# Two commands for a newcomer: `make run` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The real FHIR server of the integration tests lives in its own venv (its pins must not meet ours).
FHIR_VENV := .venv-fhir
FHIR_REQUIREMENTS := tests/support/fhir-server-requirements.txt
HOST ?= 127.0.0.1
PORT ?= 8080
WORKERS ?= 2

.PHONY: run test lint bench clean fhir-server

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(BIN)/activate

$(VENV)/.test-installed: $(BIN)/activate
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: $(BIN)/activate
	mkdir -p var
	CDS_MODE=$${CDS_MODE:-development} CDS_PUBLIC_BASE_URL=$${CDS_PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} \
		$(BIN)/nxp2-cds settings
	CDS_MODE=$${CDS_MODE:-development} CDS_PUBLIC_BASE_URL=$${CDS_PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} \
		$(BIN)/gunicorn --config deploy/gunicorn.conf.py --bind $(HOST):$(PORT) --workers $(WORKERS) \
		'cds_service.wsgi:app'

$(FHIR_VENV)/.installed: $(FHIR_REQUIREMENTS)
	$(PYTHON) -m venv $(FHIR_VENV)
	$(FHIR_VENV)/bin/pip install -q -r $(FHIR_REQUIREMENTS)
	touch $@

# A local FHIR R4 server on 127.0.0.1:$(FHIR_PORT) for trying the service by hand (loads FHIR_LOAD if set).
FHIR_PORT ?= 8090
fhir-server: $(BIN)/activate $(FHIR_VENV)/.installed
	$(BIN)/python scripts/fhir_server.py --port $(FHIR_PORT) $(if $(FHIR_LOAD),--load $(FHIR_LOAD))

lint: $(VENV)/.test-installed
	$(BIN)/ruff check cds_service tests scripts
	$(BIN)/mypy cds_service
	$(BIN)/lint-imports

test: lint $(FHIR_VENV)/.installed
	$(BIN)/pytest

clean:
	rm -rf $(VENV) $(FHIR_VENV) var .pytest_cache .mypy_cache .ruff_cache
