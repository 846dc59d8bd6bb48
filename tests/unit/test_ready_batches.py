"""SendDocuments' batching: what the request stream has ready, never waiting for more."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.document.servicer import ready_batches

_END = object()


class Requests:
    """A request stream the test feeds by hand."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[object] = asyncio.Queue()

    def send(self, *items: object) -> None:
        for item in items:
            self.queue.put_nowait(item)

    async def __aiter__(self) -> AsyncIterator[object]:
        while (item := await self.queue.get()) is not _END:
            if isinstance(item, Exception):
                raise item
            yield item


async def test_what_is_ready_goes_in_one_batch_and_a_lone_request_goes_at_once() -> None:
    requests = Requests()
    requests.send(1, 2, 3)
    batches = ready_batches(requests.__aiter__(), limit=10)
    assert await anext(batches) == [1, 2, 3]
    # Nothing more is ready: the next request is a batch of its own, without waiting.
    requests.send(4)
    assert await anext(batches) == [4]
    requests.send(5, _END)
    assert await anext(batches) == [5]
    with pytest.raises(StopAsyncIteration):
        await anext(batches)


async def test_a_batch_holds_at_most_the_limit() -> None:
    requests = Requests()
    requests.send(*range(5), _END)
    assert [b async for b in ready_batches(requests.__aiter__(), limit=2)] == [[0, 1], [2, 3], [4]]


async def test_an_empty_stream_gives_no_batch() -> None:
    requests = Requests()
    requests.send(_END)
    assert [b async for b in ready_batches(requests.__aiter__(), limit=2)] == []


async def test_a_broken_stream_ends_the_batches_with_its_error_after_what_came() -> None:
    requests = Requests()
    requests.send(1, ConnectionResetError("client went away"))
    batches = ready_batches(requests.__aiter__(), limit=4)
    assert await anext(batches) == [1]
    with pytest.raises(ConnectionResetError, match="went away"):
        await anext(batches)


async def test_closing_the_batches_stops_reading_the_stream() -> None:
    requests = Requests()
    requests.send(1)
    batches = ready_batches(requests.__aiter__(), limit=4)
    assert await anext(batches) == [1]
    await batches.aclose()
    # The task reading ahead is gone (only this test's own task is left).
    assert asyncio.all_tasks() == {asyncio.current_task()}
