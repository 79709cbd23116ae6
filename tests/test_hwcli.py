"""`power` and `deploy` through click's CliRunner, on the command objects the root CLI registers."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from rich.console import Console
from test_deploy import SerialBoard

from twitchlog.cli import hw as hwcli
from twitchlog.errors import UserError


@pytest.fixture
def board():
    b = SerialBoard()
    yield b
    b.close()


def test_every_command_has_help():
    for command in (hwcli.power_command, hwcli.deploy_command):
        assert command.help and len(command.help) > 40
        result = CliRunner().invoke(command, ["--help"])
        assert result.exit_code == 0 and "--board" in result.output


def test_power_defaults_print_the_table_and_the_life():
    result = CliRunner().invoke(hwcli.power_command, [])
    assert result.exit_code == 0, result.output
    # The recommended XIAO ESP32-C6: 400 mAh / 0.6523064 mAh a day = 613 days = 20.1 months
    # (tests/test_power.py works it by hand)
    text = " ".join(result.output.split())  # rich wraps at the runner's 80 columns
    assert "Charge per day: xiao-esp32c6, 20 events/day + 1 syncs/day" in text
    assert "Estimated life: 613 days (20.1 months) on 400 mAh, meets the 12-month goal" in text
    assert "deep sleep dominates (53%)" in text
    for part in (
        "event windows",
        "battery divider",
        "sync windows",
        "boot per wake",
        "flash erase per append",
        "0.6523",
    ):
        assert part in result.output
    assert "What reaches the goal" not in text


@pytest.mark.parametrize(
    ("board", "life", "verdict"),
    [
        ("xiao-esp32s3", "695 days (22.8 months)", "meets"),
        ("xiao-esp32c6", "613 days (20.1 months)", "meets"),
        ("xiao-esp32c3", "298 days (9.8 months)", "short of"),
        ("esp32-devkit", "3 days (0.1 months)", "short of"),
    ],
)
def test_power_for_each_board(board, life, verdict):
    result = CliRunner().invoke(hwcli.power_command, ["--board", board])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert f"Charge per day: {board}," in text
    assert f"Estimated life: {life} on 400 mAh, {verdict} the 12-month goal" in text
    if verdict == "short of":  # and the way out names the board that reaches it
        assert "What reaches the goal: hardware/POWER.md (try --board xiao-esp32c6" in text


def test_power_options_reach_the_model():
    args = ["--board", "xiao-esp32c3", "--events-per-day", "10", "--syncs-per-day", "0", "--battery-mah", "100"]
    args += ["--event-window-s", "0", "--divider-ohms", "0", "--sleep-ua", "10"]
    result = CliRunner().invoke(hwcli.power_command, args)
    assert result.exit_code == 0, result.output
    # the round-numbers example of tests/test_power.py: 100 / 0.3366725 = 297 days = 9.8 months
    text = " ".join(result.output.split())
    assert "Estimated life: 297 days (9.8 months) on 100 mAh" in text
    assert "deep sleep dominates" in text
    divider = next(line for line in result.output.splitlines() if "battery divider" in line)
    assert "0.0000" in divider and "none" in divider  # --divider-ohms 0: a switched divider


def test_power_with_an_unknown_board_is_a_user_error_naming_the_boards():
    result = CliRunner().invoke(hwcli.power_command, ["--board", "esp8266"])
    assert isinstance(result.exception, UserError)
    assert str(result.exception) == (
        "unknown board 'esp8266': choose one of esp32-devkit, xiao-esp32c3, xiao-esp32c6, xiao-esp32s3"
    )


def test_power_rejects_a_negative_rate():
    result = CliRunner().invoke(hwcli.power_command, ["--events-per-day", "-1"])
    assert result.exit_code == 2


def test_deploy_to_a_missing_port_propagates_the_user_error():
    args = ["--port", "/dev/ttyUSB-twitchlog-none", "--board", "esp32-devkit"]
    result = CliRunner().invoke(hwcli.deploy_command, args)
    assert isinstance(result.exception, UserError) and "no such serial port" in str(result.exception)


def test_deploy_needs_port_and_board():
    assert CliRunner().invoke(hwcli.deploy_command, ["--board", "esp32-devkit"]).exit_code == 2
    assert CliRunner().invoke(hwcli.deploy_command, ["--port", "/dev/null"]).exit_code == 2


def test_deploy_command_on_a_micropython_board_then_usb_info(board):
    result = CliRunner().invoke(hwcli.deploy_command, ["--port", board.port, "--board", "xiao-esp32c3"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # rich wraps at the runner's 80 columns
    assert f"for xiao-esp32c3 to {board.port}" in text and "protocol 1" in text
    assert "only the pure modules were import-checked" in text

    t = board.transport()
    try:
        assert b"xiao-esp32c3" in bytes(t.fs_readfile("/board.json"))
    finally:
        t.close()

    out = io.StringIO()
    info = hwcli.show_usb_info(board.port, console=Console(file=out, width=120))
    assert info["board"] == "xiao-esp32c3"
    text = out.getvalue()
    assert "xiao-esp32c3" in text and "empty (the device has not woken since deploy)" in text
