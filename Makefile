# Messanger: `make run` serves the app at http://localhost:8000, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test setup setup-dev migrate css lint bench reliability

run: setup migrate  ## set up, migrate the database and serve http://localhost:8000
	PORT=$(PORT) $(PY) run.py

test: setup-dev  ## set up the test tools and run the linter and the whole test suite
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n auto

setup: $(VENV)/.runtime-installed
setup-dev: $(VENV)/.dev-installed

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-venv.txt

$(VENV)/.runtime-installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

migrate: setup  ## bring the database (default: instance/messenger.db) to the current schema
	$(VENV)/bin/flask db upgrade

css:  ## rebuild app/static/css/app.css from the templates (needs Node)
	npm ci --no-audit --no-fund
	npm run build:css

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: setup-dev  ## benchmark: bench/results/ (JSON, latency plot) and docs/performance.md (~15 min)
	$(PY) -m bench

reliability: setup-dev  ## fault, fuzz, model-check and abuse suites, writing docs/reliability.md (FULL=1: full counts; ADVISORIES=PATH: audit the pins)
	$(PY) -m tests.reliability $(if $(FULL),--full,) $(if $(ADVISORIES),--advisories $(ADVISORIES),)
