# Two commands for a newcomer: `make run` and `make test`. Both need only Python 3.11 (and Node for the SDK tests).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Only this computer by default: `make run` serves the development admin (admin@test.com / test123).
# `make run HOST=0.0.0.0` lets the rest of the network in.
HOST ?= 127.0.0.1
PORT ?= 8000
# `make run DEMO=` migrates without loading the demo office (for a database that will hold real data).
DEMO ?= --demo

.PHONY: run test lint typecheck migrate-check pytest bench clean sdk-deps frontend-lock

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

run: $(VENV)/.runtime
	$(BIN)/python scripts/migrate.py $(DEMO)
	@echo
	@echo "  Serving on http://localhost:$(PORT)  (API docs: http://localhost:$(PORT)/docs)"
	@echo "  Sign in as $${ADMIN_EMAIL:-admin@test.com} / $${ADMIN_PASSWORD:-test123} (the first admin, unless its password was changed):"
	@echo "  curl -X POST localhost:$(PORT)/api/auth/login -d \"username=$${ADMIN_EMAIL:-admin@test.com}&password=$${ADMIN_PASSWORD:-test123}\""
	@echo
	$(BIN)/uvicorn backend.main:app --host $(HOST) --port $(PORT) --timeout-graceful-shutdown 20

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy backend scripts seeds

# Models and migrations must never drift: upgrade a scratch database to head, then ask Alembic for a diff.
migrate-check: $(VENV)/.dev
	rm -f /tmp/crm-alembic-check.db
	DATABASE_URL=sqlite:////tmp/crm-alembic-check.db $(BIN)/alembic upgrade head
	DATABASE_URL=sqlite:////tmp/crm-alembic-check.db $(BIN)/alembic check
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  DATABASE_URL=$$TEST_DATABASE_URL $(BIN)/alembic upgrade head && DATABASE_URL=$$TEST_DATABASE_URL $(BIN)/alembic check; \
	fi

SDK_DIR := tests/sdk
# The Base44 SDK tests drive the real npm package; (re)install it from the lock file when that changes.
$(SDK_DIR)/node_modules/.package-lock.json: $(SDK_DIR)/package.json $(SDK_DIR)/package-lock.json
	cd $(SDK_DIR) && npm ci --no-audit --no-fund

sdk-deps:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(SDK_DIR)/node_modules/.package-lock.json; \
	else echo "npm not found: tests/test_base44_sdk.py will be skipped (needs Node 20+)"; fi

# tests/test_frontend_browser.py builds the office's Base44 export itself (npm ci + vite build, cached under
# .cache/frontend/). The export ships no lock file, so the committed tests/frontend/package-lock.json pins its
# dependencies; regenerate it after the export's package.json changes:
BASE44_FRONTEND_EXPORT ?= tests/fixtures/base44-export
frontend-lock:
	rm -rf .cache/frontend-lock && mkdir -p .cache/frontend-lock
	cp $(BASE44_FRONTEND_EXPORT)/package.json .cache/frontend-lock/
	cd .cache/frontend-lock && npm install --package-lock-only --no-audit --no-fund
	cp .cache/frontend-lock/package-lock.json tests/frontend/package-lock.json

# Two processes (pytest-xdist; the machine has two cores), each with a database of its own (tests/conftest.py).
# loadfile: a module's tests stay in one process, so module-scoped servers and data start once (xdist_group with
# loadgroup does not take effect with pytest 9.2 and xdist 3.8: xdist renames nodes through an attribute pytest
# 9 no longer reads). `make pytest PYTEST_ARGS=` runs in one process; `PYTEST_ARGS=tests/test_auth.py` one file.
PYTEST_ARGS ?= -n 2 --dist loadfile

pytest: $(VENV)/.dev sdk-deps
	@echo "== pytest on SQLite =="
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== pytest on PostgreSQL =="; \
	  $(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS); \
	fi

test: lint typecheck migrate-check pytest

bench: $(VENV)/.dev
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache $(SDK_DIR)/node_modules .cache
