"""Event log: durability rules, recovery, reclaim, full storage, streaming.

Runs under CPython (pytest) and MicroPython on the host/VFS filesystem.
"""

import eventlog
import protocol as P
from _support import fresh_dir, raises
from fsio import PosixFS

TWITCH = P.KIND_TWITCH
CRAMP = P.KIND_CRAMP


def _new_log(max_segments=8, fs=None):
    log = eventlog.EventLog(fs or PosixFS(), fresh_dir("log"), max_segments)
    log.open()
    return log


def _reopen(log):
    again = eventlog.EventLog(log.fs, log.root, log.max_segments)
    again.open()
    return again


def _read_all(log, lo=None, hi=None, per_read=15):
    reader = log.reader(lo, hi)
    buf = bytearray(per_read * P.RECORD_SIZE)
    out = []
    while True:
        n = reader.readinto(buf)
        if not n:
            break
        for off in range(0, n, P.RECORD_SIZE):
            out.append(tuple(P.unpack_record(buf, off)))
    reader.close()
    return out


def _append_raw(log, seq, data):
    f = log.fs.open(log._seg_path(seq >> eventlog.SEG_SHIFT), "ab")
    f.write(data)
    f.close()


def test_appends_get_consecutive_seqs_and_survive_reopen():
    log = _new_log()
    seqs = [log.append(TWITCH if i % 3 else CRAMP, 1000 + i, 1) for i in range(600)]
    assert seqs == list(range(1, 601))
    log = _reopen(log)
    records = _read_all(log)
    assert [r[0] for r in records] == seqs
    assert records[0] == (1, 1000, 0, 1, CRAMP)
    assert log.append(TWITCH, 5, 1) == 601


def test_reading_any_window_with_any_buffer_size():
    log = _new_log()
    for i in range(700):
        log.append(TWITCH, i, 2)
    for per_read in (1, 2, 15, 100, 300):
        assert [r[0] for r in _read_all(log, 250, 520, per_read)] == list(range(250, 521))
    assert [r[0] for r in _read_all(log, 690)] == list(range(690, 701))
    assert _read_all(log, 800) == []


def test_torn_tail_is_dropped_at_boot():
    log = _new_log()
    for i in range(300):
        log.append(TWITCH, i, 1)
    torn = P.pack_record(301, 301, 0, 1, TWITCH)[:9]
    _append_raw(log, 301, torn)
    log = _reopen(log)
    assert log.dropped_bytes == 9
    assert log.last_seq == 300 and log.count() == 300
    assert log.append(CRAMP, 9, 1) == 301
    assert _read_all(log, 299) == [(299, 298, 0, 1, TWITCH), (300, 299, 0, 1, TWITCH), (301, 9, 0, 1, CRAMP)]


def test_garbage_records_at_the_tail_are_dropped():
    log = _new_log()
    for i in range(20):
        log.append(TWITCH, i, 1)
    wrong_seq = P.pack_record(99, 1, 0, 1, TWITCH)  # valid CRC, wrong place
    _append_raw(log, 21, wrong_seq + b"\x00" * 16 + b"\xff" * 16)
    log = _reopen(log)
    assert log.dropped_bytes == 48
    assert [r[0] for r in _read_all(log)] == list(range(1, 21))


def test_ack_hides_records_and_reclaims_whole_segments_only():
    log = _new_log()
    for i in range(800):
        log.append(TWITCH, i, 1)
    assert sorted(n for n in log.fs.names(log.root) if n != "meta") == ["00000000", "00000100", "00000200", "00000300"]
    assert log.ack(300) == 300
    assert log.first_seq == 301 and log.count() == 500
    assert sorted(n for n in log.fs.names(log.root) if n != "meta") == ["00000100", "00000200", "00000300"]
    assert _read_all(log)[0][0] == 301
    assert log.ack(200) == 0  # acknowledgements never go backwards
    log = _reopen(log)
    assert log.first_seq == 301 and log.last_seq == 800


def test_ack_of_everything_keeps_seq_monotonic():
    log = _new_log()
    for i in range(512):
        log.append(TWITCH, i, 1)
    assert log.ack(10**9) == 512  # clamped to what is stored
    assert log.count() == 0
    log = _reopen(log)
    assert log.count() == 0 and log.next_seq == 513
    assert log.append(TWITCH, 1, 1) == 513


def test_full_storage_counts_lost_events_per_kind_and_recovers_after_ack():
    log = _new_log(max_segments=2)
    stored = [log.append(TWITCH, i, 1) for i in range(511)]
    assert stored[-1] == 511 and log.free_records() == 0
    assert log.append(TWITCH, 1, 1) == 0
    assert log.append(CRAMP, 1, 1) == 0
    assert log.append(CRAMP, 1, 1) == 0
    assert log.append(P.KIND_ANCHOR, 1, 1, 2) == 0
    assert log.lost == [1, 2, 1] and log.lost_total() == 4
    assert log.count() == 511  # nothing stored was touched
    log = _reopen(log)
    assert log.lost == [1, 2, 1]
    log.ack(255)
    assert log.append(CRAMP, 2, 1) == 512


def test_tombstones_and_anchors_are_ordinary_records():
    log = _new_log()
    log.append(TWITCH, 100, 4)
    log.append(P.KIND_TOMBSTONE, 120, 4, 1)
    log.append(P.KIND_ANCHOR, 130, 4, 800000000)
    assert _read_all(log) == [
        (1, 100, 0, 4, TWITCH),
        (2, 120, 1, 4, P.KIND_TOMBSTONE),
        (3, 130, 800000000, 4, P.KIND_ANCHOR),
    ]


