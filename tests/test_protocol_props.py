"""Property tests for the protocol module: round trips and malformed bytes.

The rule for malformed input: a ProtocolError, or a value whose re-encoding
is exactly the input.  Never silently different data.
"""

import struct

import protocol as P
from hypothesis import given
from hypothesis import strategies as st

u32 = st.integers(0, 0xFFFFFFFF)
u8 = st.integers(0, 255)
record_fields = st.tuples(u32, u32, u32, u8, u8)


@given(record_fields)
def test_record_round_trip(fields):
    assert tuple(P.unpack_record(P.pack_record(*fields))) == fields


@given(st.lists(record_fields, min_size=1, max_size=15))
def test_notification_round_trip(records):
    data = b"".join(P.pack_record(*r) for r in records)
    assert [tuple(r) for r in P.unpack_notification(data)] == records


@given(st.binary(max_size=300))
def test_random_notification_bytes_never_decode_to_wrong_data(data):
    try:
        records = P.unpack_notification(data)
    except P.ProtocolError:
        return
    assert b"".join(P.pack_record(*r) for r in records) == data


@given(st.lists(record_fields, min_size=1, max_size=15), st.data())
def test_any_corrupted_byte_in_a_packet_is_refused(records, data):
    packet = bytearray(b"".join(P.pack_record(*r) for r in records))
    index = data.draw(st.integers(0, len(packet) - 1))
    packet[index] ^= data.draw(st.integers(1, 255))
    try:
        decoded = P.unpack_notification(packet)
    except P.ProtocolError:
        return
    raise AssertionError(f"corrupted packet decoded as {decoded}")


@given(st.binary(max_size=12))
def test_random_racp_requests_parse_or_get_a_spec_code(data):
    try:
        op, operator, lo, hi = P.parse_racp_request(data)
    except P.RacpError as e:
        assert e.code in range(P.RSP_OP_NOT_SUPPORTED, P.RSP_OPERAND_NOT_SUPPORTED + 1)
        return
    assert P.racp_request(op, operator, lo, hi) == data


@given(
    st.sampled_from([P.OP_REPORT, P.OP_DELETE, P.OP_REPORT_NUMBER]),
    st.sampled_from([P.OPR_ALL, P.OPR_LE, P.OPR_GE, P.OPR_RANGE, P.OPR_FIRST, P.OPR_LAST]),
    u32,
    u32,
)
def test_racp_request_round_trip(op, operator, a, b):
    lo, hi = min(a, b), max(a, b)
    want = {
        P.OPR_LE: (None, hi),
        P.OPR_GE: (lo, None),
        P.OPR_RANGE: (lo, hi),
    }.get(operator, (None, None))
    assert P.parse_racp_request(P.racp_request(op, operator, *want)) == (op, operator) + want


@given(st.binary(min_size=P.STATUS_SIZE, max_size=P.STATUS_SIZE))
def test_random_status_bytes(data):
    try:
        status = P.unpack_status(data)
    except P.ProtocolError:
        return
    assert tuple(status.values()) == struct.unpack("<BIIIIBBHHHHI", data)


@given(st.binary(max_size=2 * P.SETTINGS_SIZE))
def test_random_settings_bytes(data):
    try:
        settings = P.unpack_settings(data)
    except P.ProtocolError:
        return
    assert P.pack_settings(settings) == data


@given(st.integers(0, 0xFFFFFFFF), u8, st.integers(0, 15))
def test_current_time_round_trip(t, frac, reason):
    assert P.unpack_current_time(P.pack_current_time(t, frac, reason)) == (t, frac, reason)


@given(st.binary(min_size=10, max_size=10))
def test_random_current_time_bytes(data):
    try:
        t, frac, reason = P.unpack_current_time(data)
    except P.ProtocolError:
        return
    # Day of week is recomputed from the date; everything else is kept.
    again = P.pack_current_time(t, frac, reason)
    assert again[:7] == data[:7] and again[8:] == data[8:]
