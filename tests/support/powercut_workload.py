"""The power-cut workload: the event log on littlefs-python, cut at any flash op.

Shared by tests/test_powercut.py and the benchmarks.  A *trial* replays the
workload on a fresh copy of a prepared image with the power cut at program/
erase call N, remounts the surviving bytes on healthy flash and checks what
the log promises.
"""

from __future__ import annotations

# Flat, as on the device: tests/test_powercut.py patches workload.eventlog and
# must reach the very module object this workload uses.
import eventlog
import protocol as P

from twitchlog.hw.flash import FlashImage, LfsFS, PowerCut, mount

ROOT = "/log"
MAX_SEGMENTS = 6
IMAGE_SIZE = 64 * 4096
PRELOAD = 230  # records stored (and 100 acknowledged) before the cut sweep
WORKLOAD = 300  # appends in the swept workload: crosses two segment boundaries


def expected_time(seq: int) -> int:
    return 700_000_000 + seq * 7


def kind_of(seq: int) -> int:
    return P.KIND_CRAMP if seq % 5 == 0 else P.KIND_TWITCH


def _open_log(image: FlashImage, fresh: bool = False) -> eventlog.EventLog:
    log = eventlog.EventLog(LfsFS(mount(image, format_if_blank=fresh), image), ROOT, MAX_SEGMENTS)
    log.open()
    return log


def prepared_image() -> bytearray:
    image = FlashImage(IMAGE_SIZE)
    log = _open_log(image, fresh=True)
    for _ in range(PRELOAD):
        seq = log.next_seq
        assert log.append(kind_of(seq), expected_time(seq), 1) == seq
    log.ack(100)
    return bytearray(image.buffer)


class State:
    """What the workload knows was durably done before the power went."""

    def __init__(self) -> None:
        self.committed: list[int] = []  # appends that returned a seq
        self.acked = 100  # highest ack that returned
        self.ack_in_flight = 100  # an ack cut short may or may not have landed


def run_workload(image: FlashImage, state: State) -> None:
    """Appends, acks (with reclaim) and reboots; stops when the power dies."""
    log = _open_log(image)
    for i in range(1, WORKLOAD + 1):
        seq = log.next_seq
        got = log.append(kind_of(seq), expected_time(seq), 1)
        if not image.powered:
            return
        assert got == seq, f"append returned {got}, expected {seq}"
        state.committed.append(seq)
        if i % 50 == 0:
            target = state.committed[-20]
            state.ack_in_flight = target
            log.ack(target)
            if not image.powered:
                return
            state.acked = target
        if i % 100 == 0:
            log = _open_log(image)  # a reboot without power loss
            if not image.powered:
                return


def count_ops(snapshot: bytearray) -> int:
    image = FlashImage(buffer=bytearray(snapshot))
    run_workload(image, State())
    return image.ops


def check_after_cut(snapshot: bytearray, cut_at: int) -> str | None:
    """One trial.  Returns None if every promise held, else what broke."""
    image = FlashImage(buffer=bytearray(snapshot))
    image.cut_at = cut_at
    state = State()
    try:
        run_workload(image, state)
    except (PowerCut, OSError):
        # The dying flash call's own error, or the CPU stopping after it.
        if image.powered:
            raise
    if image.powered:
        return f"cut {cut_at}: the workload finished before the cut"
    healthy = FlashImage(buffer=bytearray(image.buffer))
    try:
        log = _open_log(healthy)
    except Exception as e:  # the promise is that it opens, whatever went wrong
        return f"cut {cut_at}: log did not open: {e!r}"
    reader = log.reader()
    buf = bytearray(15 * P.RECORD_SIZE)
    seen: list[int] = []
    while n := reader.readinto(buf):
        for off in range(0, n, P.RECORD_SIZE):
            seq, t, _arg, _boot, kind = P.unpack_record(buf, off)
            if t != expected_time(seq) or kind != kind_of(seq):
                return f"cut {cut_at}: seq {seq} has wrong contents"
            seen.append(seq)
    reader.close()
    if reader.corrupt:
        return f"cut {cut_at}: {reader.corrupt} corrupt records"
    if len(seen) != len(set(seen)) or seen != sorted(seen):
        return f"cut {cut_at}: duplicated or out-of-order records"
    present = set(seen)
    # Records up to an interrupted ack may be gone; later ones may not.
    floor = state.ack_in_flight
    missing = [s for s in state.committed if s > floor and s not in present]
    missing += [s for s in range(floor + 1, PRELOAD + 1) if s not in present]
    if present and min(present) <= state.acked:
        return f"cut {cut_at}: acknowledged record {min(present)} came back"
    if missing:
        return f"cut {cut_at}: committed records lost: {missing[:5]}"
    newest_committed = state.committed[-1] if state.committed else PRELOAD
    if log.last_seq not in (newest_committed, newest_committed + 1):
        return f"cut {cut_at}: last seq {log.last_seq} after committed {newest_committed}"
    seq = log.append(P.KIND_TWITCH, 1, 2)
    if seq != log.last_seq or seq <= newest_committed:
        return f"cut {cut_at}: append after recovery returned {seq}"
    return None
