"""os and the open builtin: the littlefs image, failing as the flash does when the power is cut."""

from __future__ import annotations

import errno
import os
import types
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import littlefs

from twitchlog.hw.flash import LfsFS
from twitchlog.sim.virtual.hardware import Hardware

T = TypeVar("T")

# os.stat(): (mode, ino, dev, nlink, uid, gid, size, atime, mtime, ctime)
StatResult = tuple[int, int, int, int, int, int, int, int, int, int]
S_IFDIR, S_IFREG = 0x4000, 0x8000
LFS_TYPE_DIR = 2


class File:
    """A file on the littlefs image, text or binary as MicroPython opens it."""

    def __init__(self, raw: Any, text: bool) -> None:
        self._raw = raw
        self._text = text

    def read(self, n: int = -1) -> str | bytes:
        data = self._raw.read(n)
        return data.decode() if self._text else data

    def readinto(self, buf: bytearray | memoryview) -> int:
        return self._raw.readinto(buf)

    def write(self, data: str | bytes | bytearray | memoryview) -> int:
        return self._raw.write(data.encode() if isinstance(data, str) else bytes(data))

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._raw.seek(offset, whence)

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> File:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def opener(fs: LfsFS) -> Callable[..., File]:
    """The open builtin on `fs`: a missing file is OSError(ENOENT), as on the device."""

    def open(path: str, mode: str = "r", *args: Any, **kwargs: Any) -> File:
        raw_mode = mode if "b" in mode else mode + "b"
        try:
            return File(fs.open(path, raw_mode), text="b" not in mode)
        except OSError as e:
            if e.errno in (errno.ENOENT, 2) or isinstance(e, FileNotFoundError):
                raise OSError(errno.ENOENT, path) from None
            raise

    return open


class Os(types.ModuleType):
    """The os module of one boot, on the mounted image `fs`."""

    sep = "/"
    urandom = staticmethod(os.urandom)

    def __init__(self, fs: LfsFS, hw: Hardware) -> None:
        super().__init__("os", __doc__)
        self._lfs = fs.fs
        self._hw = hw

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        self._hw.check_power()
        try:
            return fn(*args)
        except littlefs.LittleFSError as e:
            raise OSError(-e.code, str(e)) from None

    def stat(self, path: str) -> StatResult:
        info = self._call(self._lfs.stat, path)
        mode = S_IFDIR if info.type == LFS_TYPE_DIR else S_IFREG
        return (mode, 0, 0, 0, 0, 0, info.size, 0, 0, 0)

    def ilistdir(self, path: str = "") -> Iterator[tuple[str, int, int, int]]:
        for name in self._call(self._lfs.listdir, path or "/"):
            st = self.stat((path.rstrip("/") + "/" + name) if path else name)
            yield (name, st[0], 0, st[6])

    def listdir(self, path: str = "") -> list[str]:
        return [entry[0] for entry in self.ilistdir(path)]

    def remove(self, path: str) -> None:
        self._call(self._lfs.remove, path)

    def rename(self, src: str, dst: str) -> None:
        self._call(self._lfs.rename, src, dst)

    def mkdir(self, path: str) -> None:
        self._call(self._lfs.mkdir, path)

    def rmdir(self, path: str) -> None:
        self._call(self._lfs.rmdir, path)

    def statvfs(self, path: str) -> tuple[int, ...]:
        """(bsize, frsize, blocks, bfree, bavail, files, ffree, favail, flag, namemax)"""
        info = self._call(self._lfs.fs_stat)
        used = self._call(lambda: self._lfs.used_block_count)
        total = info.block_count
        return (info.block_size, info.block_size, total, total - used, total - used, 0, 0, 0, 0, info.name_max)

    def uname(self) -> tuple[str, str, str, str, str]:
        return ("esp32", "twitchlog-virtual", "1.27.0", "virtual", self._hw.profile["chip"])
