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
BOARDS = tuple(sorted(p.stem for p in (FIRMWARE / "boards").glob("*.json")))
XIAOS = tuple(b for b in BOARDS if b.startswith("xiao-"))


def wiring_table(board: str) -> dict[str, dict[str, str]]:
    """The README's wiring table for a board: function -> {GPIO, active, wiring, profile field}."""
    text = (HARDWARE / "README.md").read_text()
    heading = re.search(rf"^### [A-Z][0-9]?\. `{re.escape(board)}`", text, re.M)
    assert heading is not None, f"hardware/README.md has no wiring section for {board}"
    section = text[heading.start() :]
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


def test_the_xiaos_share_the_pads():
    """One harness fits all three XIAOs: button D1, battery sense D2, LED D10; only the GPIOs differ."""
    pads = {}
    for board in XIAOS:
        rows = wiring_table(board)
        pads[board] = (rows["button"]["XIAO pad"], rows["battery sense"]["XIAO pad"], rows["LED"]["XIAO pad"])
    assert set(pads.values()) == {("D1", "D2 (A2)", "D10")}, pads


def test_the_s3_wiring_has_the_pull_up_its_ext0_wake_needs():
    rows = wiring_table("xiao-esp32s3")
    assert "100 kΩ D1 → 3V3" in rows["button"]["wiring"]
    svg = " ".join(t.text or "" for t in ET.parse(HARDWARE / "xiao-esp32s3-wiring.svg").getroot().iter())
    assert "100 kΩ" in svg and "3V3" in svg


def _openscad(tmp_path, part: str, board: str) -> subprocess.CompletedProcess:
    openscad = shutil.which("openscad")
    if openscad is None:
        pytest.skip("openscad is not installed (apt-get install openscad) to check hardware/case.scad")
    out = tmp_path / f"{board}-{part}.stl"
    cmd = [openscad, "-o", str(out), "-D", f'part="{part}"', "-D", f'board="{board}"', str(HARDWARE / "case.scad")]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # OpenSCAD
@pytest.mark.parametrize("board", XIAOS)
def test_case_scad_renders_every_part_for_each_board(tmp_path, board):
    heights = {}
    for part in ("shell", "plate", "lid"):
        proc = _openscad(tmp_path, part, board)
        assert proc.returncode == 0, proc.stderr
        assert "WARNING" not in proc.stderr and "ERROR" not in proc.stderr, proc.stderr
        assert "Volumes:         2" in proc.stderr  # one closed solid per part
        assert (tmp_path / f"{board}-{part}.stl").read_text().startswith("solid")
        echo = re.search(rf'ECHO: "{board} outside: ([\d.]+) x ([\d.]+) x ([\d.]+) mm', proc.stderr)
        assert echo is not None, proc.stderr
        heights[part] = float(echo.group(3))
    # The S3's antenna plug stands taller than the C3's and C6's shield: its case is the taller one.
    expected = {"xiao-esp32c3": 13.2, "xiao-esp32c6": 13.2, "xiao-esp32s3": 14.5}[board]
    assert set(heights.values()) == {expected}


@pytest.mark.slow  # OpenSCAD
def test_case_scad_refuses_an_unknown_board(tmp_path):
    proc = _openscad(tmp_path, "lid", "xiao-esp32h2")
    assert "unknown board xiao-esp32h2" in proc.stderr
