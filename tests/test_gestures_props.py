"""Property test: the gesture decoder against random press timelines with bounce."""

import gestures as G
from hypothesis import given, settings
from hypothesis import strategies as st

click_train = st.tuples(
    st.just("clicks"),
    st.lists(st.tuples(st.integers(40, 1400), st.integers(40, 350)), min_size=1, max_size=4),
)
hold = st.tuples(st.just("hold"), st.integers(1600, 5900))
pair = st.tuples(st.just("pair"), st.integers(6100, 9000))
gesture = st.one_of(click_train, hold, pair)


def _with_bounce(edges, bounces):
    """Insert contact bounce (shorter than the debounce time) after each edge."""
    out = []
    for (t, level), n in zip(edges, bounces, strict=False):  # the caller pads bounces: longer than edges
        out.append((t, level))
        for i in range(n):
            out.append((t + 3 + 6 * i, not level if i % 2 == 0 else level))
        if n % 2:
            out.append((t + 3 + 6 * n, level))
    return out


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(gesture, st.integers(460, 3000)), min_size=1, max_size=6),
    st.lists(st.integers(0, 3), min_size=60, max_size=60),
)
def test_decoder_matches_reference_on_random_timelines(plan, bounces):
    t = 50
    edges, expected = [], []
    for (kind, spec), gap_after in plan:
        if kind == "clicks":
            expected.append((min(len(spec), G.CLICK3), t))
            for i, (down, up_gap) in enumerate(spec):
                edges += [(t, True), (t + down, False)]
                t += down + (up_gap if i < len(spec) - 1 else 0)
        else:
            expected.append((G.HOLD, t))
            if kind == "pair":
                expected.append((G.PAIR_HOLD, t))
            edges += [(t, True), (t + spec, False)]
            t += spec
        t += gap_after
    edges = _with_bounce(edges, bounces + [0] * len(edges))
    d = G.GestureDecoder()
    got, level, now, i = [], False, 0, 0
    end = t + 1000
    while now <= end:
        while i < len(edges) and edges[i][0] <= now:
            level = edges[i][1]
            out = d.update(level, edges[i][0])
            if out:
                got.append(out)
            i += 1
        out = d.update(level, now)
        if out:
            got.append(out)
        now += 5
    assert got == expected
    assert d.idle()
