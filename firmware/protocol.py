"""The twitchlog wire and flash format: the one definition both sides import.

The firmware imports this as ``protocol``; the companion imports the very
same file as ``twitchlog.firmware.protocol``.  Keep it free of hardware
imports and of CPython-only syntax (mpy-cross is the gate).

Byte tables live in PROTOCOL.md; keep the two in step.
"""

import struct
from binascii import crc32

try:
    from micropython import const
except ImportError:  # CPython: const() is only a compile-time hint
    const = lambda x: x  # noqa: E731


PROTOCOL_VERSION = const(1)


class ProtocolError(ValueError):
    """Bytes that do not decode to a valid value.  Never returns wrong data."""


# ---------------------------------------------------------------- UUIDs
# Our own 128-bit base; the 16-bit short id goes in bytes 2-3 ("xxxx").
_UUID_HEAD = "7b1e"
_UUID_TAIL = "-5c2d-4f83-9a61-2e0c8d4b7f35"


def tl_uuid(short):
    """The 128-bit UUID string of one of our attributes."""
    return _UUID_HEAD + "%04x" % short + _UUID_TAIL


SERVICE_UUID = tl_uuid(0x0001)
CONTROL_POINT_UUID = tl_uuid(0x0002)  # RACP: write + indicate
RECORDS_UUID = tl_uuid(0x0003)  # packed records: notify
STATUS_UUID = tl_uuid(0x0004)  # read
SETTINGS_UUID = tl_uuid(0x0005)  # read / write

# Bluetooth SIG assigned numbers (16-bit)
UUID_DEVICE_INFORMATION = const(0x180A)
UUID_MANUFACTURER_NAME = const(0x2A29)
UUID_MODEL_NUMBER = const(0x2A24)
UUID_SERIAL_NUMBER = const(0x2A25)
UUID_FIRMWARE_REVISION = const(0x2A26)
UUID_BATTERY_SERVICE = const(0x180F)
UUID_BATTERY_LEVEL = const(0x2A19)
UUID_CURRENT_TIME_SERVICE = const(0x1805)
UUID_CURRENT_TIME = const(0x2A2B)
UUID_LOCAL_TIME_INFO = const(0x2A0F)

# ---------------------------------------------------------------- record kinds
# 0x01..0x3F are symptom codes (the companion names them).
KIND_TWITCH = const(0x01)
KIND_CRAMP = const(0x02)
KIND_SPASM = const(0x03)
KIND_TREMOR = const(0x04)
KIND_TINGLING = const(0x05)
KIND_RESTLESS_LEGS = const(0x06)
KIND_MIGRAINE = const(0x07)
KIND_ANXIETY = const(0x08)
KIND_EYELID = const(0x09)
KIND_SYMPTOM_MAX = const(0x3F)
# 0x40..0x7F: things the wearer logs that are not symptoms.  Outside the
# symptom range, so the analysis never counts them as events.
KIND_DOSE = const(0x40)  # "dose taken": the companion makes it an intake entry
# Bookkeeping records; never symptoms.
KIND_TOMBSTONE = const(0x80)  # arg = seq of the record it undoes
KIND_ANCHOR = const(0x81)  # time = device clock before the set, arg = new time

# Symptom record arg bits
ARG_AT_WAKE = const(0x01)  # the press woke the chip; time is the wake time

# ---------------------------------------------------------------- records
# <seq u32> <time u32> <arg u32> <boot u8> <kind u8> <crc u16>, little-endian.
# time: device clock, seconds since 2000-01-01 (the ESP32 MicroPython epoch).
# crc: low 16 bits of CRC-32/IEEE over bytes 0..13 (binascii.crc32 is in C on
# the device, a table-driven CRC-16 in Python is not).
RECORD_SIZE = const(16)
_BODY_SIZE = const(14)
_BODY_FMT = "<IIIBB"
_U32_MAX = const(0xFFFFFFFF)


