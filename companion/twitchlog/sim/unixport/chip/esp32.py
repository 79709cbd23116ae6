"""esp32: the deep-sleep wake sources (ext0 on the ESP32, GPIO wake on the C3 family)."""

import machine

WAKEUP_ALL_LOW, WAKEUP_ANY_HIGH = False, True


def wake_on_ext0(pin, level):
    machine._wake = (pin.id, 1 if level else 0)


def wake_on_gpio(pins, level):
    machine._wake = (pins[0].id, 1 if level else 0)
