"""Shared test setup.

Firmware modules are flat on the device (``import protocol``); tests import
them the same way, so the firmware directory goes first on sys.path.
"""

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
PORTABLE = Path(__file__).resolve().parent / "portable"
for path in (FIRMWARE, PORTABLE):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


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
