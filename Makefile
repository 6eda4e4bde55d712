# Two commands for a newcomer: `make run` and `make test`. Both create .venv and install what they need, and
# say what they do and why, one line a step.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The real FHIR server of the integration tests and of `make run`'s demo lives in its own venv (its pins must
# not meet ours), installed from its own lock file.
FHIR_VENV := .venv-fhir
FHIR_REQUIREMENTS := tests/support/fhir-server-requirements.txt
FHIR_LOCK := tests/support/fhir-server-requirements.lock
HOST ?= 127.0.0.1
PORT ?= 8080
FHIR_PORT ?= 8090
WORKERS ?= 2
SAY = @printf 'make: %s\n'

# uv (from PyPI) installs the versions pinned in uv.lock, many times faster than pip. The one on PATH is used;
# on a machine without it, pip installs it once into .uv/ (`make clean` removes it). Never a downloaded Python.
UV_HOME := .uv
UV ?= $(or $(shell command -v uv 2>/dev/null),$(UV_HOME)/bin/uv)
export UV_PYTHON_DOWNLOADS := never

.PHONY: run run-preflight test install-test system-packages lint docs bench first-start lock clean \
	postgres-server chromium wrk nginx fhir-server load load-kill

$(UV_HOME)/bin/uv:
	$(SAY) "installing uv (PyPI's fast pip-compatible installer) into $(UV_HOME)/ with pip, once"
	@$(PYTHON) -m pip install -q --disable-pip-version-check --root-user-action=ignore --target $(UV_HOME) 'uv>=0.9,<1'

# --inexact: `make run` after `make test` keeps the test tools. If pyproject.toml changed without uv.lock, uv
# resolves again and rewrites uv.lock; the line after says so.
$(BIN)/activate: pyproject.toml uv.lock | $(UV)
	$(SAY) "creating $(VENV): the service and its dependencies at the versions pinned in uv.lock (uv sync)"
	@$(UV) sync -q --inexact --python $(PYTHON)
	@git diff --quiet -- uv.lock 2>/dev/null || echo "make: uv.lock did not match pyproject.toml; uv rewrote it: commit it"
	@touch $@

$(VENV)/.test-installed: $(BIN)/activate
	$(SAY) "adding the test tools (pytest, ruff, mypy, playwright, ...) to $(VENV) at the versions in uv.lock"
	@$(UV) sync -q --inexact --extra test --python $(PYTHON)
	@touch $@

$(FHIR_VENV)/.installed: $(FHIR_LOCK) | $(UV)
	$(SAY) "installing the demo and test FHIR server (sekmet-fhir, pinned in $(FHIR_LOCK)) into its own $(FHIR_VENV)/"
	@$(UV) venv -q --allow-existing --python $(PYTHON) $(FHIR_VENV)
	@$(UV) pip install -q --python $(FHIR_VENV)/bin/python -r $(FHIR_LOCK)
	@touch $@

# After changing dependencies in pyproject.toml or $(FHIR_REQUIREMENTS): pin them again, and commit both locks.
lock: | $(UV)
	$(UV) lock
	$(UV) pip compile -q --universal --python-version 3.11 $(FHIR_REQUIREMENTS) -o $(FHIR_LOCK)

# HOST, PORT and WORKERS reach gunicorn as CDS_BIND and CDS_WORKERS, so the banner shows what runs.
RUN_ENV = CDS_MODE=$${CDS_MODE:-development} CDS_PUBLIC_BASE_URL=$${CDS_PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} \
	CDS_BIND=$(HOST):$(PORT) CDS_WORKERS=$(WORKERS)

