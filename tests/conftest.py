"""Shared test setup.

Firmware modules are flat on the device (``import protocol``); tests import
them the same way, so the firmware directory goes first on sys.path.  The
helpers shared with the benchmarks are the package tests/support, imported
as ``support.<module>`` with tests/ on sys.path (pytest's default import mode
puts it there for this conftest; it is added here too so that does not
depend on the import mode).
"""

import os
import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# Hypothesis fails an example that runs past a deadline: a timed assertion,
# and these machines are shared and noisy.  Speed is measured by `make bench`.
settings.register_profile("twitchlog", deadline=None)
settings.load_profile("twitchlog")

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
FIRMWARE = ROOT / "firmware"
PORTABLE = TESTS / "portable"
for path in (TESTS, FIRMWARE, PORTABLE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# support.fixtures: `sim`, the rigs' event loop and teardown.  pytester runs
# a nested pytest to prove that teardown survives a failing test.
pytest_plugins = ["support.fixtures", "pytester"]


def node_runtime():
    """(node, runner) for real MicroPython, or skip with the reason."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the MicroPython WebAssembly tests need it (CI installs it)")
    pkg = ROOT / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
    if not pkg.exists():
        if os.environ.get("CI"):
            pytest.fail("node_modules missing on CI: `npm ci` did not run")
        pytest.skip("the MicroPython runtime is not installed: run `npm ci` (make setup does)")
    return node, ROOT / "tests" / "mp" / "run.mjs"
