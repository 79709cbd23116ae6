"""The virtual device: unmodified firmware on a simulated chip with a real (Bumble) BLE stack."""

from twitchlog.sim.virtual.device import VirtualDevice
from twitchlog.sim.virtual.simclock import SimClock

__all__ = ["VirtualDevice", "SimClock"]
