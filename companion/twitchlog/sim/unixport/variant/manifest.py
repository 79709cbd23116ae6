# Frozen into the interpreter: what the ESP32 firmware image carries besides
# the app (asyncio), and the chip shim (pins, ADC, RTC, deep sleep, watchdog).
# The firmware itself is not frozen: it lives on the flash image, as deployed.
include("$(MPY_DIR)/extmod/asyncio")
freeze("../chip")
