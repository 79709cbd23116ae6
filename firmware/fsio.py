"""The filesystem seam of the event log.

EventLog talks to any object with these six methods, so the same code runs
on the device's LittleFS (through ``os``), on CPython's filesystem and, in
tests, on littlefs-python images whose power can be cut at any write.
"""

import os


class PosixFS:
    """The `os` module of MicroPython or CPython, with missing files as -1."""

    def open(self, path, mode):
        return open(path, mode)

    def names(self, path):
        """Iterate the names in a directory without building a list on the device."""
        ilistdir = getattr(os, "ilistdir", None)
        if ilistdir is None:
            for name in os.listdir(path):
                yield name
        else:
            for entry in ilistdir(path):
                yield entry[0]

    def size(self, path):
        """File size in bytes, or -1 if there is no such file."""
        try:
            return os.stat(path)[6]
        except OSError:
            return -1

    # errno numbers differ between ports (the WebAssembly VFS uses WASI's),
    # so "already there" / "already gone" is decided by stat, not by errno.
    def remove(self, path):
        if self.size(path) >= 0:
            os.remove(path)

    def rename(self, src, dst):
        os.rename(src, dst)

    def mkdir(self, path):
        try:
            os.stat(path)
        except OSError:
            os.mkdir(path)
