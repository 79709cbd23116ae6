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
