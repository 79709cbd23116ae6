"""What the command modules share: settings from the global options, consoles, JSON output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

T = TypeVar("T")
out = Console(soft_wrap=True)  # messages stay one line; tables still fit the terminal
err = Console(stderr=True)


def default_db() -> Path:
    import platformdirs

    return platformdirs.user_data_path("twitchlog") / "twitchlog.db"


@dataclass
class Settings:
    """The global options: where the database is, which BLE stack to use."""

    db: Path
    adapter_spec: str

    def store(self):  # noqa: ANN201 - imported lazily to keep `--help` fast
        from .store import Store

        return Store(self.db)

    def adapter(self):  # noqa: ANN201
        from .adapter import Adapter

        return Adapter.parse(self.adapter_spec, self.db.with_name(self.db.stem + ".bumble-keys.json"))


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def run_ble(coro: Coroutine[Any, Any, T]) -> T:
    """Run a BLE command: an OSError from the Bluetooth stack (BlueZ's D-Bus socket missing,
    an adapter gone) becomes one line."""
    from .errors import UserError

    try:
        return asyncio.run(coro)
    except OSError as e:
        raise UserError(f"Bluetooth: {e} (is Bluetooth on? without an OS stack use --adapter bumble:usb:0)") from None


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))
