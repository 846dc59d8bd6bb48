"""SQLite's write-ahead-log checkpoints on a thread of their own, not inside a commit.

By default SQLite checkpoints (copies the WAL back into the database file, with an fsync
each) in whichever commit finds the WAL over 1,000 pages, so one commit in a few hundred
takes ten to a hundred times as long as the others. Measured in `truc bench` at 1,000
documents a second: the adapters' mailbox commits took 0.055 ms at the median and 5-13 ms
for one in a hundred (those held up every agency's adapter, which share an event loop), and
the ledger's took 1.1 ms and 12-21 ms (README, Performance). With `quiet_commits` on the
connections that write, a `WalCheckpointer` does that work every `every` seconds instead.

A PASSIVE checkpoint takes no lock that writers or readers wait for: it copies what no
reader still needs and leaves the rest for the next round. The WAL is then rewound by the
first writer that finds it fully copied, as with SQLite's own checkpoints, so it stays about
as large as `every` seconds of writes. Durability is unchanged: a commit is durable once it
is in the WAL (fsynced there under `synchronous=FULL`), checkpointed or not.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 0.5


def quiet_commits(connection: sqlite3.Connection | sqlite3.Cursor) -> None:
    """Commits on `connection` (or a cursor's) never checkpoint (a `WalCheckpointer` does)."""
    connection.execute("PRAGMA wal_autocheckpoint=0")


class WalCheckpointer:
    """Checkpoints the WAL of the database at `path` every `every` seconds, on a daemon
    thread with a connection of its own, until `stop`."""

    def __init__(self, path: Path | str, every: float = CHECKPOINT_SECONDS) -> None:
        if every <= 0:
            raise ValueError(f"every: {every} s is not a positive interval")
        self.path = str(path)
        self.every = every
        self.rounds = 0  # checkpoints made
        self.attempts = 0  # rounds begun, the database there or not
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> WalCheckpointer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"wal-checkpoint {Path(self.path).name}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the round in progress (the last connection to close checkpoints what
        is left, as SQLite always does)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    def checkpoint(self, connection: sqlite3.Connection) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (busy, frames in the WAL, frames copied back)."""
        busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.rounds += 1
        return int(busy), int(frames), int(copied)

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(self.every):  # a period, not a synchronisation
                self.attempts += 1
                try:
                    if connection is None:  # opened, never created: its owner makes it
                        uri = Path(self.path).absolute().as_uri() + "?mode=rw"
                        connection = sqlite3.connect(uri, uri=True, isolation_level=None)
                    self.checkpoint(connection)
                except sqlite3.Error as error:  # not there yet, or locked: next round
                    log.debug("WAL checkpoint of %s: %s", self.path, error)
        finally:
            if connection is not None:
                connection.close()
