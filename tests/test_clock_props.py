"""Property test: drift correction places records within a second of true UTC."""

import clock as C
import protocol as P
from hypothesis import given
from hypothesis import strategies as st


@given(
    rate=st.floats(0.95, 1.05),
    start=st.integers(0, 10_000),
    true_set=st.integers(700_000_000, 900_000_000),
    gaps=st.lists(st.integers(60, 5 * 86400), min_size=1, max_size=6),
    events_per_gap=st.integers(0, 5),
)
def test_records_between_anchors_land_within_a_second(rate, start, true_set, gaps, events_per_gap):
    """A clock that ticks `rate` device seconds per true second, set at each sync."""
    records, truth = [], {}
    seq = 1
    device = start
    records.append((seq, device, true_set, 1, P.KIND_ANCHOR))
    true_now = true_set
    device = true_set  # the set took effect
    for gap in gaps:
        for k in range(1, events_per_gap + 1):
            t_true = true_now + gap * k // (events_per_gap + 1)
            seq += 1
            records.append((seq, device + round((t_true - true_now) * rate), 0, 1, P.KIND_TWITCH))
            truth[seq] = t_true
        true_now += gap
        device += round(gap * rate)
        seq += 1
        records.append((seq, device, true_now, 1, P.KIND_ANCHOR))
        device = true_now
    for seq, utc, quality in C.place_times(records):
        if seq in truth:
            assert quality == C.TIME_ANCHORED
            assert abs(utc - C.UNIX_AT_2000 - truth[seq]) <= 1.0
