"""Where the firmware sources are: shipped inside the package as `twitchlog.firmware`."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def firmware_dir() -> Path:
    """The firmware folder, in a wheel and in a source checkout alike (an editable install maps it)."""
    return Path(str(files("twitchlog.firmware")))
