"""A LittleFS flash image configured like the ESP32's, with counters and power cuts.

Uses littlefs-python, i.e. the same LittleFS C code the device runs, with
MicroPython's configuration (``extmod/vfs_lfsx.c``: read/prog size 32,
cache 4 x 32, lookahead 32, block_cycles 100) and the ESP32 flash sector
size of 4096 bytes.

``FlashImage`` counts program bytes and erases (write amplification) and can
cut the power at the N-th program/erase call: that call is left half done
and every later call fails with ``LFS_ERR_IO``, as littlefs-python requires
(an exception raised inside a block-device callback is ignored).
"""

from __future__ import annotations

import errno

import littlefs
from littlefs.context import UserContext

BLOCK_SIZE = 4096
LFS_ERR_IO = -5
# MicroPython's LittleFS settings on the ESP32 (read/prog size, cache, lookahead, wear levelling)
LFS_READ_SIZE, LFS_PROG_SIZE, LFS_CACHE_SIZE, LFS_LOOKAHEAD_SIZE, LFS_BLOCK_CYCLES = 32, 32, 128, 32, 100


class PowerCut(Exception):
    """The simulated power is gone: the CPU stops here.

    Not an OSError, so firmware error handling (which on a real device would
    never run) cannot carry on against a dead filesystem.
    """


class FlashImage(UserContext):
    """A NOR-flash-like block device in RAM."""

    def __init__(self, size: int = 1 << 20, buffer: bytearray | None = None) -> None:
        if buffer is None:
            super().__init__(buffsize=size)
        else:
            super().__init__(buffer=buffer)
        self.block_count = len(self.buffer) // BLOCK_SIZE
        self.prog_bytes = 0
        self.prog_calls = 0
        self.erase_calls = 0
        self.cut_at: int | None = None  # 0-based index of the op that dies
        self.powered = True

    @property
    def ops(self) -> int:
        return self.prog_calls + self.erase_calls

    def _begin_op(self) -> str:
        """Count one program/erase: "ok", "dying" (the cut lands here) or "dead"."""
        if not self.powered:
            return "dead"
        if self.cut_at is not None and self.ops >= self.cut_at:
            self.powered = False
            return "dying"
        return "ok"

    def prog(self, cfg, block: int, off: int, data: bytes) -> int:
        start = block * cfg.block_size + off
        fate = self._begin_op()
        self.prog_calls += 1
        if fate == "dying":  # half the page gets programmed
            half = len(data) // 2
            self.buffer[start : start + half] = data[:half]
        if fate != "ok":
            return LFS_ERR_IO
        self.buffer[start : start + len(data)] = data
        self.prog_bytes += len(data)
        return 0

    def erase(self, cfg, block: int) -> int:
        start = block * cfg.block_size
        fate = self._begin_op()
        self.erase_calls += 1
        if fate == "dying":  # half the sector gets erased
            half = cfg.block_size // 2
            self.buffer[start : start + half] = b"\xff" * half
        if fate != "ok":
            return LFS_ERR_IO
        self.buffer[start : start + cfg.block_size] = b"\xff" * cfg.block_size
        return 0

    def read(self, cfg, block: int, off: int, size: int) -> bytearray:
        start = block * cfg.block_size + off
        return self.buffer[start : start + size]

    def sync(self, cfg) -> int:
        return 0 if self.powered else LFS_ERR_IO


def mount(image: FlashImage, format_if_blank: bool = True) -> littlefs.LittleFS:
    """Mount image with the device's LittleFS configuration.

    format_if_blank formats an image that does not mount (as a fresh device
    does); without it a corrupt image raises instead of being wiped.
    """
    fs = littlefs.LittleFS(
        context=image,
        block_size=BLOCK_SIZE,
        block_count=image.block_count,
        mount=False,
        read_size=LFS_READ_SIZE,
        prog_size=LFS_PROG_SIZE,
        cache_size=LFS_CACHE_SIZE,
        lookahead_size=LFS_LOOKAHEAD_SIZE,
        block_cycles=LFS_BLOCK_CYCLES,
    )
    try:
        fs.mount()
    except littlefs.LittleFSError:
        if not format_if_blank:
            raise
        fs.format()
        fs.mount()
    return fs


class LfsFS:
    """The firmware's filesystem interface (see firmware/fsio.py) on littlefs-python.

    Maps littlefs errors to OSError as MicroPython's VfsLfs2 does, and
    creates missing files for 'ab' as the device does.
    """

    def __init__(self, fs: littlefs.LittleFS, image: FlashImage | None = None) -> None:
        self.fs = fs
        self.image = image

    def check_power(self) -> None:
        if self.image is not None and not self.image.powered:
            raise PowerCut()

    def _call(self, fn, *args):
        self.check_power()
        try:
            return fn(*args)
        except littlefs.LittleFSError as e:
            raise OSError(-e.code, str(e)) from None
        except OSError:
            raise

    def open(self, path: str, mode: str):
        if "a" in mode and self.size(path) < 0:
            self._call(self.fs.open, path, "wb", 0).close()
        return _LfsFile(self, self._call(self.fs.open, path, mode, 0))

    def names(self, path: str):
        return iter(self._call(self.fs.listdir, path))

    def size(self, path: str) -> int:
        self.check_power()
        try:
            return self.fs.stat(path).size
        except (littlefs.LittleFSError, OSError):
            return -1

    def remove(self, path: str) -> None:
        if self.size(path) >= 0:
            self._call(self.fs.remove, path)

    def rename(self, src: str, dst: str) -> None:
        self._call(self.fs.rename, src, dst)

    def mkdir(self, path: str) -> None:
        if self.size(path) < 0:
            self._call(self.fs.mkdir, path)


class _LfsFile:
    """A raw littlefs file whose errors surface as OSError.

    A failed close is never retried: closing twice after a failed close
    aborts the process inside littlefs.
    """

    def __init__(self, owner: LfsFS, raw) -> None:
        self._owner = owner
        self._raw = raw
        self._closed = False

    def read(self, n: int = -1) -> bytes:
        return self._owner._call(self._raw.read, n)

    def readinto(self, buf) -> int:
        return self._owner._call(self._raw.readinto, buf)

    def write(self, data) -> int:
        return self._owner._call(self._raw.write, data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._owner._call(self._raw.seek, offset, whence)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._owner.check_power()
        except PowerCut:
            setattr(self._raw, "__IOBase_closed", True)  # no littlefs call on a dead fs
            raise
        try:
            self._raw.close()
        except littlefs.LittleFSError as e:
            setattr(self._raw, "__IOBase_closed", True)  # never close twice
            raise OSError(errno.EIO, str(e)) from None

    def __del__(self) -> None:
        if not self._closed:
            try:
                self.close()
            except (OSError, PowerCut):
                pass
