"""The virtual device: unmodified firmware on a simulated chip with a real (Bumble) BLE stack."""

from .device import VirtualDevice
from .simclock import SimClock

__all__ = ["VirtualDevice", "SimClock"]
