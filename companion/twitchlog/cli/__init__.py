"""The `twitchlog` command line: thin click layers over the library packages."""

from twitchlog.cli.root import main

__all__ = ["main"]
