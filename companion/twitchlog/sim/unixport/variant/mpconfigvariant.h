// twitchlog's virtual ESP32: MicroPython's unix port made to look like the
// chip where it matters to the firmware.  32-bit objects and single-precision
// floats (as on the ESP32), NimBLE as the BLE host (as on the ESP32 port),
// LittleFS v2 as the filesystem; the heap size is set per run (-X heapsize).

#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)

// The ESP32 port's float is single precision.
#define MICROPY_FLOAT_IMPL (MICROPY_FLOAT_IMPL_FLOAT)

#include "variants/mpconfigvariant_common.h"  // the unix port's own (-I its folder)
