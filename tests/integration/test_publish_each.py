"""Pipelined publishing answers per publication: one that JetStream refuses does not stop,
nor hide, the others (a SendDocuments batch reports each document on its own)."""

from __future__ import annotations

import pytest

from adapters.nats import jetstream
from adapters.nats.embedded import EmbeddedNats
from hub.ports import Publication


async def test_publish_each_reports_each_publication(nats_server: EmbeddedNats) -> None:
    nc = await jetstream.connect(nats_server.url, "test-publish-each")
    try:
        js = nc.jetstream()
        await js.add_stream(name="T", subjects=["t.>"], duplicate_window=120.0)
        publisher = jetstream.JetStreamPublisher(js, timeout=5.0)
        errors = await publisher.publish_each(
            [
                Publication("t.a", b"1", "m1"),
                Publication("nowhere.b", b"2", "m2"),  # no stream takes this subject
                Publication("t.c", b"3", "m3"),
                Publication("t.a", b"1 again", "m1"),  # a duplicate is stored once, not refused
            ]
        )
        assert [e is None for e in errors] == [True, False, True, True]
        info = await js.stream_info("T")
        assert info.state.messages == 2
        with pytest.raises(jetstream.PublishError, match="1 of 2 not stored"):
            await publisher.publish_all(
                [Publication("t.d", b"4", "m4"), Publication("nowhere.e", b"5", "m5")]
            )
    finally:
        await jetstream.close(nc)


async def test_a_publication_over_max_payload_is_refused_without_stalling_the_rest(
    nats_server: EmbeddedNats,
) -> None:
    nc = await jetstream.connect(nats_server.url, "test-publish-too-big")
    try:
        js = nc.jetstream()
        await js.add_stream(name="B", subjects=["b.>"])
        publisher = jetstream.JetStreamPublisher(js, timeout=5.0, max_payload=nc.max_payload)
        too_big = b"x" * (nc.max_payload + 1)
        errors = await publisher.publish_each(
            [Publication("b.big", too_big, "big"), Publication("b.small", b"ok", "small")]
        )
        assert isinstance(errors[0], jetstream.PayloadTooLargeError)
        assert "max_payload" in str(errors[0])
        assert errors[1] is None
        assert js.publish_async_pending() == 0  # no publish slot left taken
        assert (await js.stream_info("B")).state.messages == 1
    finally:
        await jetstream.close(nc)


async def test_more_publications_than_pending_slots_wait_for_a_slot(
    nats_server: EmbeddedNats,
) -> None:
    """Free slots are taken without a stall timeout; once all are taken, the next waits for
    one (bounded by the timeout) instead of failing or hanging."""
    nc = await jetstream.connect(nats_server.url, "test-publish-slots")
    try:
        js = nc.jetstream(publish_async_max_pending=2)
        await js.add_stream(name="S", subjects=["s.>"])
        publisher = jetstream.JetStreamPublisher(js, timeout=5.0, max_pending=2)
        publications = [Publication(f"s.{i}", b"x", f"s{i}") for i in range(10)]
        errors = await publisher.publish_each(publications)
        assert errors == [None] * 10
        assert (await js.stream_info("S")).state.messages == 10
        assert js.publish_async_pending() == 0
    finally:
        await jetstream.close(nc)
