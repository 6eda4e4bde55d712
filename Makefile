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

.PHONY: run test lint docs bench clean postgres-server fhir-server chromium load load-kill wrk

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $(BIN)/activate

$(VENV)/.test-installed: $(BIN)/activate
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# Median in-process evaluation time against the JSON parse, for 50, 500 and 5,000 Observations; then the
# worklist over synthetic Bulk exports of 25,000, 50,000 and 100,000 patients (docs/worklist.md).
bench: $(BIN)/activate
	$(BIN)/python bench/evaluation.py
	$(BIN)/python bench/worklist.py

# HOST, PORT and WORKERS reach gunicorn as CDS_BIND and CDS_WORKERS, so the banner shows what runs.
RUN_ENV = CDS_MODE=$${CDS_MODE:-development} CDS_PUBLIC_BASE_URL=$${CDS_PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} \
	CDS_BIND=$(HOST):$(PORT) CDS_WORKERS=$(WORKERS)

# In development mode scripts/run_dev.py also starts a demo FHIR server holding every fixture patient (sekmet
# on 127.0.0.1:$(FHIR_PORT), installed into .venv-fhir on first use) for the demo EHR at /demo.
run: $(BIN)/activate
	mkdir -p var
	$(RUN_ENV) $(BIN)/python scripts/run_dev.py --fhir-port $(FHIR_PORT)

$(FHIR_VENV)/.installed: $(FHIR_REQUIREMENTS)
	$(PYTHON) -m venv $(FHIR_VENV)
	$(FHIR_VENV)/bin/pip install -q -r $(FHIR_REQUIREMENTS)
	touch $@

# A local FHIR R4 server on 127.0.0.1:$(FHIR_PORT) for trying the service by hand (loads FHIR_LOAD if set).
FHIR_PORT ?= 8090
fhir-server: $(BIN)/activate $(FHIR_VENV)/.installed
	$(BIN)/python scripts/fhir_server.py --port $(FHIR_PORT) $(if $(FHIR_LOAD),--load $(FHIR_LOAD))

lint: $(VENV)/.test-installed
	$(BIN)/ruff check cds_service tests scripts bench
	$(BIN)/mypy cds_service
	$(BIN)/lint-imports

test: lint postgres-server chromium wrk $(FHIR_VENV)/.installed
	$(BIN)/pytest

# The storage tests start a throw-away PostgreSQL server (tests/storage/pgserver.py) from these binaries;
# on a machine without them, as root, install Debian's package (its `postgres` user runs initdb for root).
PG_LIB ?= /usr/lib/postgresql
postgres-server:
	@if ls $(PG_LIB)/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || [ -n "$$CDS_TEST_PG_BINDIR" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "postgres-server: installing Debian's postgresql for the storage tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else \
		echo "postgres-server: the storage tests need PostgreSQL: sudo apt-get install postgresql" \
			"(or set CDS_TEST_PG_BINDIR to a folder with initdb, pg_ctl and postgres)"; exit 1; \
	fi

# Regenerate the README settings table and deploy/.env.example from the Settings in cds_service/config/ (one module per group).
docs: $(BIN)/activate
	$(BIN)/nxp2-cds docs

# Load figures (docs/performance.md): gunicorn with production settings (JWT, SQLite) driven by wrk from
# another process, 8 clients, 5 minutes by default (`make load DURATION=60`); `make load-kill` SIGKILLs a
# worker mid-run. Not part of `make test` (a 5-second version is: tests/load/).
DURATION ?=
MODE ?= steady
load: $(BIN)/activate wrk
	$(BIN)/python scripts/load/run.py --mode $(MODE) $(if $(DURATION),--duration $(DURATION)) $(LOAD_ARGS)

load-kill:
	$(MAKE) load MODE=kill

# wrk (Debian's package) drives the load; installed as for postgres-server.
wrk:
	@if command -v wrk >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "wrk: installing Debian's wrk for the load run"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	else \
		echo "wrk: the load run needs wrk: sudo apt-get install wrk"; exit 1; \
	fi

# The browser tests drive Debian's chromium through Playwright (never a browser Playwright downloads).
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "chromium: installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "chromium: the browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; \
	fi

clean:
	rm -rf $(VENV) $(FHIR_VENV) var .pytest_cache .mypy_cache .ruff_cache
