"""Protocol encode/decode; runs under CPython (pytest) and MicroPython."""

import struct

import protocol as P
from _support import Rng, raises


def test_record_is_16_bytes_and_round_trips():
    rec = P.pack_record(0xFFFFFFFF, 812345678, 0xDEADBEEF, 255, P.KIND_ANCHOR)
    assert len(rec) == P.RECORD_SIZE == 16
    assert tuple(P.unpack_record(rec)) == (0xFFFFFFFF, 812345678, 0xDEADBEEF, 255, P.KIND_ANCHOR)


def test_every_single_bit_flip_is_detected():
    rec = bytearray(P.pack_record(42, 1000, 7, 3, P.KIND_TWITCH))
    for byte in range(16):
        for bit in range(8):
            rec[byte] ^= 1 << bit
            raises(P.ProtocolError, P.unpack_record, rec)
            rec[byte] ^= 1 << bit
    assert P.unpack_record(rec)[0] == 42


def test_records_per_notification_by_mtu():
    assert P.records_per_notification(23) == 1
    assert P.records_per_notification(185) == 11
    assert P.records_per_notification(247) == 15
    raises(P.ProtocolError, P.records_per_notification, 22)


def test_notification_packs_many_records_and_rejects_partial_ones():
    data = b"".join(P.pack_record(s, 100 + s, 0, 1, P.KIND_CRAMP) for s in range(1, 16))
    assert [r[0] for r in P.unpack_notification(data)] == list(range(1, 16))
    raises(P.ProtocolError, P.unpack_notification, b"")
    raises(P.ProtocolError, P.unpack_notification, data[:-1])
    bad = bytearray(data)
    bad[16 * 7 + 3] ^= 0x10
    raises(P.ProtocolError, P.unpack_notification, bad)


def test_notification_chunks_fill_each_packet():
    packed = b"".join(P.pack_record(s, s, 0, 1, P.KIND_TWITCH) for s in range(1, 41))
    sizes = [len(c) for c in P.notification_chunks(packed, 247)]
    assert sizes == [240, 240, 160]
    assert [len(c) for c in P.notification_chunks(packed, 23)] == [16] * 40
    seqs = [r[0] for c in P.notification_chunks(packed, 185) for r in P.unpack_notification(bytes(c))]
    assert seqs == list(range(1, 41))
    raises(P.ProtocolError, lambda: list(P.notification_chunks(packed[:-3], 247)))


def test_racp_requests_parse():
    req = P.racp_request(P.OP_REPORT, P.OPR_GE, lo=1000)
    assert req == bytes((1, 3, 1)) + struct.pack("<I", 1000)
    assert P.parse_racp_request(req) == (P.OP_REPORT, P.OPR_GE, 1000, None)
    assert P.parse_racp_request(P.racp_request(P.OP_DELETE, P.OPR_LE, hi=77)) == (P.OP_DELETE, P.OPR_LE, None, 77)
    assert P.parse_racp_request(P.racp_request(P.OP_REPORT_NUMBER, P.OPR_RANGE, 5, 9)) == (4, 4, 5, 9)
    assert P.parse_racp_request(bytes((P.OP_REPORT, P.OPR_ALL))) == (1, 1, None, None)
    assert P.parse_racp_request(bytes((P.OP_ABORT, P.OPR_NULL))) == (3, 0, None, None)


def _code(data):
    return raises(P.RacpError, P.parse_racp_request, data).code


def test_racp_errors_get_the_spec_response_codes():
    assert _code(bytes((0x07, P.OPR_ALL))) == P.RSP_OP_NOT_SUPPORTED
    assert _code(bytes((P.OP_RESPONSE_CODE, 0))) == P.RSP_OP_NOT_SUPPORTED
    assert _code(bytes((P.OP_REPORT, P.OPR_NULL))) == P.RSP_INVALID_OPERATOR
    assert _code(bytes((P.OP_ABORT, P.OPR_ALL))) == P.RSP_INVALID_OPERATOR
    assert _code(bytes((P.OP_REPORT, 0x07))) == P.RSP_OPERATOR_NOT_SUPPORTED
    assert _code(bytes((P.OP_REPORT, P.OPR_GE))) == P.RSP_INVALID_OPERAND
    assert _code(bytes((P.OP_REPORT, P.OPR_GE, 1, 0, 0))) == P.RSP_INVALID_OPERAND
    assert _code(bytes((P.OP_REPORT, P.OPR_ALL, 1))) == P.RSP_INVALID_OPERAND
    assert _code(bytes((P.OP_REPORT, P.OPR_GE, 0x02, 0, 0, 0, 0))) == P.RSP_OPERAND_NOT_SUPPORTED
    assert _code(P.racp_request(P.OP_REPORT, P.OPR_RANGE, 9, 5)) == P.RSP_INVALID_OPERAND
    assert _code(bytes((P.OP_ABORT, 0, 1))) == P.RSP_INVALID_OPERAND
    assert _code(b"") == P.RSP_OP_NOT_SUPPORTED
    assert _code(b"\x01") == P.RSP_INVALID_OPERATOR


