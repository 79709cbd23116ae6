"""What each ESP32 chip lets a board profile do, and the check of a profile against it.

A board profile (firmware/boards/NAME.json) names pins and a wake method; a
wrong one does not fail loudly on a real board: a button on a pin that cannot
wake the chip leaves a device that sleeps forever, a divider on an ADC2 pin
reads garbage while the radio is on.  So deploy checks the profile first, and
the virtual device refuses what MicroPython on that chip refuses.

Sources, per field:
- arch: the mpy-cross `-march` of MicroPython's ESP32 port for the chip
  (py/persistentcode.h: windowed Xtensa -> xtensawin, 32-bit RISC-V ->
  rv32imc; the C6's RV32IMAC runs rv32imc code).  Only native code carries it:
  bytecode .mpy files are the same for both.
- ext0_pins: RTC_VALID_EXT_PINS in MicroPython's ports/esp32/modesp32.h;
  `esp32.wake_on_ext0` exists only where SOC_PM_SUPPORT_EXT0_WAKEUP (ESP32,
  ESP32-S2, ESP32-S3), and raises "invalid pin" for any other pin.
- gpio_wake_pins: ESP-IDF soc_caps.h SOC_GPIO_DEEP_SLEEP_WAKE_VALID_GPIO_MASK
  (C3: GPIO 0-5, C6: LP GPIO 0-7).  `esp32.wake_on_gpio` (MicroPython 1.27+)
  exists on every chip, but `machine.deepsleep()` raises on chips without
  SOC_GPIO_SUPPORT_DEEPSLEEP_WAKEUP (modmachine.c).
- adc1_pins: the datasheets' analog functions.  ADC2 is shared with the radio.
- strapping_pins: the datasheets' boot configuration tables; a button held
  there at power-on would change how the chip boots (holding the button
  through power-on is the factory reset gesture).
- micropython: the official port's board and the first release with it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chip:
    name: str
    title: str
    arch: str
    ext0_pins: frozenset[int]
    gpio_wake_pins: frozenset[int]
    adc1_pins: frozenset[int]
    strapping_pins: frozenset[int]
    reserved_pins: frozenset[int]  # flash, in-package PSRAM, native USB: never a profile's
    port_board: str  # MicroPython's ports/esp32 board to flash
    since: str  # the first MicroPython release with that board

    def wake_methods(self) -> tuple[str, ...]:
        return tuple(m for m, pins in (("ext0", self.ext0_pins), ("gpio", self.gpio_wake_pins)) if pins)

    def wake_pins(self, method: str) -> frozenset[int]:
        return {"ext0": self.ext0_pins, "gpio": self.gpio_wake_pins}.get(method, frozenset())


def _span(first: int, last: int) -> frozenset[int]:
    return frozenset(range(first, last + 1))


CHIPS = {
    "esp32": Chip(
        "esp32",
        "ESP32",
        arch="xtensawin",
        ext0_pins=frozenset({0, 2, 4, 12, 13, 14, 15, 25, 26, 27, 32, 33, 34, 35, 36, 37, 38, 39}),
        gpio_wake_pins=frozenset(),
        adc1_pins=_span(32, 39),
        strapping_pins=frozenset({0, 2, 5, 12, 15}),
        reserved_pins=_span(6, 11),
        port_board="ESP32_GENERIC",
        since="1.21 (GENERIC before)",
    ),
    "esp32c3": Chip(
        "esp32c3",
        "ESP32-C3",
        arch="rv32imc",
        ext0_pins=frozenset(),
        gpio_wake_pins=_span(0, 5),
        adc1_pins=_span(0, 4),
        strapping_pins=frozenset({2, 8, 9}),
        reserved_pins=_span(12, 17) | {18, 19},
        port_board="ESP32_GENERIC_C3",
        since="1.21 (GENERIC_C3 before)",
    ),
    "esp32s3": Chip(
        "esp32s3",
        "ESP32-S3",
        arch="xtensawin",
        ext0_pins=_span(0, 21),
        gpio_wake_pins=frozenset(),
        adc1_pins=_span(1, 10),
        strapping_pins=frozenset({0, 3, 45, 46}),
        reserved_pins=_span(26, 37) | {19, 20},
        port_board="ESP32_GENERIC_S3",
        since="1.21 (GENERIC_S3 before)",
    ),
    "esp32c6": Chip(
        "esp32c6",
        "ESP32-C6",
        arch="rv32imc",
        ext0_pins=frozenset(),
        gpio_wake_pins=_span(0, 7),
        adc1_pins=_span(0, 6),
        strapping_pins=frozenset({4, 5, 8, 9, 15}),
        reserved_pins=_span(24, 30) | {12, 13},
        port_board="ESP32_GENERIC_C6",
        since="1.24",
    ),
}

# Strapping pins a profile may still use for something that is not the button, and why it is safe.
STRAPPING_ALLOWED = {
    ("esp32", 2): "an LED and resistor to GND hold GPIO 2 low, the level download mode needs",
    ("esp32s3", 3): "GPIO 3 selects the JTAG source only once EFUSE_STRAP_JTAG_SEL is burnt; stock boards ignore it",
}


def chip(name: str) -> Chip:
    if name not in CHIPS:
        raise KeyError(f"unknown chip {name!r}: one of {', '.join(CHIPS)}")
    return CHIPS[name]


def check_profile(profile: dict) -> list[str]:
    """What is wrong with a board profile for its chip, one line each; empty when nothing is."""
    name = profile.get("board", "?")
    if profile.get("chip") not in CHIPS:
        return [f"{name}: chip {profile.get('chip')!r} is not one of {', '.join(CHIPS)}"]
    c = CHIPS[profile["chip"]]
    problems = []
    if profile.get("arch") != c.arch:
        problems.append(f"{name}: arch {profile.get('arch')!r}, but MicroPython on the {c.title} runs {c.arch}")
    button, led, battery = profile["button"]["pin"], profile["led"]["pin"], profile["battery"]["pin"]
    method = profile.get("wake")
    if method not in c.wake_methods():
        problems.append(f"{name}: wake {method!r} does not wake the {c.title}; it has {', '.join(c.wake_methods())}")
    elif button not in c.wake_pins(method):
        pins = sorted(c.wake_pins(method))
        problems.append(
            f"{name}: the button on GPIO {button} cannot wake the {c.title} from deep sleep with {method} "
            f"(GPIO {pins[0]}-{pins[-1]} can)"
            if pins == list(range(pins[0], pins[-1] + 1))
            else f"{name}: the button on GPIO {button} cannot wake the {c.title} with {method}: GPIO {pins} can"
        )
    if button in c.strapping_pins:
        problems.append(f"{name}: the button on GPIO {button}, a strapping pin of the {c.title}")
    if battery not in c.adc1_pins:
        problems.append(f"{name}: battery sense on GPIO {battery}, which is not an ADC1 pin of the {c.title}")
    for role, pin in (("LED", led), ("battery sense", battery)):
        if pin in c.strapping_pins and (c.name, pin) not in STRAPPING_ALLOWED:
            problems.append(f"{name}: the {role} on GPIO {pin}, a strapping pin of the {c.title}")
    for role, pin in (("button", button), ("LED", led), ("battery sense", battery)):
        if pin in c.reserved_pins:
            problems.append(f"{name}: the {role} on GPIO {pin}, which the {c.title} board uses for flash or USB")
    if len({button, led, battery}) < 3:
        problems.append(f"{name}: button, LED and battery sense share a pin")
    return problems
