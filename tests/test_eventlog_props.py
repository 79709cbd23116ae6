"""Property tests: log recovery against random truncation and garbage tails."""

import eventlog
import protocol as P
from fsio import PosixFS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def _read_seqs(log):
    reader = log.reader()
    buf = bytearray(15 * P.RECORD_SIZE)
    seqs = []
    while n := reader.readinto(buf):
        seqs.extend(P.unpack_record(buf, off)[0] for off in range(0, n, P.RECORD_SIZE))
    reader.close()
    return seqs


def _fresh(tmp_path_factory, n):
    log = eventlog.EventLog(PosixFS(), str(tmp_path_factory.mktemp("log")), 16)
    log.open()
    for i in range(n):
        log.append(P.KIND_TWITCH if i % 2 else P.KIND_CRAMP, 1000 + i, 1)
    return log


def _newest_segment(log):
    return log._seg_path(log.last_seq >> eventlog.SEG_SHIFT)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 700), cut=st.integers(0, 4096))
def test_truncation_keeps_exactly_the_whole_records(tmp_path_factory, n, cut):
    log = _fresh(tmp_path_factory, n)
    path = _newest_segment(log)
    with open(path, "rb") as f:
        data = f.read()
    cut = min(cut, len(data))
    with open(path, "wb") as f:
        f.write(data[:cut])
    first_in_segment = eventlog._slot_first(log.last_seq >> eventlog.SEG_SHIFT)
    expected_last = first_in_segment - 1 + cut // P.RECORD_SIZE
    again = eventlog.EventLog(log.fs, log.root, 16)
    again.open()
    assert _read_seqs(again) == list(range(1, expected_last + 1))
    assert again.append(P.KIND_TWITCH, 1, 1) == expected_last + 1


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 600), garbage=st.binary(min_size=1, max_size=200))
def test_garbage_tail_is_dropped_and_records_survive(tmp_path_factory, n, garbage):
    log = _fresh(tmp_path_factory, n)
    with open(_newest_segment(log), "ab") as f:
        f.write(garbage)
    again = eventlog.EventLog(log.fs, log.root, 16)
    again.open()
    assert _read_seqs(again) == list(range(1, n + 1))
    assert again.dropped_bytes == len(garbage)
    assert again.append(P.KIND_TWITCH, 1, 1) == n + 1


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.sampled_from(["append", "ack", "reopen"]), st.integers(0, 300)), max_size=40))
def test_random_operation_sequences_match_a_model(tmp_path_factory, ops):
    log = eventlog.EventLog(PosixFS(), str(tmp_path_factory.mktemp("log")), 4)
    log.open()
    stored, acked, next_seq = [], 0, 1
    for op, arg in ops:
        if op == "append":
            for _ in range(arg):
                seq = log.append(P.KIND_TWITCH, 5, 1)
                if seq:
                    assert seq == next_seq
                    stored.append(seq)
                    next_seq += 1
        elif op == "ack":
            target = acked + arg
            log.ack(target)
            acked = max(acked, min(target, next_seq - 1))
        else:
            log = eventlog.EventLog(log.fs, log.root, 4)
            log.open()
        assert _read_seqs(log) == [s for s in stored if s > acked]
        assert log.count() == len([s for s in stored if s > acked])
