"""Run the companion CLI, but die by SIGKILL at one moment of a sync (the fault the test injects).

Usage: kill_during_sync.py before-commit|before-ack TWITCHLOG-ARGS...

- before-commit: the first batch of records has arrived and been written
  inside its transaction; the process dies just before COMMIT.
- before-ack: everything is committed; the RACP delete is about to be sent.
"""

from __future__ import annotations

import os
import signal
import sys

from twitchlog import cli
from twitchlog.ble import sync as sync_mod
from twitchlog.firmware import protocol as P
from twitchlog.store import db as store


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    moment = sys.argv.pop(1)
    if moment == "before-commit":
        real_add = store.Store.add_records

        def add_records(self, device_id, records):
            if records:  # die inside the transaction, its rows written, just before COMMIT
                self.db.set_trace_callback(lambda sql: die() if sql.strip().upper() == "COMMIT" else None)
            return real_add(self, device_id, records)

        store.Store.add_records = add_records
    elif moment == "before-ack":
        real_request = sync_mod._Session.request

        async def request(self, op, operator, lo=None, hi=None):
            if op == P.OP_DELETE:
                die()
            return await real_request(self, op, operator, lo, hi)

        sync_mod._Session.request = request
    else:
        raise SystemExit(f"unknown moment {moment!r}")
    cli.main()


if __name__ == "__main__":
    main()