# In development mode scripts/run_dev.py starts gunicorn first, then the demo FHIR server holding every fixture
# patient (sekmet on 127.0.0.1:$(FHIR_PORT), installed into .venv-fhir on first use) for the demo EHR at /demo,
# which says "loading patients" meanwhile. run-preflight checks both ports, and that no running instance uses
# var/, before anything is installed or touched. `exec`: make's signals reach run_dev.py, not a shell.
run: run-preflight $(BIN)/activate | $(UV)
	@mkdir -p var
	@exec env $(RUN_ENV) UV=$(UV) $(BIN)/python scripts/run_dev.py --fhir-port $(FHIR_PORT)

run-preflight:
	@env $(RUN_ENV) $(PYTHON) scripts/run_dev.py --preflight --fhir-port $(FHIR_PORT)

# A local FHIR R4 server on 127.0.0.1:$(FHIR_PORT) for trying the service by hand (docs/security.md): loads the
# Bundles or folders in FHIR_LOAD (collection Bundles as `make run` loads them) and accepts only the bearer
# token FHIR_TOKEN (`make fhir-server FHIR_TOKEN=` serves without authentication).
FHIR_TOKEN ?= dev-token
fhir-server: $(BIN)/activate $(FHIR_VENV)/.installed
	$(BIN)/python scripts/fhir_server.py --port $(FHIR_PORT) $(if $(FHIR_TOKEN),--token $(FHIR_TOKEN),--no-token) \
		$(foreach bundle,$(FHIR_LOAD),--load $(bundle))

lint: $(VENV)/.test-installed
	$(BIN)/ruff check cds_service tests scripts bench
	$(BIN)/mypy cds_service
	$(BIN)/lint-imports

test: install-test
	@$(MAKE) --no-print-directory lint
	$(BIN)/pytest

# The three installs at the same time (uv's cache is safe to share; apt-get runs once, in system-packages).
install-test: | $(UV)
	@$(MAKE) --no-print-directory -j3 $(VENV)/.test-installed $(FHIR_VENV)/.installed system-packages

# Debian packages the tests need (PostgreSQL for the storage tests, chromium for the browser tests, wrk for
# the load test): scripts/system_packages.sh says which are missing and why, then as root installs them with
# one apt-get, otherwise prints the line to run.
system-packages:
	@sh scripts/system_packages.sh postgresql chromium wrk nginx
postgres-server:
	@sh scripts/system_packages.sh postgresql
chromium:
	@sh scripts/system_packages.sh chromium
wrk:
	@sh scripts/system_packages.sh wrk

# Regenerate the README settings table and deploy/.env.example from the Settings in cds_service/config/ (one module per group).
docs: $(BIN)/activate
	$(BIN)/nxp2-cds docs

# Median in-process evaluation time against the JSON parse, for 50, 500 and 5,000 Observations.
bench: $(BIN)/activate
	$(BIN)/python bench/evaluation.py
	$(BIN)/python bench/worklist.py

# The time from `make run` on a fresh clone (no package cache, no uv) to discovery answering: a figure.
first-start:
	$(PYTHON) scripts/first_start.py

# Load figures (docs/performance.md): gunicorn with production settings (JWT, SQLite) driven by wrk from
# another process, 8 clients, 5 minutes by default (`make load DURATION=60`); `make load-kill` SIGKILLs a
# worker mid-run; `make load MODE=db-outage` stops a local PostgreSQL mid-run and prints per-second statuses
# (scripts/load/outage.py; `LOAD_ARGS="--kind freeze"` freezes it instead). CDS_DATABASE_URL, when set,
# runs the steady load on that PostgreSQL. Not part of `make test` (a 5-second version is: tests/load/).
DURATION ?=
MODE ?= steady
load: $(BIN)/activate wrk
	$(BIN)/python scripts/load/run.py --mode $(MODE) $(if $(DURATION),--duration $(DURATION)) $(LOAD_ARGS)

load-kill:
	$(MAKE) load MODE=kill

nginx:
	@sh scripts/system_packages.sh nginx

clean:
	rm -rf $(VENV) $(FHIR_VENV) $(UV_HOME) var .pytest_cache .mypy_cache .ruff_cache
