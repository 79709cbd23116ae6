"""The virtual device's second runtime: the firmware on real MicroPython with NimBLE.

build.sh builds the interpreter (MicroPython's unix port, 32-bit, NimBLE);
chip/ is the MicroPython-side shim for what a PC lacks (pins, ADC, RTC, deep
sleep, watchdog, flash), frozen into it; runtime.py boots it, a process per
wake, with its HCI UART (uart.py) on a Bumble controller.
"""
