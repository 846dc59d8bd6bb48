"""A file lock that writers of one SQLite database take before SQLite's own write lock, so
a writer that has to wait is let in within a millisecond of the lock's release.

Why: SQLite lets a writer that finds the database locked sleep and retry on a fixed
schedule (1, 2, 5, 10, 15, 20, 25 ... 100 ms), so a wait for a 9 ms transaction lasts 18
ms and one for 19 ms lasts 33. The hub and its followers' process write the same ledger
file, turn after turn (the followers' Merkle log and read models, the hub's batches), and
at 1,000 documents a second that schedule was part of the hub's two slowest stages
(README, Performance). Here a waiting writer polls a lock of the operating system's
(`flock`) at most a millisecond apart instead (a blocking `flock` could not time out),
and SQLite's lock is then free.

The turnstile only orders writers that take it; SQLite's lock still guards the data, so
a writer that does not (a `sqlite3` shell, an older `truc`) is safe, only served later.
A process that dies holding it releases it with its file descriptor.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

from ledger.errors import LedgerError

# Longest pause between two looks at a held turnstile (seconds).
POLL_CAP = 0.001


class TurnstileTimeout(LedgerError, TimeoutError):
    """Another writer held the database's turnstile longer than the lock timeout."""


def turnstile_path(database: Path | str) -> Path:
    """The lock file beside `database` (`ledger.sqlite3` -> `ledger.sqlite3-writer`, as
    SQLite names its own `-wal` and `-shm` files)."""
    return Path(f"{database}-writer")


class WriteTurnstile:
    """One process's hold on the write turnstile of a database: `acquire` waits for the
    other processes' writers (this process's writers queue on a thread lock first, since a
    `flock` is shared by the threads of a process)."""

    def __init__(self, database: Path | str, timeout: float) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout: {timeout} s is not a positive wait")
        self.path = turnstile_path(database)
        self.timeout = timeout
        self._threads = threading.Lock()
        self._fd: int | None = None

    def acquire(self) -> None:
        if not self._threads.acquire(timeout=self.timeout):
            raise TurnstileTimeout(f"{self.path}: another thread kept it {self.timeout} s")
        try:
            self._take(time.monotonic() + self.timeout)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriteTurnstile:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()

    def _take(self, deadline: float) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        pause = POLL_CAP / 16
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TurnstileTimeout(
                        f"{self.path}: another process kept it {self.timeout} s"
                    ) from None
            time.sleep(pause)  # a lock's retry, capped at POLL_CAP: not a synchronisation
            pause = min(2 * pause, POLL_CAP)