def test_select_range_resolves_against_the_stored_span():
    assert P.select_range(P.OPR_ALL, None, None, 10, 20) == (10, 20)
    assert P.select_range(P.OPR_GE, 15, None, 10, 20) == (15, 20)
    assert P.select_range(P.OPR_GE, 21, None, 10, 20) is None
    assert P.select_range(P.OPR_LE, None, 5, 10, 20) is None
    assert P.select_range(P.OPR_RANGE, 0, 12, 10, 20) == (10, 12)
    assert P.select_range(P.OPR_FIRST, None, None, 10, 20) == (10, 10)
    assert P.select_range(P.OPR_LAST, None, None, 10, 20) == (20, 20)
    assert P.select_range(P.OPR_ALL, None, None, 21, 20) is None


def test_racp_responses_round_trip():
    assert P.parse_racp_response(P.racp_number_response(70000)) == ("number", 70000)
    assert P.parse_racp_response(P.racp_response_code(1, P.RSP_NO_RECORDS)) == ("code", 1, 6)
    raises(P.ProtocolError, P.parse_racp_response, b"\x05\x00\x01")
    raises(P.ProtocolError, P.parse_racp_response, b"\x06\x01\x01\x01")


def test_status_round_trip_and_saturating_lost_counters():
    raw = P.pack_status(12, 3, 14, 5000, 7, P.CLOCK_SET, (1, 70000, 0), 3900, 123456)
    assert len(raw) == P.STATUS_SIZE
    s = P.unpack_status(raw)
    assert s["count"] == 12 and s["first_seq"] == 3 and s["last_seq"] == 14
    assert s["lost_cramp"] == 0xFFFF and s["battery_mv"] == 3900 and s["device_time"] == 123456
    raises(P.ProtocolError, P.unpack_status, raw[:-1])
    raises(P.ProtocolError, P.unpack_status, b"\x02" + raw[1:])


def test_settings_round_trip_and_validation():
    raw = P.pack_settings(P.DEFAULT_SETTINGS)
    assert len(raw) == P.SETTINGS_SIZE
    assert P.unpack_settings(raw) == P.DEFAULT_SETTINGS
    bad = dict(P.DEFAULT_SETTINGS)
    bad["click2"] = 0x81  # the anchor kind is not a gesture action
    raises(P.ProtocolError, P.pack_settings, bad)
    raises(P.ProtocolError, P.unpack_settings, raw[:-1])
    too_long = bytearray(raw)
    struct.pack_into("<H", too_long, 6, 5)  # sync window 5 s < 10 s minimum
    raises(P.ProtocolError, P.unpack_settings, too_long)


def test_dose_is_a_gesture_action_outside_the_symptom_range():
    assert P.ACTION_DOSE == P.KIND_DOSE and P.KIND_DOSE > P.KIND_SYMPTOM_MAX
    assert P.KIND_DOSE < P.KIND_TOMBSTONE  # not bookkeeping either
    assert P.ACTION_DOSE not in P.DEFAULT_SETTINGS.values()  # opt-in: no default gesture logs a dose
    mapped = dict(P.DEFAULT_SETTINGS)
    mapped["click2"] = P.ACTION_DOSE
    assert P.unpack_settings(P.pack_settings(mapped))["click2"] == P.KIND_DOSE
    for action in (P.KIND_DOSE + 1, 0x7F):  # the rest of the non-symptom range is not an action
        mapped["click2"] = action
        raises(P.ProtocolError, P.pack_settings, mapped)


def test_civil_date_conversions():
    assert P.days_from_civil(1970, 1, 1) == 0
    assert P.days_from_civil(2000, 1, 1) == 10957
    assert P.days_from_civil(2024, 2, 29) == 19782
    assert P.civil_from_days(19782) == (2024, 2, 29)
    rng = Rng(3)
    for _ in range(300):
        z = rng.below(60000)
        assert P.days_from_civil(*P.civil_from_days(z)) == z


def test_current_time_is_exact_time_256():
    raw = P.pack_current_time(0)
    assert raw == bytes((0xD0, 0x07, 1, 1, 0, 0, 0, 6, 0, 0))  # 2000-01-01 Sat
    t = (P.days_from_civil(2026, 11, 21) - 10957) * 86400 + 13 * 3600 + 5 * 60 + 9
    raw = P.pack_current_time(t, 128, P.ADJUST_MANUAL)
    assert raw[:7] == struct.pack("<HBBBBB", 2026, 11, 21, 13, 5, 9) and raw[7] == 6
    assert P.unpack_current_time(raw) == (t, 128, P.ADJUST_MANUAL)


def test_current_time_rejects_impossible_dates():
    ok = bytearray(P.pack_current_time(800000000))
    for index, value in ((2, 13), (2, 0), (3, 0), (4, 24), (5, 60), (6, 60), (7, 8)):
        bad = bytearray(ok)
        bad[index] = value
        raises(P.ProtocolError, P.unpack_current_time, bad)
    raises(P.ProtocolError, P.unpack_current_time, struct.pack("<HBBBBBBBB", 2023, 2, 29, 0, 0, 0, 0, 0, 0))
    raises(P.ProtocolError, P.unpack_current_time, struct.pack("<HBBBBBBBB", 1999, 1, 1, 0, 0, 0, 0, 0, 0))
    raises(P.ProtocolError, P.unpack_current_time, bytes(ok[:9]))


def test_one_byte_requests_get_the_right_code():
    assert _code(b"\x09") == P.RSP_OP_NOT_SUPPORTED
    assert _code(b"\x05") == P.RSP_OP_NOT_SUPPORTED
    assert _code(b"\x01") == P.RSP_INVALID_OPERATOR
    assert _code(b"\x03") == P.RSP_INVALID_OPERATOR
