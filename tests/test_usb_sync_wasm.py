"""`sync --port` against the WebAssembly MicroPython REPL: the real pyexec, a second runtime.

tests/test_usb_sync.py runs the scenarios on the real unix-port runtime,
whose raw REPL is our chip shim's (sim/unixport/chip/repl.py).  Here the
REPL is MicroPython's own C pyexec (raw REPL, soft reset) in the npm
WebAssembly build, so the companion's use of the raw REPL is checked
against the reference, not only against our copy of it.  The board gets
`device deploy`'s real .mpy files, plus the chip shim's machine/time/esp32
(this runtime has none) and tests/mp/wasm_chip/virtual_chip.py.  It has no
threads (the watchdog does not bite) and no app run (no asyncio.run), and
its soft reset keeps only the filesystem: the RTC and RTC memory start over
(a chip keeps both), so records from before a sync's soft reset cannot be
placed in time here; placement over USB is checked on the real runtime.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT

from support.wasm_board import SerialBoard
from twitchlog.errors import UserError
from twitchlog.firmware import protocol as P
from twitchlog.hw import deploy as dp
from twitchlog.store.db import Store
from twitchlog.usb.sync import sync_port

pytestmark = pytest.mark.deploy

CHIP = ROOT / "companion" / "twitchlog" / "sim" / "unixport" / "chip"
WASM_CHIP = ROOT / "tests" / "mp" / "wasm_chip" / "virtual_chip.py"


@pytest.fixture
def board():
    b = SerialBoard()
    yield b
    b.close()


def twitchlog_board(board: SerialBoard, records: int) -> None:
    """Deploy, add the chip shim, and store `records` presses with the firmware's own log."""
    dp.deploy(board.port, "xiao-esp32c3")
    t = board.transport()
    try:
        for name in ("machine.py", "time.py", "esp32.py"):
            t.fs_writefile("/" + name, (CHIP / name).read_bytes())
        t.fs_writefile("/virtual_chip.py", WASM_CHIP.read_bytes())
        t.fs_rmfile("/main.py")  # the soft reset that resumes "the app" finds none to run here
        t.exec(
            "import app, board\n"
            "d = app.Device(board.Board())\n"
            "for i in range(%d):\n"
            "    d.log.append(1 + i %% 2, 1000 + 60 * i, d.log.boot_id, 0)\n" % records
        )
    finally:
        t.close()


def board_log(board: SerialBoard) -> tuple[int, int]:
    """(acked, last_seq) as the firmware on the board sees its log."""
    t = board.transport()
    try:
        out = t.exec("import app, board\nd = app.Device(board.Board())\nprint(d.log.acked, d.log.last_seq)\n")
    finally:
        t.close()
    acked, last = out.decode().split()
    return int(acked), int(last)


def stored_seqs(path) -> list[int]:
    with Store(path) as store:
        return [r[0] for r in store.db.execute("SELECT seq FROM events WHERE seq IS NOT NULL ORDER BY seq")]


def test_usb_sync_on_the_reference_raw_repl(board, tmp_path):
    twitchlog_board(board, 200)
    with Store(tmp_path / "t.db") as store:
        result = sync_port(board.port, store)
        assert (result.new, result.acked_seq) == (201, 201)  # and the anchor
        anchor = store.db.execute("SELECT kind, arg FROM events WHERE seq = 201").fetchone()
        assert anchor[0] == P.KIND_ANCHOR and abs(anchor[1] - (time.time() - 946684800)) < 10
        assert [d.serial for d in store.devices()] == ["24dcc30a5a51"]
    assert stored_seqs(tmp_path / "t.db") == list(range(1, 202))
    assert board_log(board) == (201, 201)
    with Store(tmp_path / "t.db") as store:
        again = sync_port(board.port, store)
    assert (again.new, again.acked_seq) == (1, 202)  # only the new anchor
    assert stored_seqs(tmp_path / "t.db") == list(range(1, 203))


