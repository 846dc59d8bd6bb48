"""Telling a poison message from an outage.

A message whose processing raises is redelivered; most such failures are outages (the
ledger's database or NATS away) and must be retried for as long as they last, never given
up. A *poison* message is one that keeps failing while the hub is otherwise healthy. So a
message is set aside only after `attempts` deliveries AND once some other message was
processed successfully after this one first failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_ATTEMPTS = 5


@dataclass
class PoisonGuard:
    attempts: int = DEFAULT_ATTEMPTS
    clock: Callable[[], float] = time.monotonic
    _first_failure: dict[int, float] = field(default_factory=dict)
    _last_success: float = float("-inf")

    def succeeded(self, *keys: int) -> None:
        """Messages (by stream sequence) went through: the hub is healthy now."""
        self._last_success = self.clock()
        for key in keys:
            self._first_failure.pop(key, None)

    def failed(self, key: int, deliveries: int) -> bool:
        """Record a failure; True when the message should be set aside as poison."""
        first = self._first_failure.setdefault(key, self.clock())
        if deliveries >= self.attempts and self._last_success > first:
            del self._first_failure[key]
            return True
        return False
