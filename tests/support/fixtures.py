"""Pytest fixtures over the rigs in this package (registered by tests/conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from support.sim_session import SimSession


@pytest.fixture
def sim() -> Iterator[SimSession]:
    """An event loop for the test body, with rigs that are closed and crash-checked after it.

    Teardown runs even when the body failed; a crashed firmware then fails
    the test too (reported as an error at teardown).
    """
    with asyncio.Runner() as runner:
        session = SimSession(runner)
        yield session
        session.close()


# The e2e bodies run on both runtimes of the virtual device: CPython (simulated
# time, fast) and the real MicroPython interpreter with NimBLE (real time).
RUNTIMES = ["cpython", pytest.param("micropython", marks=pytest.mark.realruntime)]


@pytest.fixture(params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    """The runtime under test; the real one must be built, never silently skipped."""
    if request.param == "micropython":
        from twitchlog.sim.unixport.runtime import find_binary

        try:
            find_binary()
        except FileNotFoundError as e:
            pytest.fail(str(e))  # `make test` builds it first
    return request.param
