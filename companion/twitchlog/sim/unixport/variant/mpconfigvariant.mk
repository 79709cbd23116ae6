# twitchlog's virtual ESP32 (see mpconfigvariant.h and build.sh).
MICROPY_FORCE_32BIT = 1

# The ESP32 port's BLE: the bluetooth module over the NimBLE host, which here
# speaks H4 HCI to the controller named by the MICROPYBTUART variable.
MICROPY_PY_BLUETOOTH = 1
MICROPY_BLUETOOTH_NIMBLE = 1

# The device's filesystem is LittleFS v2 and nothing else.
MICROPY_VFS_FAT = 0
MICROPY_VFS_LFS1 = 0
MICROPY_VFS_LFS2 = 1

# Host-only features the chip lacks, and whose sources the Debian +ds tarball
# leaves out (libffi, berkeley-db, mbedTLS).
MICROPY_PY_FFI = 0
MICROPY_PY_BTREE = 0
MICROPY_PY_SSL = 0
MICROPY_USE_READLINE = 0

FROZEN_MANIFEST ?= $(VARIANT_DIR)/manifest.py
