"""Clock provenance: device time, boot epochs, anchors, and placing records in UTC.

The ESP32 RTC restarts from zero on power loss and its RC oscillator drifts
by whole percents in deep sleep.  So the device never claims to know UTC;
it records its own clock (seconds since 2000-01-01) plus a boot id, and every
time set writes an anchor record (clock before the set, UTC set).  The
companion places records afterwards with ``place_times``.

Boot ids are an 8-bit counter bumped at every start that lost the RTC.  Only
a change between seq-consecutive records matters, never the absolute value.
"""

try:
    from . import protocol  # the companion: twitchlog.firmware
except ImportError:
    import protocol  # the device: flat modules

try:
    from micropython import const
except ImportError:  # CPython: const() is only a compile-time hint
    const = lambda x: x  # noqa: E731


UNIX_AT_2000 = const(946684800)

TIME_ANCHORED = const(0)  # between two anchors: drift-corrected
TIME_EXTRAPOLATED = const(1)  # after the last anchor: last measured rate assumed
TIME_BACKDATED = const(2)  # before the first anchor of its boot: from that anchor
TIME_UNKNOWN = const(3)  # no anchor in its boot, or inconsistent anchors
TIME_QUALITY_NAMES = ("anchored", "extrapolated", "backdated", "unknown")

# Rates outside this band mean the anchors do not describe one oscillator
# (e.g. a reset the boot id missed); such records are flagged, not guessed.
_RATE_MIN = 0.75
_RATE_MAX = 1.34


class DeviceClock:
    """The device's clock and its epoch bookkeeping.

    read_rtc() -> seconds since 2000; write_rtc(seconds) sets it.  Both come
    from board.py.  log is the EventLog the anchors go into.
    """

    def __init__(self, read_rtc, write_rtc, log, boot_id, state=protocol.CLOCK_UNSET):
        self._read = read_rtc
        self._write = write_rtc
        self.log = log
        self.boot_id = boot_id
        self.state = state

    def now(self):
        return self._read()

    def set(self, new_time):
        """Set the clock, anchoring the change first.  Returns the anchor seq.

        If the anchor cannot be stored (log full) the clock is left alone:
        records on either side of an unrecorded jump could not be placed.
        """
        old = self._read()
        seq = self.log.append(protocol.KIND_ANCHOR, old, self.boot_id, new_time)
        if seq:
            self._write(new_time)
            self.state = protocol.CLOCK_SET
        return seq


# Anchors closer than this (device seconds) are too close for whole-second
# set times to measure drift: their rate still interpolates between them
# (the error stays within the rounding), but is not extrapolated from.
_MIN_RATE_SPAN = const(600)


def _rate(anchor_a, anchor_b):
    """(true seconds per device second, measured?) between two anchors of a boot.

    The rate is None when the anchors contradict each other.
    """
    device_span = anchor_b[0] - anchor_a[1]
    true_span = anchor_b[1] - anchor_a[1]
    if device_span <= 0 or true_span < 0:
        return (1.0 if device_span == true_span == 0 else None), False
    rate = true_span / device_span
    if device_span < _MIN_RATE_SPAN:
        # Allow the set times' rounding (2 s) on top of the plausible band.
        slack = 2 + device_span * (_RATE_MAX - 1)
        return (rate if abs(true_span - device_span) <= slack else None), False
    if not _RATE_MIN <= rate <= _RATE_MAX:
        return None, True
    return rate, True


def _place_epoch(records, out):
    # anchors: (old, new) in seq order; segment j of the epoch is the span
    # after anchor j-1 (segment 0: before the first anchor).
    anchors = [(r[1], r[2]) for r in records if r[4] == protocol.KIND_ANCHOR]
    pairs = [_rate(anchors[j], anchors[j + 1]) for j in range(len(anchors) - 1)]
    rates = [rate for rate, _ in pairs]
    measured = [rate for rate, ok in pairs if ok and rate is not None]
    first_rate = measured[0] if measured else 1.0
    last_rate = measured[-1] if measured else 1.0
    segment = 0
    for r in records:
        t = r[1]
        if r[4] == protocol.KIND_ANCHOR:
            segment += 1
            out.append((r[0], r[2] + UNIX_AT_2000, TIME_ANCHORED))
            continue
        if not anchors:
            out.append((r[0], None, TIME_UNKNOWN))
            continue
        if segment == 0:
            old, new = anchors[0]
            utc = new - (old - t) * first_rate
            quality = TIME_BACKDATED
        else:
            base = anchors[segment - 1][1]
            if segment < len(anchors):
                rate = rates[segment - 1]
                quality = TIME_ANCHORED
            else:
                rate = last_rate
                quality = TIME_EXTRAPOLATED
            utc = None if rate is None else base + (t - base) * rate
        if utc is None:
            out.append((r[0], None, TIME_UNKNOWN))
        else:
            out.append((r[0], utc + UNIX_AT_2000, quality))


def place_times(records):
    """Map device times to UTC.

    records: (seq, time, arg, boot, kind) tuples of one device, in seq order
    (as unpack_record returns them).  Returns [(seq, unix_utc_or_None,
    quality)] in the same order.  Within a boot, times between anchors are
    corrected linearly (removing drift); before the first anchor they are
    placed from it; after the last one the last measured rate is assumed.
    """
    out = []
    epoch = []
    boot = None
    for r in records:
        if epoch and r[3] != boot:
            _place_epoch(epoch, out)
            epoch = []
        boot = r[3]
        epoch.append(r)
    if epoch:
        _place_epoch(epoch, out)
    return out
