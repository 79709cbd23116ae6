"""The USB serial link: `sync --port` through mpremote and the firmware's usbsync module."""
