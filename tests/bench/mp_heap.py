"""MicroPython heap workload for tests/mp/heap.mjs: serve a whole log.

setup(n) builds a log of n records in the runtime's filesystem; each step()
fills one MTU-247 notification (15 records) the way the GATT server will.
"""

import os

import eventlog
import protocol
from fsio import PosixFS

_PER_NOTIFICATION = 15  # (247 - 3) // 16
_state = {}


def setup(n):
    root = "/tmp/heap%d" % n
    os.mkdir(root)
    log = eventlog.EventLog(PosixFS(), root, 2 + n // eventlog.SEG_RECORDS)
    log.open()
    for i in range(n):
        log.append(protocol.KIND_TWITCH, 700000000 + i, 1)
    _state["reader"] = log.reader()
    _state["buf"] = bytearray(_PER_NOTIFICATION * protocol.RECORD_SIZE)
    _state["served"] = 0


def step():
    got = _state["reader"].readinto(_state["buf"])
    _state["served"] += got // protocol.RECORD_SIZE
    if not got:
        _state["reader"].close()
    return got


def served():
    return _state["served"]
