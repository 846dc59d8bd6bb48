"""The hub keeps the read models caught up while it runs (hub.projections_runner)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hub.projections_runner import ProjectionsRunner
from ledger.application import Ledger
from ledger.projections import Views
from ledger.stats import scan_ledger
from ledger.storage import SqliteStorage
from tests.ledger import builders as b
from tests.support import G15, H49, eventually


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = Ledger(SqliteStorage(tmp_path / "ledger.sqlite3"))
    yield opened
    opened.close()


async def test_the_runner_catches_up_page_by_page_and_follows_new_events(ledger: Ledger) -> None:
    executor = ThreadPoolExecutor(max_workers=1)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(
        executor, ledger.record, [b.document(f"m{i}", f"d{i}", i) for i in range(10)]
    )
    views = await loop.run_in_executor(executor, lambda: Views(ledger, page_size=4))
    runner = ProjectionsRunner(views, executor, interval=30)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        await eventually(lambda: views.position() == ledger.size(), what="caught up")
        assert runner.applied == 30
        await loop.run_in_executor(executor, ledger.record, [b.status("s1", "d3", "01", 11)])
        runner.poke()  # the interval is 30 s: only the poke can make this pass in time
        await eventually(lambda: views.position() == ledger.size(), within=5, what="the poke")
        assert [r.status_code for r in views.inbox(H49) if r.document_id == "d3"] == ["01"]
        assert views.stats() == scan_ledger(ledger)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        executor.shutdown()


async def test_a_failing_turn_is_retried_and_the_runner_keeps_going(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    executor = ThreadPoolExecutor(max_workers=1)
    ledger.record([b.document("m1", "d1", recipients=(G15,))])
    views = Views(ledger)
    failures: list[int] = []
    real = views.catch_up

    def flaky(**kwargs: object) -> int:
        if not failures:
            failures.append(1)
            raise OSError("database is locked")
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(views, "catch_up", flaky)
    runner = ProjectionsRunner(views, executor, interval=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        await eventually(lambda: views.position() == ledger.size(), what="recovered")
        assert failures == [1]
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        executor.shutdown()