def test_corrupt_meta_falls_back_safely():
    log = _new_log()
    for i in range(300):
        log.append(TWITCH, i, 1)
    log.ack(100)
    f = log.fs.open(log.root + "/meta", "wb")
    f.write(b"\x01garbage-meta!")
    f.close()
    log = _reopen(log)
    # Only costs re-sending acknowledged records; nothing is lost.
    assert log.first_seq == 1 and log.last_seq == 300


def test_corrupt_record_in_the_middle_is_skipped_and_counted():
    log = _new_log()
    for i in range(40):
        log.append(TWITCH, i, 1)
    path = log._seg_path(0)
    f = log.fs.open(path, "rb")
    data = bytearray(f.read())
    f.close()
    data[16 * 10 + 5] ^= 0xFF  # seq 11
    f = log.fs.open(path, "wb")
    f.write(data)
    f.close()
    reader = log.reader()
    buf = bytearray(16 * 64)
    n = reader.readinto(buf)
    assert n == 39 * 16 and reader.corrupt == 1
    seqs = [P.unpack_record(buf, off)[0] for off in range(0, n, 16)]
    assert 11 not in seqs and seqs[-1] == 40


def test_boot_ids_persist_and_wrap():
    log = _new_log()
    assert log.boot_id == 0
    assert log.new_boot() == 1
    log = _reopen(log)
    assert log.boot_id == 1
    log.boot_id = 255
    assert log.new_boot() == 0


def test_constructor_refuses_a_budget_too_small_to_roll_over():
    raises(ValueError, eventlog.EventLog, PosixFS(), "/nowhere", 1)


def test_meta_ahead_of_a_lost_tail_jumps_to_a_fresh_slot():
    log = _new_log()
    for i in range(300):
        log.append(TWITCH, i, 1)
    log.ack(300)
    path = log._seg_path(1)
    f = log.fs.open(path, "rb")
    data = f.read()
    f.close()
    f = log.fs.open(path, "wb")
    f.write(data[:-8])  # the newest record torn after its ack was stored
    f.close()
    log = _reopen(log)
    seq = log.append(CRAMP, 7, 1)
    assert seq > 300  # never reused
    assert [r[0] for r in _read_all(log)] == [seq]
    log = _reopen(log)
    assert [r[0] for r in _read_all(log)] == [seq]
    assert log.append(TWITCH, 8, 1) == seq + 1


def test_meta_ahead_with_no_segment_left():
    log = _new_log()
    for i in range(300):
        log.append(TWITCH, i, 1)
    log.ack(300)
    for name in list(log.fs.names(log.root)):
        if name != "meta":
            log.fs.remove(log.root + "/" + name)
    log = _reopen(log)
    seq = log.append(TWITCH, 1, 1)
    assert seq > 300
    log = _reopen(log)
    assert [r[0] for r in _read_all(log)] == [seq]


class _FailingFS(PosixFS):
    """PosixFS whose next append misbehaves the way a flash write can."""

    def __init__(self):
        self.fault = None  # "close" | "full"

    def open(self, path, mode):
        f = PosixFS.open(self, path, mode)
        if self.fault and mode in ("ab", "wb"):
            return _FaultyFile(f, self.fault)
        return f


class _FaultyFile:
    def __init__(self, f, fault):
        self.f = f
        self.fault = fault

    def write(self, data):
        if self.fault == "full":
            self.f.write(bytes(data)[:7])
            self.f.close()
            raise OSError(28)
        return self.f.write(data)

    def close(self):
        if self.fault == "close":
            self.f.close()
            raise OSError(5)
        self.f.close()


def test_a_write_that_landed_despite_an_error_keeps_its_seq():
    fs = _FailingFS()
    log = _new_log(fs=fs)
    for i in range(5):
        log.append(TWITCH, i, 1)
    fs.fault = "close"
    assert log.append(TWITCH, 100, 1) == 6  # the bytes are there: it counts
    fs.fault = None
    assert log.append(CRAMP, 200, 1) == 7
    log = _reopen(log)
    assert _read_all(log, 6) == [(6, 100, 0, 1, TWITCH), (7, 200, 0, 1, CRAMP)]
    assert log.lost == [0, 0, 0]


def test_a_full_filesystem_counts_the_event_lost_instead_of_raising():
    fs = _FailingFS()
    log = _new_log(fs=fs)
    for i in range(5):
        log.append(TWITCH, i, 1)
    fs.fault = "full"
    assert log.append(CRAMP, 100, 1) == 0
    assert log.lost == [0, 1, 0]
    fs.fault = None
    seq = log.append(TWITCH, 200, 1)
    assert seq > 5
    log = _reopen(log)
    assert [r[0] for r in _read_all(log)] == [1, 2, 3, 4, 5, seq]


def test_ack_never_reports_a_negative_count():
    log = _new_log()
    for i in range(600):
        log.append(TWITCH, i, 1)
    log.ack(300)  # reclaims slot 0
    log.fs.remove(log.root + "/meta")
    log = _reopen(log)  # acked forgotten: first stored is 256
    assert log.first_seq == 256
    assert log.ack(100) == 0
    assert log.ack(300) == 45


def test_losing_meta_does_not_merge_two_clock_epochs():
    log = _new_log()
    assert log.new_boot() == 1
    log.append(TWITCH, 5, log.boot_id)
    log.fs.remove(log.root + "/meta")
    log = _reopen(log)  # meta gone: the boot counter would restart at 0
    assert log.new_boot() != 1
