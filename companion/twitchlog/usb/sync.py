"""`twitchlog sync --port`: the lossless sync over the USB cable.

mpremote's transport stops the app (Ctrl-C) and soft-resets the board into
the raw REPL, where the firmware's own usbsync module answers from the same
log, clock and keys as over BLE.  The session is the BLE one's:

  hello (serial, status) -> set the clock (an anchor record) -> report the
  records after the last one we hold, committing every batch -> confirm any
  seq gap holds nothing -> acknowledge <= committed -> soft reset into the app.

The store is keyed on (device, seq) and records are acknowledged only after
they are committed, so a pulled cable or a killed companion loses and
doubles nothing: the next sync starts after the last commit.  A device is
the same device over USB and BLE: it is found by its serial (the chip's
unique id, which pairing stores from Device Information).
"""

from __future__ import annotations

import ast
import binascii
import contextlib
import io
import json
import os
import time
from collections.abc import Callable
from typing import Any

from twitchlog.errors import UserError
from twitchlog.firmware import clock
from twitchlog.firmware import protocol as P
from twitchlog.hw import deploy
from twitchlog.intake.doses import record_doses
from twitchlog.store.db import Store
from twitchlog.store.syncs import BATCH, SyncResult, end_session, refuse_restarted_log

LINE_TIMEOUT_S = 10.0  # silence on the line mid-answer before the board is presumed gone
LAST_SEQ = 0xFFFFFFFF
WAIT_STEP_S = 2.0  # while waiting for a sleeping board: how long each look for its REPL lasts
Progress = Callable[[int, int], None]  # (records done, total)


class BoardGone(Exception):
    """The board stopped answering; what was committed stays committed."""


def usb_address(serial: str) -> str:
    """The address a device met over USB is stored under until it pairs over BLE."""
    return f"usb:{serial}"


class _Board:
    """usbsync's calls through mpremote's raw REPL."""

    def __init__(self, transport: Any, port: str) -> None:
        self.transport = transport
        self.port = port
        self.device_id: int | None = None  # once known: what a failure message says is saved

    def call(self, expression: str) -> Any:
        """Run usbsync.<expression>; its printed answer as a Python literal."""
        out = self._exec(expression, None)
        try:
            return ast.literal_eval(out.decode().strip().splitlines()[-1])
        except (ValueError, SyntaxError, IndexError):
            raise BoardGone(f"unreadable answer to {expression}: {out[-80:]!r}") from None

    def stream(self, expression: str, on_line: Callable[[bytes], None]) -> None:
        """Run usbsync.<expression>, handing each printed line to on_line as it arrives."""
        partial = bytearray()

        def consume(data: bytes) -> None:  # mpremote hands over a byte at a time
            partial.extend(data)
            if data == b"\n":
                on_line(bytes(partial).rstrip(b"\r\n"))
                partial.clear()

        self._exec(expression, consume)

    def _exec(self, expression: str, consumer: Callable[[bytes], None] | None) -> bytes:
        """The output of usbsync.<expression>; UserError with the board's last line if it raised."""
        from mpremote.transport import TransportError

        try:
            self.transport.exec_raw_no_follow(f"import usbsync\nusbsync.{expression}")
            out, error = self.transport.follow(LINE_TIMEOUT_S, consumer)
        except (TransportError, OSError) as e:  # OSError includes serial.SerialException: the cable went
            raise BoardGone(str(e) or type(e).__name__) from None
        if error:
            lines = error.decode(errors="replace").strip().splitlines()
            raise UserError(f"{self.port}: the board failed at {expression}: {lines[-1] if lines else '?'}")
        if consumer is None and not out.endswith(b"\n"):
            raise BoardGone("the answer stopped short")
        return out


class _Session:
    def __init__(self, board: _Board, store: Store, device_id: int, first_seq: int, progress: Progress | None):
        self.board = board
        self.store = store
        self.device_id = device_id
        self.progress = progress
        self.pending: list[tuple] = []
        self.expected_seq = max(store.last_seq(device_id) + 1, first_seq)
        self.received = 0
        self.new = 0
        self.total = 0

    def commit(self) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            self.new += self.store.add_records(self.device_id, batch)

    def fetch(self) -> None:
        """Everything from expected_seq on, stepping over seq gaps the device confirms are empty."""
        self.total = self.received + self.board.call(f"count({self.expected_seq}, {LAST_SEQ})")
        while self.received < self.total:
            hole = self._report()
            self.commit()
            if hole is None:
                return
            lo, hi = hole
            if self.board.call(f"count({lo}, {hi})") != 0:
                raise BoardGone(f"records {lo}..{hi} went missing in transit")
            self.expected_seq = hi + 1

    def _report(self) -> tuple[int, int] | None:
        """One report from expected_seq; the first seq gap seen, if any (records after it wait)."""
        hole: list[tuple[int, int]] = []
        ended = []

        def on_line(line: bytes) -> None:
            if line == b"end":
                ended.append(True)
                return
            if hole:
                return  # after a gap: asked for again once the device confirms it
            try:
                records = P.unpack_notification(binascii.a2b_base64(line))
            except (binascii.Error, P.ProtocolError) as e:
                raise BoardGone(f"garbled line on the serial line ({e})") from None
            for record in records:
                seq = record[0]
                if seq < self.expected_seq:
                    continue
                if seq != self.expected_seq:
                    hole.append((self.expected_seq, seq - 1))
                    return
                self.pending.append(record)
                self.expected_seq += 1
                self.received += 1
            if len(self.pending) >= BATCH:
                self.commit()
            if self.progress:
                self.progress(min(self.received, self.total), self.total)

        self.board.stream(f"report({self.expected_seq}, {LAST_SEQ})", on_line)
        if not ended:
            raise BoardGone("the report ended without its last line")
        return hole[0] if hole else None


