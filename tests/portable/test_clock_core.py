"""Clock anchors and placing device times in UTC; CPython and MicroPython."""

import clock as C
import protocol as P
from _support import fresh_dir
from eventlog import EventLog
from fsio import PosixFS

U = C.UNIX_AT_2000
TW = P.KIND_TWITCH
AN = P.KIND_ANCHOR


def _placed(records):
    return [(seq, None if utc is None else round(utc, 3), q) for seq, utc, q in C.place_times(records)]


def test_drift_between_anchors_is_corrected_linearly():
    # Set at true 10_000; the clock then runs 5% fast: 86400 s true reads 90720.
    recs = [
        (1, 50, 10000, 3, AN),
        (2, 10000 + 45360, 0, 3, TW),  # half-way in device time = half a day true
        (3, 10000 + 90720, 10000 + 86400, 3, AN),
    ]
    assert _placed(recs) == [
        (1, 10000 + U, C.TIME_ANCHORED),
        (2, 10000 + 43200 + U, C.TIME_ANCHORED),
        (3, 10000 + 86400 + U, C.TIME_ANCHORED),
    ]


def test_records_before_the_first_anchor_are_backdated_from_it():
    # RTC reset to 0 at power-on; 600 device s later the companion sets it.
    recs = [(1, 100, 0, 9, TW), (2, 600, 800000000, 9, AN)]
    assert _placed(recs)[0] == (1, 800000000 - 500 + U, C.TIME_BACKDATED)


def test_records_after_the_last_anchor_use_the_last_measured_rate():
    recs = [(1, 0, 1000, 1, AN), (2, 3000, 3000, 1, AN), (3, 5000, 0, 1, TW)]
    # rate = (3000-1000)/(3000-1000) = 1; then 2000 device s later
    assert _placed(recs)[2] == (3, 5000 + U, C.TIME_EXTRAPOLATED)
    fast = [(1, 0, 1000, 1, AN), (2, 3100, 3000, 1, AN), (3, 5100, 0, 1, TW)]
    assert _placed(fast)[2] == (3, round(3000 + 2100 * 2000 / 2100 + U, 3), C.TIME_EXTRAPOLATED)


def test_a_boot_without_anchors_is_time_unknown():
    recs = [(1, 10, 0, 1, AN), (2, 20, 0, 1, TW), (3, 5, 0, 2, TW), (4, 9, 0, 2, TW)]
    placed = _placed(recs)
    assert placed[2] == (3, None, C.TIME_UNKNOWN) and placed[3] == (4, None, C.TIME_UNKNOWN)


def test_boot_change_starts_a_new_epoch():
    recs = [
        (1, 0, 100000, 1, AN),
        (2, 100500, 0, 1, TW),
        (3, 30, 0, 2, TW),  # power lost: RTC restarted near zero
        (4, 60, 200000, 2, AN),
    ]
    placed = _placed(recs)
    assert placed[1] == (2, 100500 + U, C.TIME_EXTRAPOLATED)
    assert placed[2] == (3, 199970 + U, C.TIME_BACKDATED)


def test_inconsistent_anchors_are_flagged_not_guessed():
    # The device clock advanced 100 s while 10,000 true seconds passed.
    recs = [(1, 0, 1000, 1, AN), (2, 1050, 0, 1, TW), (3, 1100, 11000, 1, AN)]
    assert _placed(recs)[1] == (2, None, C.TIME_UNKNOWN)


class _Rtc:
    def __init__(self, t):
        self.t = t

    def read(self):
        return self.t

    def write(self, t):
        self.t = t


def test_setting_the_clock_anchors_before_it_changes_the_rtc():
    log = EventLog(PosixFS(), fresh_dir("clk"), 4)
    log.open()
    rtc = _Rtc(123)
    clk = C.DeviceClock(rtc.read, rtc.write, log, boot_id=5)
    assert clk.state == P.CLOCK_UNSET
    seq = clk.set(800000000)
    assert seq == 1 and rtc.t == 800000000 and clk.state == P.CLOCK_SET
    reader = log.reader()
    buf = bytearray(16)
    reader.readinto(buf)
    assert tuple(P.unpack_record(buf)) == (1, 123, 800000000, 5, AN)


def test_clock_is_left_alone_when_the_anchor_cannot_be_stored():
    log = EventLog(PosixFS(), fresh_dir("clkfull"), 2)
    log.open()
    for i in range(511):
        log.append(TW, i, 1)
    rtc = _Rtc(500)
    clk = C.DeviceClock(rtc.read, rtc.write, log, boot_id=1)
    assert clk.set(800000000) == 0
    assert rtc.t == 500 and clk.state == P.CLOCK_UNSET and log.lost[2] == 1


def test_a_quick_resync_does_not_make_times_unknown():
    # Two anchors 2 s apart (a re-sync on reconnect) cannot measure drift; the
    # records around them keep their places and the long-span rate is used.
    recs = [
        (1, 100, 0, 1, TW),
        (2, 600, 800000000, 1, AN),
        (3, 800000000 + 90720, 800086400, 1, AN),  # a day at 5% fast
        (4, 800086400 + 2, 800086401, 1, AN),  # 2 s later, set times rounded
        (5, 800086401 + 1050, 0, 1, TW),
    ]
    placed = _placed(recs)
    assert placed[0][2] == C.TIME_BACKDATED and placed[0][1] is not None
    assert placed[4] == (5, round(800086401 + 1000 + U, 3), C.TIME_EXTRAPOLATED)
