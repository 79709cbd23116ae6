"""The portable firmware-core tests, run again under real MicroPython.

Uses the npm package @micropython/micropython-webassembly-pyscript through
tests/mp/run.mjs, which turns uncaught exceptions and sys.exit(n) into the
process exit code (the package's own CLI always exits 0).
"""

import subprocess

import pytest
from conftest import FIRMWARE, PORTABLE, node_runtime

PORTABLE_MODULES = sorted(p.stem for p in PORTABLE.glob("test_*_core.py"))


def test_every_firmware_core_area_has_portable_tests():
    assert {"test_protocol_core", "test_eventlog_core", "test_gestures_core", "test_clock_core"} <= set(
        PORTABLE_MODULES
    )


@pytest.mark.parametrize("module", PORTABLE_MODULES)
def test_portable_suite_passes_under_micropython(module):
    node, runner = node_runtime()
    proc = subprocess.run(
        [node, str(runner), "--path", str(FIRMWARE), "--path", str(PORTABLE), str(PORTABLE / "runtests.py"), module],
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"under MicroPython:\n{output}"
    assert " passed, 0 failed" in output, output


def test_runner_reports_failures_as_exit_codes(tmp_path):
    node, runner = node_runtime()
    failing = tmp_path / "boom.py"
    failing.write_text("import sys\nsys.exit(7)\n")
    assert subprocess.run([node, str(runner), str(failing)], capture_output=True).returncode == 7
    failing.write_text("raise ValueError('x')\n")
    assert subprocess.run([node, str(runner), str(failing)], capture_output=True).returncode == 1
    failing.write_text("import sys\nprint(sys.implementation.name)\n")
    proc = subprocess.run([node, str(runner), str(failing)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "micropython"
