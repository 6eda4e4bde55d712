# Two commands for a newcomer: `make run` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
WORKERS ?= 2

.PHONY: run test lint docs bench clean

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(BIN)/activate

$(VENV)/.test-installed: $(BIN)/activate
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# HOST, PORT and WORKERS reach gunicorn as CDS_BIND and CDS_WORKERS, so the banner shows what runs.
RUN_ENV = CDS_MODE=$${CDS_MODE:-development} CDS_PUBLIC_BASE_URL=$${CDS_PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} \
	CDS_BIND=$(HOST):$(PORT) CDS_WORKERS=$(WORKERS)

run: $(BIN)/activate
	mkdir -p var
	$(RUN_ENV) $(BIN)/nxp2-cds settings
	$(RUN_ENV) $(BIN)/gunicorn --config deploy/gunicorn.conf.py 'cds_service.wsgi:app'

lint: $(VENV)/.test-installed
	$(BIN)/ruff check cds_service tests
	$(BIN)/mypy cds_service
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

# Regenerate the README settings table and deploy/.env.example from the Settings in cds_service/config.py.
docs: $(BIN)/activate
	$(BIN)/nxp2-cds docs

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
