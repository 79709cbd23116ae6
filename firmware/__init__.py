"""Firmware sources, shipped inside the companion as ``twitchlog.firmware``.

On the device these modules are flat (``import protocol``); this file only
makes the directory a package for the companion and is never deployed.
"""
