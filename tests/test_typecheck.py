"""Type-check firmware/ against micropython-esp32-stubs with pyright (from npm).

The stubs stand in for CPython's typeshed, so a firmware call that exists
only on CPython is an error here.
"""

import json
import shutil
import subprocess

import pytest
from conftest import FIRMWARE, ROOT

pytestmark = pytest.mark.slow  # pyright

TYPINGS = ROOT / ".typings"
PYRIGHT = ROOT / "node_modules" / ".bin" / "pyright"


def _pyright(project_dir):
    if shutil.which("node") is None:
        pytest.skip("node is not installed: pyright needs it (CI installs it)")
    if not PYRIGHT.exists() or not (TYPINGS / "machine.pyi").exists():
        pytest.fail("type-check tools missing: run `make setup` (npm ci + stubs into .typings)")
    proc = subprocess.run(
        [str(PYRIGHT), "--outputjson", "-p", str(project_dir / "pyrightconfig.json")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return json.loads(proc.stdout)


def test_firmware_type_checks_against_esp32_stubs():
    report = _pyright(FIRMWARE)
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    assert report["summary"]["filesAnalyzed"] >= 5
    assert errors == [], "\n".join(f"{d['file']}:{d['range']['start']['line'] + 1}: {d['message']}" for d in errors)


def test_the_stubs_are_really_in_force(tmp_path):
    (tmp_path / "probe.py").write_text(
        "import time\n"
        "import sqlite3\n"  # CPython only: must be an error
        "t = time.ticks_ms()\n"  # MicroPython only: must resolve
    )
    config = json.loads((FIRMWARE / "pyrightconfig.json").read_text())
    config.update(typeshedPath=str(TYPINGS), stubPath=str(TYPINGS), venvPath=str(TYPINGS), include=["."], exclude=[])
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(config))
    report = _pyright(tmp_path)
    messages = [d["message"] for d in report["generalDiagnostics"] if d["severity"] == "error"]
    assert any("sqlite3" in m for m in messages), messages
    assert not any("ticks_ms" in m for m in messages), messages