def record_crc(buf, off=0):
    return crc32(memoryview(buf)[off : off + _BODY_SIZE]) & 0xFFFF


def pack_record_into(buf, off, seq, time, arg, boot, kind):
    """Write one record (with its CRC) into buf at off."""
    struct.pack_into(_BODY_FMT, buf, off, seq, time, arg, boot, kind)
    struct.pack_into("<H", buf, off + _BODY_SIZE, record_crc(buf, off))


def pack_record(seq, time, arg, boot, kind):
    buf = bytearray(RECORD_SIZE)
    pack_record_into(buf, 0, seq, time, arg, boot, kind)
    return bytes(buf)


def record_valid(buf, off=0):
    """True if the 16 bytes at off carry a matching CRC."""
    if off + RECORD_SIZE > len(buf):
        return False
    return struct.unpack_from("<H", buf, off + _BODY_SIZE)[0] == record_crc(buf, off)


def record_seq(buf, off=0):
    return struct.unpack_from("<I", buf, off)[0]


def unpack_record(buf, off=0):
    """(seq, time, arg, boot, kind) of the record at off; ProtocolError if bad."""
    if off < 0 or off + RECORD_SIZE > len(buf):
        raise ProtocolError("record truncated")
    if not record_valid(buf, off):
        raise ProtocolError("record CRC mismatch")
    return struct.unpack_from(_BODY_FMT, buf, off)


def records_per_notification(mtu):
    """How many records fit one notification (ATT payload is MTU - 3)."""
    if mtu < 23:
        raise ProtocolError("MTU below the BLE minimum of 23")
    return (mtu - 3) // RECORD_SIZE


def notification_chunks(packed, mtu):
    """Split back-to-back records into notification payloads for this MTU."""
    if len(packed) % RECORD_SIZE:
        raise ProtocolError("packed records are not whole records")
    step = records_per_notification(mtu) * RECORD_SIZE
    mv = memoryview(packed)
    for off in range(0, len(packed), step):
        yield mv[off : off + step]


def unpack_notification(data):
    """All records of one Records notification, in order.

    Refuses the whole packet if its length is not a whole number of records
    or any record fails its CRC: a partial packet is never half-accepted.
    """
    n = len(data)
    if n == 0 or n % RECORD_SIZE:
        raise ProtocolError("notification of %d bytes is not whole records" % n)
    return [unpack_record(data, off) for off in range(0, n, RECORD_SIZE)]


# ---------------------------------------------------------------- RACP
# Record Access Control Point, after the Glucose Profile (GLS 1.0 / GSS).
OP_REPORT = const(0x01)
OP_DELETE = const(0x02)
OP_ABORT = const(0x03)
OP_REPORT_NUMBER = const(0x04)
OP_NUMBER_RESPONSE = const(0x05)
OP_RESPONSE_CODE = const(0x06)

OPR_NULL = const(0x00)
OPR_ALL = const(0x01)
OPR_LE = const(0x02)
OPR_GE = const(0x03)
OPR_RANGE = const(0x04)
OPR_FIRST = const(0x05)
OPR_LAST = const(0x06)

FILTER_SEQ = const(0x01)  # uint32 LE: widened from the spec's uint16

RSP_SUCCESS = const(0x01)
RSP_OP_NOT_SUPPORTED = const(0x02)
RSP_INVALID_OPERATOR = const(0x03)
RSP_OPERATOR_NOT_SUPPORTED = const(0x04)
RSP_INVALID_OPERAND = const(0x05)
RSP_NO_RECORDS = const(0x06)
RSP_ABORT_UNSUCCESSFUL = const(0x07)
RSP_NOT_COMPLETED = const(0x08)
RSP_OPERAND_NOT_SUPPORTED = const(0x09)

