"""Keeps the ledger's read models (inbox listings, statistics) caught up while the hub runs.

It works on the ledger's own single-thread executor, one page at a time, so a long catch-up
(after `truc ledger rebuild`, or a hub that was down) interleaves with the hub's group
commits instead of holding them up, and SQLite never sees two writers from this process.
Between pages it yields to the event loop; when caught up it waits for `poke()` or
`interval`, whichever comes first. Exactly-once lives in `ledger.projections.Views` (a
compare-and-set on the views' position in the same transaction), so running this beside a
CLI `truc ledger catch-up`, or in several hub processes, is safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import Executor

from ledger.projections import Views

log = logging.getLogger("truc.projections")
# After a turn that caught up, the rest before the next one (see ProjectionsRunner.run).
SETTLE_SECONDS = 0.1


class ProjectionsRunner:
    def __init__(
        self,
        views: Views,
        executor: Executor,
        *,
        interval: float = 0.5,
        pages_per_turn: int = 1,
    ) -> None:
        self._views = views
        self._executor = executor
        self._interval = interval
        self._pages = pages_per_turn
        self._wake = asyncio.Event()
        self.applied = 0

    def poke(self) -> None:
        """New events were recorded: catch up now rather than at the next interval."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set. A failing turn is logged and retried at the next interval;
        the views are only ever behind, never wrong.

        A turn that found less than its pages' worth is followed by a rest of
        `SETTLE_SECONDS`: under steady traffic the next turn then takes a tenth of a second's
        events at once, instead of a turn per hub batch, each queued on the ledger's
        executor in front of the next batch's recording."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            self._wake.clear()
            try:
                applied = await loop.run_in_executor(self._executor, self._turn)
            except Exception:
                log.warning("projections: catch-up failed; retrying", exc_info=True)
                applied = 0
            self.applied += applied
            if applied >= self._views.page_size * self._pages:
                await asyncio.sleep(0)  # behind: let the hub's batches in between pages
                continue
            if applied:
                with contextlib.suppress(TimeoutError):  # a rest, cut short only by `stop`
                    await asyncio.wait_for(stop.wait(), SETTLE_SECONDS)
                continue
            await _first(stop, self._wake, self._interval)

    def _turn(self) -> int:
        return self._views.catch_up(max_pages=self._pages)


async def _first(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Return when either event is set, or after `seconds`."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
