"""Power-cut proof on littlefs-python (block size 4096, MicroPython's LFS config).

For every program/erase call of the workload (230 preloaded records, then
300 appends with acknowledgements, reclaims and reboots), cut the power at
that call, remount the surviving bytes on healthy flash and check:
  * every record whose append had returned (and was not acknowledged) is
    present exactly once, with the contents written;
  * the log opens;
  * new appends work and keep seq monotonic.
Each cut runs in a forked child: littlefs asserts can abort a process.
"""

from __future__ import annotations

import os

import eventlog
import pytest

from support import powercut_workload as workload

pytestmark = pytest.mark.powercut

WORKERS = 2  # the CI machine has 2 cores


def _sweep(snapshot: bytearray, cut_points: list[int]) -> list[str]:
    """Run each cut in its own forked child, WORKERS at a time."""
    failures: list[str] = []
    running: dict[int, tuple[int, int]] = {}  # pid -> (cut, read fd)
    pending = list(cut_points)

    def reap_one() -> None:
        pid, status = os.wait()
        cut, fd = running.pop(pid)
        with os.fdopen(fd, "rb") as pipe:
            message = pipe.read().decode()
        if os.WIFSIGNALED(status):
            failures.append(f"cut {cut}: child killed by signal {os.WTERMSIG(status)}")
        elif os.WEXITSTATUS(status) != 0:
            failures.append(message or f"cut {cut}: child exited {os.WEXITSTATUS(status)}")

    while pending or running:
        while pending and len(running) < WORKERS:
            cut = pending.pop(0)
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # child: one trial, then leave without cleanup
                os.close(read_fd)
                code = 0
                try:
                    problem = workload.check_after_cut(snapshot, cut)
                except BaseException as e:  # report anything, never return to pytest
                    problem = f"cut {cut}: {e!r}"
                if problem:
                    os.write(write_fd, problem.encode())
                    code = 1
                os._exit(code)
            os.close(write_fd)
            running[pid] = (cut, read_fd)
        reap_one()
    return failures


@pytest.fixture(scope="module")
def snapshot() -> bytearray:
    return workload.prepared_image()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_power_cut_at_every_flash_operation(snapshot, capsys):
    total = workload.count_ops(snapshot)
    assert total > 1000  # the workload really writes
    cuts = list(range(total))
    failures = _sweep(snapshot, cuts)
    with capsys.disabled():  # shown in every run, not only on failure
        print(
            f"\npower-cut sweep: tried {len(cuts)} cut points ({total} program/erase calls), {len(failures)} failures"
        )
    assert failures == [], "\n".join(failures[:20])


class _AppendWithoutClose(eventlog.EventLog):
    """Deliberately broken: reports an append before LittleFS commits it."""

    def append(self, kind, time, boot, arg=0):
        seq = self.next_seq
        k = seq >> eventlog.SEG_SHIFT
        rec = bytearray(16)
        workload.P.pack_record_into(rec, 0, seq, time, arg, boot, kind)
        f = self.fs.open(self._seg_path(k), "ab")
        f.write(rec)
        self._unclosed = getattr(self, "_unclosed", []) + [f]  # closed "later"
        self._kmax = k
        self.next_seq = seq + 1
        return seq


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_the_sweep_catches_an_append_acknowledged_before_commit(snapshot, monkeypatch):
    monkeypatch.setattr(workload.eventlog, "EventLog", _AppendWithoutClose)
    failures = _sweep(snapshot, list(range(0, 400, 20)))
    assert any("committed records lost" in f or "did not open" in f or "last seq" in f for f in failures), failures
