# Two commands for a newcomer: `make run` and `make test`. Both create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
WORKERS ?= 2

.PHONY: run test lint bench clean

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(BIN)/activate

$(VENV)/.test-installed: $(BIN)/activate
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# Median in-process evaluation time against the JSON parse, for 50, 500 and 5,000 Observations.
bench: $(BIN)/activate
	$(BIN)/python bench/evaluation.py

run: $(BIN)/activate
	mkdir -p var
	CDS_MODE=$${CDS_MODE:-development} CDS_PUBLIC_BASE_URL=$${CDS_PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} \
		$(BIN)/nxp2-cds settings
	CDS_MODE=$${CDS_MODE:-development} CDS_PUBLIC_BASE_URL=$${CDS_PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} \
		$(BIN)/gunicorn --config deploy/gunicorn.conf.py --bind $(HOST):$(PORT) --workers $(WORKERS) \
		'cds_service.wsgi:app'

lint: $(VENV)/.test-installed
	$(BIN)/ruff check cds_service tests
	$(BIN)/mypy cds_service
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