# ATT application errors used as the GLS spec uses them
ATT_ERR_PROCEDURE_IN_PROGRESS = const(0x80)
ATT_ERR_CCCD_IMPROPER = const(0x81)
ATT_ERR_WRITE_NOT_PERMITTED = const(0x03)
ATT_ERR_INVALID_LENGTH = const(0x0D)
ATT_ERR_VALUE_NOT_ALLOWED = const(0x13)  # "Out of Range" (CSS 1.4.3)


class RacpError(ProtocolError):
    """A request that earns a Response Code indication other than success."""

    def __init__(self, op, code):
        super().__init__("RACP op 0x%02x refused with code 0x%02x" % (op, code))
        self.op = op
        self.code = code


_RECORD_OPS = (OP_REPORT, OP_DELETE, OP_REPORT_NUMBER)


def parse_racp_request(data):
    """Device side: (op, operator, lo, hi) with lo/hi inclusive sequence bounds.

    lo/hi are None where the operator does not bound them (ALL, FIRST, LAST
    and the open end of LE/GE).  Raises RacpError with the RACP response code
    the request has earned.
    """
    if not data:
        raise RacpError(0, RSP_OP_NOT_SUPPORTED)
    op = data[0]
    if op != OP_ABORT and op not in _RECORD_OPS:
        raise RacpError(op, RSP_OP_NOT_SUPPORTED)
    if len(data) < 2:
        raise RacpError(op, RSP_INVALID_OPERATOR)
    operator = data[1]
    operand = data[2:]
    if op == OP_ABORT:
        if operator != OPR_NULL:
            raise RacpError(op, RSP_INVALID_OPERATOR)
        if operand:
            raise RacpError(op, RSP_INVALID_OPERAND)
        return op, operator, None, None
    if operator == OPR_NULL:
        raise RacpError(op, RSP_INVALID_OPERATOR)
    if operator > OPR_LAST:
        raise RacpError(op, RSP_OPERATOR_NOT_SUPPORTED)
    if operator in (OPR_ALL, OPR_FIRST, OPR_LAST):
        if operand:
            raise RacpError(op, RSP_INVALID_OPERAND)
        return op, operator, None, None
    if not operand:
        raise RacpError(op, RSP_INVALID_OPERAND)
    if operand[0] != FILTER_SEQ:
        raise RacpError(op, RSP_OPERAND_NOT_SUPPORTED)
    want = 9 if operator == OPR_RANGE else 5
    if len(operand) != want:
        raise RacpError(op, RSP_INVALID_OPERAND)
    if operator == OPR_RANGE:
        lo, hi = struct.unpack_from("<II", operand, 1)
        if lo > hi:
            raise RacpError(op, RSP_INVALID_OPERAND)
        return op, operator, lo, hi
    value = struct.unpack_from("<I", operand, 1)[0]
    if operator == OPR_LE:
        return op, operator, None, value
    return op, operator, value, None


def select_range(operator, lo, hi, first, last):
    """Resolve a parsed request against the stored span [first, last].

    Returns the inclusive (lo, hi) seq span to act on, or None when no
    stored record matches.  first > last means the log is empty.
    """
    if first > last:
        return None
    if operator == OPR_FIRST:
        return first, first
    if operator == OPR_LAST:
        return last, last
    lo = first if lo is None or lo < first else lo
    hi = last if hi is None or hi > last else hi
    if lo > hi:
        return None
    return lo, hi


def racp_request(op, operator=OPR_NULL, lo=None, hi=None):
    """Companion side: encode a request."""
    if operator == OPR_LE:
        return struct.pack("<BBBI", op, operator, FILTER_SEQ, hi)
    if operator == OPR_GE:
        return struct.pack("<BBBI", op, operator, FILTER_SEQ, lo)
    if operator == OPR_RANGE:
        return struct.pack("<BBBII", op, operator, FILTER_SEQ, lo, hi)
    return bytes((op, operator))


def racp_number_response(count):
    return struct.pack("<BBI", OP_NUMBER_RESPONSE, OPR_NULL, count)


