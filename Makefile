# twitchlog: every target sets itself up on a fresh machine (Python 3.11, node, npm).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STUBS  := micropython-esp32-stubs==1.29.0.post1

.PHONY: setup demo test test-fast lint bench typecheck clean micropython

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

# The tiers a contributor skips in the fast loop (markers in pyproject.toml).
SLOW_TIERS := slow or powercut or e2e or subprocess or deploy or realruntime

# Gates: lint and format (ruff), the companion's types (mypy); pyright checks
# the firmware inside the test suite (tests/test_typecheck.py).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Everything: the gates, then every test tier, the real MicroPython runtime's included.
test: lint micropython
	$(BIN)/python -m pytest

# The contributor's loop, under a minute: ruff, then the tests outside the slow tiers on every core.
test-fast: setup
	$(BIN)/ruff check -q .
	$(BIN)/ruff format --check -q .
	$(BIN)/python -m pytest -q -n auto -m "not ($(SLOW_TIERS))"

bench: setup micropython
	$(BIN)/python tests/bench/run.py --out bench-results.md

typecheck: setup
	node_modules/.bin/pyright -p firmware/pyrightconfig.json

clean:
	rm -rf $(VENV) node_modules .typings .pytest_cache .hypothesis bench-results.* demo-out .cache

# The real runtime of `virtual-device --runtime micropython`: MicroPython's unix
# port with NimBLE, built once from Debian's source package and ../shared's
# NimBLE archive (about a minute), rebuilt only when its inputs change.
micropython:
	bash companion/twitchlog/sim/unixport/build.sh .cache/micropython
