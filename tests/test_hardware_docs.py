"""hardware/: the wiring tables say what the board profiles say; the drawings and the case are valid."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from conftest import FIRMWARE, ROOT

HARDWARE = ROOT / "hardware"
BOARDS = ("esp32-devkit", "xiao-esp32c3")


def wiring_table(board: str) -> dict[str, dict[str, str]]:
    """The README's wiring table for a board: function -> {GPIO, active, wiring, profile field}."""
    text = (HARDWARE / "README.md").read_text()
    section = text[text.index(f"### A. `{board}`" if board == "esp32-devkit" else f"### B. `{board}`") :]
    lines = []
    for line in section.splitlines()[1:]:
        if line.startswith("|"):
            lines.append(line)
        elif lines:
            break  # the end of this board's table
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != len(header):
            break
        rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows


@pytest.mark.parametrize("board", BOARDS)
def test_wiring_table_matches_the_board_profile(board):
    profile = json.loads((FIRMWARE / "boards" / f"{board}.json").read_text())
    rows = wiring_table(board)
    for function, key in (("button", "button"), ("LED", "led"), ("battery sense", "battery")):
        assert rows[function]["GPIO"] == str(profile[key]["pin"]), (board, function)
    assert rows["button"]["active"].startswith(str(profile["button"]["active"]))
    assert rows["LED"]["active"].startswith(str(profile["led"]["active"]))
    assert rows["wake"]["profile field"] == f'`wake: "{profile["wake"]}"`'
    battery = profile["battery"]
    assert rows["battery sense"]["profile field"] == (
        f"`battery: {{pin: {battery['pin']}, divider: {battery['divider']}, "
        f"empty_mv: {battery['empty_mv']}, full_mv: {battery['full_mv']}}}`"
    )
    # Equal resistors give the profile's ratio.
    resistors = re.findall(r"(\d+) (k|M)Ω", rows["battery sense"]["wiring"])
    assert len(resistors) == 2 and resistors[0] == resistors[1] and battery["divider"] == 2.0


def test_c3_button_can_wake_from_deep_sleep_and_avoids_strapping_pins():
    profile = json.loads((FIRMWARE / "boards" / "xiao-esp32c3.json").read_text())
    assert profile["button"]["pin"] in range(0, 6)  # deep-sleep GPIO wake: GPIO 0-5 only
    assert profile["button"]["pin"] not in (2, 8, 9)
    devkit = json.loads((FIRMWARE / "boards" / "esp32-devkit.json").read_text())
    rtc_gpios = {0, 2, 4, 12, 13, 14, 15, 25, 26, 27, 32, 33, 34, 35, 36, 37, 38, 39}
    assert devkit["button"]["pin"] in rtc_gpios and devkit["button"]["pin"] not in (0, 2, 5, 12, 15)


@pytest.mark.parametrize("board", BOARDS)
def test_wiring_diagram_is_valid_svg_naming_the_profile_pins(board):
    path = HARDWARE / f"{board}-wiring.svg"
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    profile = json.loads((FIRMWARE / "boards" / f"{board}.json").read_text())
    for key in ("button", "led", "battery"):
        assert re.search(rf"(GPIO |IO){profile[key]['pin']}\b", text), (board, key)


@pytest.mark.slow  # OpenSCAD
def test_case_scad_renders_every_part(tmp_path):
    openscad = shutil.which("openscad")
    if openscad is None:
        pytest.skip("openscad is not installed (apt-get install openscad) to check hardware/case.scad")
    for part in ("shell", "plate", "lid"):
        out = tmp_path / f"{part}.stl"
        cmd = [openscad, "-o", str(out), "-D", f'part="{part}"', str(HARDWARE / "case.scad")]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert "WARNING" not in proc.stderr and "ERROR" not in proc.stderr, proc.stderr
        assert "Volumes:         2" in proc.stderr  # one closed solid per part
        assert out.read_text().startswith("solid")
