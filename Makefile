# The front door. `make demo` runs the main job locally; `make test` runs the suite.
VENV ?= .venv
PY   := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: install test demo bench lint dashboards
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

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