def racp_response_code(request_op, code):
    return bytes((OP_RESPONSE_CODE, OPR_NULL, request_op, code))


def parse_racp_response(data):
    """Companion side: ("number", count) or ("code", request_op, code)."""
    if len(data) == 6 and data[0] == OP_NUMBER_RESPONSE and data[1] == OPR_NULL:
        return ("number", struct.unpack_from("<I", data, 2)[0])
    if len(data) == 4 and data[0] == OP_RESPONSE_CODE and data[1] == OPR_NULL:
        return ("code", data[2], data[3])
    raise ProtocolError("malformed RACP response %r" % bytes(data))


# ---------------------------------------------------------------- status
# See PROTOCOL.md "Status".  Clock states:
CLOCK_UNSET = const(0)  # RTC reset this boot and not set since
CLOCK_SET = const(1)  # set (anchored) at least once this boot
_STATUS_FMT = "<BIIIIBBHHHHI"
STATUS_SIZE = struct.calcsize(_STATUS_FMT)
STATUS_FIELDS = (
    "version",
    "count",
    "first_seq",
    "last_seq",
    "free_records",
    "boot_id",
    "clock_state",
    "lost_twitch",
    "lost_cramp",
    "lost_other",
    "battery_mv",
    "device_time",
)


def pack_status(count, first_seq, last_seq, free_records, boot_id, clock_state, lost, battery_mv, device_time):
    """lost is (twitch, cramp, other); counters saturate at 65535."""
    return struct.pack(
        _STATUS_FMT,
        PROTOCOL_VERSION,
        count,
        first_seq,
        last_seq,
        free_records,
        boot_id,
        clock_state,
        min(lost[0], 0xFFFF),
        min(lost[1], 0xFFFF),
        min(lost[2], 0xFFFF),
        battery_mv,
        device_time,
    )


def unpack_status(data):
    """A dict of STATUS_FIELDS; ProtocolError if the bytes are not a status."""
    if len(data) != STATUS_SIZE:
        raise ProtocolError("status is %d bytes, expected %d" % (len(data), STATUS_SIZE))
    values = struct.unpack(_STATUS_FMT, data)
    if values[0] != PROTOCOL_VERSION:
        raise ProtocolError("unsupported protocol version %d" % values[0])
    if values[6] > CLOCK_SET:
        raise ProtocolError("unknown clock state %d" % values[6])
    return dict(zip(STATUS_FIELDS, values))


# ---------------------------------------------------------------- settings
# Gesture actions: the kind to record (a symptom 0x01..0x3F or KIND_DOSE),
# undo, or nothing.  Dose is opt-in: no default gesture records it.
ACTION_NONE = const(0x00)
ACTION_DOSE = KIND_DOSE
ACTION_UNDO = const(0xF0)
_SETTINGS_FMT = "<BBBBHHH"
SETTINGS_SIZE = struct.calcsize(_SETTINGS_FMT)
# name: (low, high) accepted range, inclusive; seconds for windows.
SETTINGS_LIMITS = {
    "event_window_s": (0, 300),
    "sync_window_s": (10, 900),
    "pair_window_s": (10, 300),
}
DEFAULT_SETTINGS = {
    "click1": KIND_TWITCH,
    "click2": KIND_CRAMP,
    "click3": ACTION_UNDO,
    # 0: BLE stays off after a press.  An awake CPU is ~24 mA, so a 20 s
    # window per event was 60% of the daily charge (hardware/POWER.md);
    # `twitchlog device settings --set event_window_s=20` buys it back.
    "event_window_s": 0,
    "sync_window_s": 120,
    "pair_window_s": 60,
}


def _action_ok(action):
    return action in (ACTION_NONE, ACTION_UNDO, ACTION_DOSE) or 1 <= action <= KIND_SYMPTOM_MAX


