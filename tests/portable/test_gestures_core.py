"""Gesture decoder timing rules; runs under CPython and MicroPython."""

import gestures as G


def _run(timeline, until, wake=None, step=10, decoder=None):
    """Feed the pin level every `step` ms; timeline is [(t_ms, pressed)] edges.

    Returns every (gesture, first_press_ms) emitted up to `until`.
    """
    d = decoder or G.GestureDecoder()
    out = []
    level = False
    edges = list(timeline)
    t = 0
    if wake is not None:
        d.wake(0, wake)
        level = wake
    while t <= until:
        while edges and edges[0][0] <= t:
            level = edges.pop(0)[1]
            got = d.update(level, t)
            if got:
                out.append(got)
        got = d.update(level, t)
        if got:
            out.append(got)
        t += step
    return out


def _clicks(starts, down_ms=80):
    timeline = []
    for s in starts:
        timeline.append((s, True))
        timeline.append((s + down_ms, False))
    return timeline


def test_single_double_triple_click():
    assert _run(_clicks([100]), 2000) == [(G.CLICK1, 100)]
    assert _run(_clicks([100, 400]), 2000) == [(G.CLICK2, 100)]
    assert _run(_clicks([100, 400, 700]), 2000) == [(G.CLICK3, 100)]
    assert _run(_clicks([100, 400, 700, 1000]), 3000) == [(G.CLICK3, 100)]


def test_a_slow_second_click_is_a_new_twitch():
    assert _run(_clicks([100, 700]), 3000) == [(G.CLICK1, 100), (G.CLICK1, 700)]


def test_click_is_emitted_only_after_the_double_click_window():
    d = G.GestureDecoder()
    assert _run(_clicks([0]), 470, decoder=d) == []  # released at 80, window ends 480
    assert not d.idle()
    assert d.update(False, 480) == (G.CLICK1, 0)
    assert d.idle()


def test_hold_then_pair_hold_while_still_pressed():
    out = _run([(100, True), (7000, False)], 8000)
    assert out == [(G.HOLD, 100), (G.PAIR_HOLD, 100)]
    assert _run([(100, True), (2000, False)], 3000) == [(G.HOLD, 100)]


def test_clicks_just_before_a_hold_still_count():
    out = _run([(100, True), (180, False), (400, True), (2500, False)], 3000)
    assert out == [(G.CLICK1, 100), (G.HOLD, 400)]


def test_contact_bounce_is_ignored():
    bouncy = [(100, True), (105, False), (110, True), (180, False), (185, True), (190, False)]
    assert _run(bouncy, 2000, step=1) == [(G.CLICK1, 100)]


def test_the_press_that_woke_the_chip_counts():
    # Released before Python ran: one click, timestamped at wake.
    assert _run([], 1000, wake=False) == [(G.CLICK1, 0)]
    # ...and a second press soon after makes it a double click.
    assert _run(_clicks([300]), 1500, wake=False) == [(G.CLICK2, 0)]
    # Still held at wake: a hold measured from the wake.
    assert _run([(1600, False)], 2500, wake=True) == [(G.HOLD, 0)]
    assert _run([(200, False)], 1500, wake=True) == [(G.CLICK1, 0)]


def test_held_ms_reports_progress_for_led_feedback():
    d = G.GestureDecoder()
    d.update(True, 1000)
    assert d.held_ms(1800) == 800
    d.update(False, 1900)
    assert d.held_ms(2000) == 0


def test_tuning_is_per_instance_attributes():
    d = G.GestureDecoder()
    d.double_click_ms = 150
    assert _run(_clicks([100, 400]), 2000, decoder=d) == [(G.CLICK1, 100), (G.CLICK1, 400)]


def test_tick_counter_wraparound():
    start = (1 << 30) - 200
    d = G.GestureDecoder()
    assert d.update(True, start) is None
    assert d.update(False, (start + 80) & ((1 << 30) - 1)) is None
    assert d.update(False, (start + 300) & ((1 << 30) - 1)) is None
    assert d.update(False, (start + 500) & ((1 << 30) - 1)) == (G.CLICK1, start)
    assert G.ticks_diff(5, (1 << 30) - 5) == 10


def test_deadlines_are_checked_before_the_edge_that_follows_them():
    # A press 410 ms after the release starts a new series, even when the
    # poll that would have seen the window close never came.
    d = G.GestureDecoder()
    assert d.update(True, 0) is None
    assert d.update(False, 80) is None
    assert d.update(True, 490) == (G.CLICK1, 0)
    assert d.update(False, 560) is None
    assert d.update(False, 1000) == (G.CLICK1, 490)
    # A 1.6 s press with no poll in between is a hold, not a click.
    d = G.GestureDecoder()
    d.update(True, 0)
    assert d.update(False, 1600) == (G.HOLD, 0)
    assert d.update(False, 2500) is None and d.idle()
    # Held at wake and released 2 s later: a hold.
    d = G.GestureDecoder()
    d.wake(0, True)
    assert d.update(False, 2000) == (G.HOLD, 0)
