"""Helpers that let one test file run under pytest and under MicroPython."""

import os
import sys

MICROPYTHON = sys.implementation.name == "micropython"
_made = [0]


def fresh_dir(tag):
    """An empty directory for one test (MicroPython: in the VFS's /tmp)."""
    if MICROPYTHON:
        _made[0] += 1
        path = "/tmp/%s%d" % (tag, _made[0])
        os.mkdir(path)
        return path
    import tempfile

    return tempfile.mkdtemp(prefix=tag)


def raises(exc_type, fn, *args):
    """Call fn(*args); return the exception it raised, fail if none or another."""
    try:
        fn(*args)
    except exc_type as e:
        return e
    raise AssertionError("%s not raised by %s%r" % (exc_type.__name__, fn.__name__, args))


class Rng:
    """xorshift32: the same sequence on CPython and MicroPython."""

    def __init__(self, seed):
        self.state = (seed * 2654435761 + 1) & 0xFFFFFFFF or 1

    def next(self):
        x = self.state
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.state = x
        return x

    def below(self, n):
        return self.next() % n

    def bytes(self, n):
        return bytes(self.next() & 0xFF for _ in range(n))