def test_companion_killed_mid_sync_on_the_reference_raw_repl(board, tmp_path):
    twitchlog_board(board, 1500)
    db = tmp_path / "t.db"
    Store(db).close()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    companion = subprocess.Popen(
        [sys.executable, "-m", "twitchlog.cli", "--db", str(db), "sync", "--port", board.port],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while len(stored_seqs(db)) < 512 and time.monotonic() < deadline and companion.poll() is None:
            time.sleep(0.02)
        companion.send_signal(signal.SIGKILL)
    finally:
        companion.wait()
    saved = len(stored_seqs(db))
    assert 512 <= saved < 1501, saved
    assert board_log(board)[0] == 0  # killed before its acknowledge
    with Store(db) as store:
        result = sync_port(board.port, store)
    assert result.new == 1502 - saved  # the rest, the killed sync's anchor and this one's
    assert stored_seqs(db) == list(range(1, 1503))
    assert board_log(board) == (1502, 1502)


def test_a_record_the_board_cannot_read_is_a_gap_it_confirms_never_a_guess(board, tmp_path):
    twitchlog_board(board, 20)
    t = board.transport()
    try:  # damage record 7 on the flash: its CRC fails and the firmware's reader skips it
        t.exec("f = open('log/00000000', 'r+b')\nf.seek(6 * 16 + 3)\nf.write(b'X')\nf.close()\n")
    finally:
        t.close()
    with Store(tmp_path / "t.db") as store:
        result = sync_port(board.port, store)
    assert stored_seqs(tmp_path / "t.db") == [s for s in range(1, 22) if s != 7]
    assert result.acked_seq == 21


GARBLING_BOARD = """\
import binascii, protocol
def hello():
    status = protocol.pack_status(3, 1, 3, 100, 1, 1, (0, 0, 0), 3900, 0)
    print(repr(("feedfacecafe", "xiao-esp32c3", binascii.hexlify(status).decode())))
def set_time(t):
    print(4)
def count(lo, hi):
    print(3)
def report(lo, hi):
    print("AQAAAA%%%% line noise, not base64")
    print("end")
def ack(seq):
    raise RuntimeError("acknowledged after a garbled report")
"""


def test_a_garbled_answer_is_one_clear_line_and_nothing_is_acknowledged(board, tmp_path):
    t = board.transport()
    try:
        t.fs_writefile("/protocol.py", (ROOT / "firmware" / "protocol.py").read_bytes())
        t.fs_writefile("/usbsync.py", GARBLING_BOARD.encode())
    finally:
        t.close()
    with Store(tmp_path / "t.db") as store:
        with pytest.raises(UserError, match="stopped answering \\(garbled line") as e:
            sync_port(board.port, store)
        assert "\n" not in str(e.value) and "acknowledged after" not in str(e.value)
        assert store.db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0


def test_plain_micropython_says_deploy_first(board, tmp_path):
    with Store(tmp_path / "t.db") as store, pytest.raises(UserError, match="device deploy --port"):
        sync_port(board.port, store)
    with Store(tmp_path / "t.db") as store:
        assert store.devices() == []


def test_an_erased_log_is_refused_unless_the_user_starts_a_new_one(board, tmp_path):
    twitchlog_board(board, 5)
    with Store(tmp_path / "t.db") as store:
        first = sync_port(board.port, store)
    t = board.transport()
    try:  # reflashed: the log starts over at seq 1 with three presses
        t.exec(
            "import os, app, board\n"
            "for name in os.listdir('log'):\n"
            "    os.remove('log/' + name)\n"
            "d = app.Device(board.Board())\n"
            "for i in range(3):\n"
            "    d.log.append(1, 5000 + i, d.log.boot_id, 0)\n"
        )
    finally:
        t.close()
    with Store(tmp_path / "t.db") as store:
        with pytest.raises(UserError, match="log ends at seq 3 but we already hold up to 6.*--new-log") as e:
            sync_port(board.port, store)
        assert "\n" not in str(e.value)
        assert [r[0] for r in store.db.execute("SELECT device_id FROM events")] == [first.device_id] * 6
        renewed = sync_port(board.port, store, new_log=True)
        assert renewed.device_id != first.device_id and renewed.new == 4  # three presses and the anchor
        devices = store.devices()
        assert [d.serial for d in devices] == ["24dcc30a5a51"] * 2
        assert "retired" in devices[0].address and devices[1].address == first.address
        held = store.db.execute("SELECT COUNT(*) FROM events WHERE device_id = ?", (first.device_id,)).fetchone()[0]
        assert held == 6  # the old log's records stay
    assert board_log(board) == (4, 4)
