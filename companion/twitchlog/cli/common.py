"""What the command modules share: settings from the global options, consoles, JSON output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.text import Text

T = TypeVar("T")
BLUETOOTH_HINT = "is Bluetooth on? without an OS stack use --adapter bumble:usb:0"
# Markup is off: messages carry user text (file names, notes, product names)
# that must print as typed.  Styled output goes through `styled`.
out = Console(soft_wrap=True, markup=False, highlight=False)  # messages stay one line; tables still fit
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)


def styled(template: str, **values: object) -> Text:
    """Our own rich markup in `template`; each `{name}` is filled with `values[name]` as plain text."""
    return Text.from_markup(template.format(**{name: escape(str(value)) for name, value in values.items()}))


def fail(message: str, exit_code: int = 1) -> NoReturn:
    """The CLI's one error path: one line on stderr, the message never read as markup, then exit."""
    err.print(Text.assemble(("twitchlog: ", "bold red"), message))
    raise click.exceptions.Exit(exit_code)


def default_db() -> Path:
    import platformdirs

    return platformdirs.user_data_path("twitchlog") / "twitchlog.db"


@dataclass
class Settings:
    """The global options: where the database is, which BLE stack to use."""

    db: Path
    adapter_spec: str

    def store(self):  # noqa: ANN201 - imported lazily to keep `--help` fast
        from twitchlog.store.db import Store

        return Store(self.db)

    def adapter(self):  # noqa: ANN201
        from twitchlog.ble.adapter import Adapter

        return Adapter.parse(self.adapter_spec, self.db.with_name(self.db.stem + ".bumble-keys.json"))


def run_ble(coro: Coroutine[Any, Any, T]) -> T:
    """Run a BLE command: an OSError from the Bluetooth stack (BlueZ's D-Bus socket missing,
    an adapter gone) becomes one line."""
    from twitchlog.errors import UserError

    try:
        return asyncio.run(coro)
    except OSError as e:
        raise UserError(f"Bluetooth: {e} ({BLUETOOTH_HINT})") from None


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))
