# Two commands for a newcomer: `make run` and `make test`. Both need only Python 3.11 (and Node for the SDK tests).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 0.0.0.0
PORT ?= 8000

.PHONY: run test lint typecheck migrate-check pytest bench clean

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
	$(BIN)/python scripts/migrate.py --demo
	@echo
	@echo "  Serving on http://localhost:$(PORT)  (API docs: http://localhost:$(PORT)/docs)"
	@echo "  Sign in as $${ADMIN_EMAIL:-admin@test.com} / $${ADMIN_PASSWORD:-test123}:"
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

pytest: $(VENV)/.dev
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
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