def validate_settings(s):
    """Raise ProtocolError unless every field of settings dict s is in range."""
    for key in ("click1", "click2", "click3"):
        if not _action_ok(s[key]):
            raise ProtocolError("%s: action 0x%02x is not a symptom kind, dose or undo" % (key, s[key]))
    for key in SETTINGS_LIMITS:
        low, high = SETTINGS_LIMITS[key]
        if not low <= s[key] <= high:
            raise ProtocolError("%s: %d outside %d..%d" % (key, s[key], low, high))


def pack_settings(s):
    validate_settings(s)
    return struct.pack(
        _SETTINGS_FMT,
        PROTOCOL_VERSION,
        s["click1"],
        s["click2"],
        s["click3"],
        s["event_window_s"],
        s["sync_window_s"],
        s["pair_window_s"],
    )


def unpack_settings(data):
    if len(data) != SETTINGS_SIZE:
        raise ProtocolError("settings are %d bytes, expected %d" % (len(data), SETTINGS_SIZE))
    v = struct.unpack(_SETTINGS_FMT, data)
    if v[0] != PROTOCOL_VERSION:
        raise ProtocolError("unsupported settings version %d" % v[0])
    s = {
        "click1": v[1],
        "click2": v[2],
        "click3": v[3],
        "event_window_s": v[4],
        "sync_window_s": v[5],
        "pair_window_s": v[6],
    }
    validate_settings(s)
    return s


# ---------------------------------------------------------------- Current Time
# CTS 0x2A2B: Exact Time 256 (year u16, month, day, h, m, s, day of week,
# fractions256) + adjust reason.  The device keeps UTC, so Local Time
# Information (0x2A0F) is always zone 0, DST 0.
CTS_SIZE = const(10)
ADJUST_MANUAL = const(0x01)
ADJUST_EXTERNAL_REF = const(0x02)
ADJUST_TIME_ZONE = const(0x04)
ADJUST_DST = const(0x08)
_EPOCH_DAYS_2000 = const(10957)  # days from 1970-01-01 to 2000-01-01
LOCAL_TIME_INFO_UTC = b"\x00\x00"


def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z):
    """(year, month, day) of a day count since 1970-01-01."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


def pack_current_time(device_time, fractions256=0, adjust_reason=0):
    """CTS bytes for a device time (seconds since 2000-01-01 UTC)."""
    days, secs = divmod(device_time, 86400)
    y, mo, d = civil_from_days(days + _EPOCH_DAYS_2000)
    weekday = (days + 5) % 7 + 1  # 2000-01-01 was a Saturday; 1 = Monday
    return struct.pack(
        "<HBBBBBBBB", y, mo, d, secs // 3600, secs // 60 % 60, secs % 60, weekday, fractions256, adjust_reason
    )


def unpack_current_time(data):
    """(device_time, fractions256, adjust_reason); ProtocolError if invalid.

    Year 0 / month 0 / day 0 mean "unknown" in the spec; a time we cannot
    place is refused rather than guessed.
    """
    if len(data) != CTS_SIZE:
        raise ProtocolError("Current Time is %d bytes, expected %d" % (len(data), CTS_SIZE))
    y, mo, d, h, mi, s, wd, frac, reason = struct.unpack("<HBBBBBBBB", data)
    if not 2000 <= y <= 2136:
        raise ProtocolError("year %d outside 2000..2136" % y)
    if not 1 <= mo <= 12 or not 1 <= d <= 31:
        raise ProtocolError("invalid date %d-%d-%d" % (y, mo, d))
    if h > 23 or mi > 59 or s > 59 or wd > 7:
        raise ProtocolError("invalid time of day %d:%d:%d" % (h, mi, s))
    days = days_from_civil(y, mo, d)
    if civil_from_days(days) != (y, mo, d):
        raise ProtocolError("no such date %d-%d-%d" % (y, mo, d))
    t = (days - _EPOCH_DAYS_2000) * 86400 + h * 3600 + mi * 60 + s
    if t > _U32_MAX:
        raise ProtocolError("time beyond the device clock range")
    return t, frac, reason
