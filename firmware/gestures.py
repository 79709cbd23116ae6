"""One-button gesture decoder: a pure state machine fed (pressed, now_ms).

Timing (defaults; tune the class attributes, as in Peter Hinch's Pushbutton):

    gesture             rule                                        emitted
    single/double/      1, 2 or >=3 presses shorter than            double_click_ms after
    triple click        long_press_ms, each next press starting     the last release
                        within double_click_ms of the last release
    hold                pressed for long_press_ms (1.5 s)           while still held
    pair hold           pressed for pair_press_ms (6 s)             while still held
                        (a pair hold is preceded by a hold)

Edges closer than debounce_ms to the last accepted edge are contact bounce
and ignored; call update() periodically as well as on edges so that a real
edge swallowed as bounce is picked up by the next sample.

Every gesture carries the ms time of its first press.  now_ms may be a
wrapping tick counter (MicroPython time.ticks_ms, 2**30 period).
"""

try:
    from micropython import const
except ImportError:  # CPython: const() is only a compile-time hint
    const = lambda x: x  # noqa: E731


CLICK1 = const(1)
CLICK2 = const(2)
CLICK3 = const(3)
HOLD = const(4)
PAIR_HOLD = const(5)

_IDLE = const(0)
_DOWN = const(1)  # pressed, not yet a hold
_HELD = const(2)  # pressed and already emitted as a hold
_UP = const(3)  # released after clicks, waiting for another press
_PERIOD_MASK = const(0x3FFFFFFF)
_HALF_PERIOD = const(0x20000000)


def ticks_diff(a, b):
    """a - b for a 2**30-periodic tick counter (matches time.ticks_diff)."""
    return ((a - b + _HALF_PERIOD) & _PERIOD_MASK) - _HALF_PERIOD


class GestureDecoder:
    debounce_ms = 30
    double_click_ms = 400
    long_press_ms = 1500
    pair_press_ms = 6000

    def __init__(self):
        self._state = _IDLE
        self._pressed = False
        self._edge_ms = None  # no edge accepted yet: nothing to debounce against
        self._down_ms = 0
        self._up_ms = 0
        self._first_ms = 0
        self._clicks = 0
        self._pair_sent = False
        self._pending = None

    def wake(self, wake_ms, pressed):
        """Account for the press that woke the chip from deep sleep.

        The press began at wake_ms.  If it was released before Python got to
        run, it counts as one completed click released at wake_ms.
        """
        self._first_ms = self._down_ms = self._edge_ms = wake_ms
        self._clicks = 0
        self._pair_sent = False
        self._pressed = pressed
        if pressed:
            self._state = _DOWN
        else:
            self._clicks = 1
            self._up_ms = wake_ms
            self._state = _UP

    def idle(self):
        """True when no gesture is in progress or waiting to be emitted."""
        return self._state == _IDLE and self._pending is None

    def held_ms(self, now_ms):
        """How long the button has been held, 0 if it is up."""
        if self._state in (_DOWN, _HELD):
            return ticks_diff(now_ms, self._down_ms)
        return 0

    def update(self, pressed, now_ms):
        """Feed the pin level.  Returns (gesture, first_press_ms) or None."""
        if self._pending is not None:
            out = self._pending
            self._pending = None
            return out
        # Deadlines that passed before this sample come first: a press that
        # arrives after the double-click window starts a new series, and a
        # release after long_press_ms is a hold even if no poll saw it pass.
        out = self._timeout(now_ms)
        if pressed != self._pressed and (
            self._edge_ms is None or ticks_diff(now_ms, self._edge_ms) >= self.debounce_ms
        ):
            self._pressed = pressed
            self._edge_ms = now_ms
            if pressed:
                self._press(now_ms)
            else:
                self._release(now_ms)
        return out

    def _press(self, now_ms):
        if self._state == _IDLE:
            self._clicks = 0
            self._first_ms = now_ms
        self._down_ms = now_ms
        self._pair_sent = False
        self._state = _DOWN

    def _release(self, now_ms):
        if self._state == _DOWN:
            self._clicks += 1
            self._up_ms = now_ms
            self._state = _UP
        elif self._state == _HELD:
            self._state = _IDLE

    def _timeout(self, now_ms):
        state = self._state
        if state == _UP:
            if ticks_diff(now_ms, self._up_ms) >= self.double_click_ms:
                self._state = _IDLE
                return (min(self._clicks, CLICK3), self._first_ms)
        elif state == _DOWN:
            if ticks_diff(now_ms, self._down_ms) >= self.long_press_ms:
                self._state = _HELD
                hold = (HOLD, self._down_ms)
                if self._clicks:
                    # Clicks made just before the hold still count.
                    self._pending = hold
                    clicks = self._clicks
                    self._clicks = 0
                    return (min(clicks, CLICK3), self._first_ms)
                return hold
        elif state == _HELD and not self._pair_sent:
            if ticks_diff(now_ms, self._down_ms) >= self.pair_press_ms:
                self._pair_sent = True
                return (PAIR_HOLD, self._down_ms)
        return None
