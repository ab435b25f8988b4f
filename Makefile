# Messanger: `make run` serves the app at http://localhost:8000, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
NPM ?= npm
# npm writes this file on every install: older than package-lock.json means node_modules is stale.
JS_DEPS := node_modules/.package-lock.json

.PHONY: run test setup setup-dev setup-js migrate css lint bench audit reliability

run: setup migrate  ## set up, migrate the database and serve http://localhost:8000
	PORT=$(PORT) $(PY) run.py

test: setup-dev setup-js  ## set up the test tools and run the linters, the browser modules' tests and the whole test suite
	$(VENV)/bin/ruff check .
	$(NPM) run --silent lint
	$(NPM) test
	$(PY) -m pytest -n auto

setup: $(VENV)/.runtime-installed
setup-dev: $(VENV)/.dev-installed
setup-js: $(JS_DEPS)

$(JS_DEPS): package-lock.json
	$(NPM) ci --no-audit --no-fund --loglevel=error
	touch $@

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

css: setup-js  ## rebuild app/static/css/app.css from the templates (needs Node)
	$(NPM) run build:css

lint: setup-dev setup-js  ## ruff on the Python, ESLint on the JavaScript
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(NPM) run --silent lint

bench: setup-dev  ## benchmark: bench/results/ (JSON, latency plot) and docs/performance.md (~15 min)
	$(PY) -m bench

audit: setup-dev setup-js  ## Lighthouse on the login, home and chat pages (mobile, desktop): bench/results/lighthouse/ and docs/performance.md (~5 min; CHROME_PATH, default /usr/bin/chromium)
	$(PY) -m bench.lighthouse

reliability: setup-dev  ## fault, fuzz, model-check and abuse suites, writing docs/reliability.md (FULL=1: full counts; ADVISORIES=PATH: audit the pins)
	$(PY) -m tests.reliability $(if $(FULL),--full,) $(if $(ADVISORIES),--advisories $(ADVISORIES),)
