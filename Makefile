# twitchlog: every target sets itself up on a fresh machine (Python 3.11, node, npm).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STUBS  := micropython-esp32-stubs==1.29.0.post1

.PHONY: setup demo test bench typecheck clean

setup: $(VENV)/.installed node_modules/.installed .typings/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q setuptools==80.9.0
	$(BIN)/pip install -q --no-build-isolation -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# MicroPython's ESP32 stubs go in their own folder: in the venv their
# machine.pyi and time.pyi would leak into the companion's type checking.
# no-site is an empty environment so pyright cannot fall back on CPython's
# standard library.
.typings/.installed: $(VENV)/.installed
	$(BIN)/pip install -q --target .typings $(STUBS)
	mkdir -p .typings/no-site/lib/python3.11/site-packages
	touch $@

demo: setup
	$(BIN)/twitchlog demo --out demo-out

test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python tests/bench/run.py --out bench-results.md

typecheck: setup
	node_modules/.bin/pyright -p firmware/pyrightconfig.json

clean:
	rm -rf $(VENV) node_modules .typings .pytest_cache .hypothesis bench-results.* demo-out