def open_repl(
    port: str,
    repl_timeout: float = deploy.REPL_TIMEOUT_S,
    wait_s: float = 0.0,
    on_wait: Callable[[], None] | None = None,
) -> Any:
    """mpremote's transport in a freshly soft-reset raw REPL (the app stopped, its heap free), or UserError.

    wait_s: keep asking this long while the port is missing or silent, as a
    sleeping board is, so the wearer can run the sync first and then hold
    the button; on_wait is called once when the waiting starts.
    """
    from mpremote.transport import TransportError

    deadline = time.monotonic() + wait_s
    if wait_s > repl_timeout:
        repl_timeout = WAIT_STEP_S  # short looks, so that the next one soon catches a board just woken
    transport = None
    told = False
    try:
        while True:
            try:
                if transport is None:
                    # Opened once and kept: reopening could reset a DevKit at every look.
                    transport = deploy.open_port(port)
                deploy.enter_repl(transport, port, repl_timeout, soft_reset=True)
                break
            except deploy.NoAnswer:
                if time.monotonic() + repl_timeout > deadline:
                    raise
                if transport is not None and not os.path.exists(port):
                    transport.close()  # a native-USB board went to sleep: its port is gone until it wakes
                    transport = None
                if not told and on_wait is not None:
                    on_wait()
                told = True
                time.sleep(0.5)
    except UserError:
        if transport is not None:
            transport.close()
        raise
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            listing = {entry.name for entry in transport.fs_listdir("/")}
    except (TransportError, OSError):
        listing = {"usbsync.mpy"}  # let the first call say what is wrong
    if "usbsync.mpy" not in listing and "usbsync.py" not in listing:
        deploy.let_go(transport)
        raise UserError(
            f"{port}: the firmware on the board predates USB sync (no usbsync module): "
            f"run `twitchlog device deploy --port {port}` first"
        )
    return transport


def sync_port(
    port: str,
    store: Store,
    *,
    now: Callable[[], float] = time.time,
    progress: Progress | None = None,
    repl_timeout: float = deploy.REPL_TIMEOUT_S,
    wait_s: float = 0.0,
    on_wait: Callable[[], None] | None = None,
    new_log: bool = False,
) -> SyncResult:
    """One sync over the USB serial port; the app runs again afterwards, whatever happened.

    new_log: the device's log restarted (erased, reflashed): keep the records
    held under a retired entry and start a new log for it, as pairing does
    over BLE.  Without it such a device is refused, with nothing changed.
    """
    started = time.monotonic()
    transport = open_repl(port, repl_timeout, wait_s, on_wait)
    board = _Board(transport, port)
    try:
        return _sync(board, store, now, progress, started, new_log)
    except BoardGone as e:
        raise UserError(
            f"{port}: the board stopped answering ({e}); {_saved(store, board)}: run `twitchlog sync --port {port}` "
            "again (hold the button 2 s first if it went to sleep)"
        ) from None
    finally:
        deploy.let_go(transport)


def _saved(store: Store, board: _Board) -> str:
    if board.device_id is None:
        return "nothing new was saved"
    return f"records up to seq {store.last_seq(board.device_id)} are saved"


def _sync(
    board: _Board, store: Store, now: Callable[[], float], progress: Progress | None, started: float, new_log: bool
) -> SyncResult:
    serial, model, status_hex = board.call("hello()")
    try:
        status = P.unpack_status(bytes.fromhex(status_hex))
    except (ValueError, P.ProtocolError) as e:
        raise UserError(f"{board.port}: unreadable status ({e}); is its firmware newer than this twitchlog?") from None
    device_id = store.known_serial(serial)
    address = usb_address(serial)
    if device_id is not None:
        address = store.device_address(device_id)
        if new_log and status["last_seq"] < store.last_seq(device_id):
            store.retire_device(device_id)  # its records stay, under the retired entry
            device_id = None
    if device_id is None:
        device_id = store.device_id(address)  # a BLE address stays: the bond is the same
        store.set_device_info(device_id, serial=serial, model=model)
    board.device_id = device_id
    refuse_restarted_log(
        store,
        device_id,
        f"{board.port} (serial {serial})",
        status["last_seq"],
        f"Run `twitchlog sync --port {board.port} --new-log` to start a new log for it",
    )
    result = SyncResult(address, device_id, status=status)
    store.set_device_status(device_id, json.dumps(status))
    sync_id = store.begin_sync(device_id)
    session = _Session(board, store, device_id, status["first_seq"] if status["count"] else 0, progress)
    try:
        utc = now()
        board.call(f"set_time({int(utc) - clock.UNIX_AT_2000})")
        result.time_set_utc = int(utc)
        store.update_sync(sync_id, time_set_utc=result.time_set_utc)
        session.fetch()
        session.commit()  # before the acknowledge, always
        acked = min(store.last_seq(device_id), session.expected_seq - 1)
        if acked:
            board.call(f"ack({acked})")
        result.acked_seq = acked
    finally:
        session.commit()
        result.received, result.new = session.received, session.new
        end_session(store, sync_id, result)
        result.doses = record_doses(store, device_id).to_dict()
    store.update_sync(sync_id, outcome="ok")
    result.seconds = time.monotonic() - started
    return result
