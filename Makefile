# The front door. `make demo` runs the main job locally; `make test` runs the suite.
VENV ?= .venv
PY   := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: install test demo bench lint dashboards lock
install: $(VENV)/.installed

# Exactly the tested versions (hashes checked), then the project itself without resolving anything.
$(VENV)/.installed: pyproject.toml requirements-test.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r requirements-test.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# Regenerate both locks from pyproject.toml (after adding or changing a dependency), then `make install`.
# requirements.lock: what the service needs (the Docker image installs it); requirements-test.lock: plus [test].
LOCK := $(VENV)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	test -x $(VENV)/bin/uv || $(PY) -m pip install -q uv
	$(LOCK) -o requirements.lock
	$(LOCK) --extra test -o requirements-test.lock

# The TimescaleDB tier's test double (tools/timescale: PGlite + TimescaleDB over the wire), from the lock.
TSDB := tools/timescale
$(TSDB)/node_modules/.installed: $(TSDB)/package-lock.json
	npm ci --prefix $(TSDB) --no-audit --no-fund
	touch $@

# axe-core for the entry page's accessibility test (tests/test_web_browser.py), from the lock.
AXE := tools/axe
$(AXE)/node_modules/.installed: $(AXE)/package-lock.json
	npm ci --prefix $(AXE) --no-audit --no-fund
	touch $@

test: install $(TSDB)/node_modules/.installed $(AXE)/node_modules/.installed
	$(PY) -m pytest

demo: install
	$(VENV)/bin/ingester demo

dashboards: install
	$(PY) -m ingester.grafana.build

bench: install
	$(PY) bench/ingest.py
