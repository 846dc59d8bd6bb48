"""HubService.process with the real Intake, ProtobufCodec and a SQLite Ledger, and a fake
publisher: what one batch records and publishes, and that doing it again is harmless."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from adapters.crypto import Signer
from adapters.envelope import (
    EnvelopeError,
    ProtobufCodec,
    open_receipt,
    open_receipts,
    open_routed,
    seal,
)
from adapters.pb.truc.v1 import document_pb2, envelope_pb2
from hub import service, subjects
from hub.intake import Intake
from hub.model import Kind
from hub.ports import Publication
from hub.registry import Member, MemberKey, Registry, Route
from hub.service import BatchReport, HubService, Inbound
from ledger.application import Ledger
from ledger.commands import LedgerEntry
from ledger.storage import SqliteStorage
from tests.support import G15, G22, H49, POST

NOW_MS = 1_750_000_000_000

G22_KEY = Signer.generate(G22)
H49_KEY = Signer.generate(H49)
G15_KEY = Signer.generate(G15)
POST_KEY = Signer.generate(POST)
HUB_KEY = Signer.generate("truc.test")


class FakeClock:
    def now_ms(self) -> int:
        return NOW_MS


class PublishFailed(Exception):
    pass


@dataclass
class FakePublisher:
    """Collects what would go to JetStream; fails the next `failures` calls."""

    failures: int = 0
    published: list[list[Publication]] = field(default_factory=list)

    async def publish_all(self, publications: Sequence[Publication]) -> None:
        if self.failures:
            self.failures -= 1
            raise PublishFailed("JetStream did not store the batch")
        self.published.append(list(publications))

    @property
    def last(self) -> list[Publication]:
        return self.published[-1]


@dataclass
class Hub:
    service: HubService
    ledger: Ledger
    publisher: FakePublisher

    async def process(self, *items: Inbound) -> BatchReport:
        return await self.service.process(list(items))


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    registry = Registry(
        [
            Member(s.name, s.name, "document", (MemberKey(s.key_id, s.public_key),))
            for s in (G22_KEY, H49_KEY, G15_KEY, POST_KEY)
        ],
        [Route("000.*", "000.*")],
    )
    codec = ProtobufCodec(HUB_KEY)
    clock = FakeClock()
    publisher = FakePublisher()
    executor = ThreadPoolExecutor(1)
    ledger = Ledger(SqliteStorage(tmp_path / "ledger.sqlite3"))
    service = HubService(
        intake=Intake(registry, codec, clock),
        record=ledger.record,
        codec=codec,
        publisher=publisher,
        clock=clock,
        executor=executor,
    )
    try:
        yield Hub(service, ledger, publisher)
    finally:
        executor.shutdown(wait=True)
        ledger.close()


def _inbound(
    signer: Signer = G22_KEY,
    *,
    kind: Kind = Kind.DOCUMENT,
    recipients: tuple[str, ...] = (H49, G15),
    payload: bytes | None = None,
    document_id: str | None = None,
    subject_member: str | None = None,
) -> tuple[str, Inbound]:
    message_id, raw = seal(
        signer,
        kind=kind,
        recipients=recipients,
        document_id=document_id or str(uuid.uuid4()),
        payload=payload
        if payload is not None
        else document_pb2.Document(subject="Công văn").SerializeToString(),
        signed_at_ms=NOW_MS - 1000,
    )
    return message_id, Inbound(subjects.inbound(subject_member or signer.name), raw)


def _status(document_id: str, code: str, signer: Signer = H49_KEY) -> tuple[str, Inbound]:
    payload = document_pb2.StatusUpdate(document_id=document_id, status_code=code)
    return _inbound(
        signer,
        kind=Kind.STATUS,
        recipients=(G22,),
        payload=payload.SerializeToString(),
        document_id=document_id,
    )


def _by_subject(publications: list[Publication], subject: str) -> list[Publication]:
    return [p for p in publications if p.subject == subject]


def _feed(publications: list[Publication]) -> list[Publication]:
    return [p for p in publications if p.subject.startswith("truc.ledger.")]


def _one(publications: list[Publication], subject: str) -> Publication:
    (publication,) = _by_subject(publications, subject)
    return publication


def _document_id(item: Inbound) -> str:
    header = envelope_pb2.EnvelopeHeader.FromString(
        envelope_pb2.Envelope.FromString(item.data).header
    )
    return header.document_id


# -- an accepted document -----------------------------------------------------------------


async def test_an_accepted_document_is_routed_once_to_each_recipient(hub: Hub) -> None:
    message_id, item = _inbound()
    report = await hub.process(item)
    assert (report.accepted, report.duplicates, report.rejected) == (1, 0, 0)
    (publications,) = hub.publisher.published
    assert report.published == len(publications)
    for recipient in (H49, G15):
        routed = _one(publications, subjects.deliveries(recipient))
        assert routed.msg_id == f"{message_id}:{recipient}"
        verified = open_routed(routed.data, hub_public_key=HUB_KEY.public_key, recipient=recipient)
        assert verified.opened.raw == item.data
        assert verified.stamp.recipient == recipient
        assert verified.stamp.received_at_ms == NOW_MS
        assert verified.stamp.sender_public_key == G22_KEY.public_key
    assert not _by_subject(publications, subjects.deliveries(G22))
    assert not _by_subject(publications, subjects.deliveries(POST))


async def test_an_accepted_document_gets_a_signed_receipt_with_its_ledger_position(
    hub: Hub,
) -> None:
    message_id, item = _inbound()
    await hub.process(item)
    publications = hub.publisher.last
    receipt_pub = _one(publications, subjects.receipts(G22))
    assert receipt_pub.msg_id == f"{message_id}:receipt"
    receipt = open_receipt(receipt_pub.data, hub_public_key=HUB_KEY.public_key)
    assert receipt.accepted
    assert receipt.message_id == message_id
    assert receipt.document_id == _document_id(item)
    assert receipt.recorded_at_ms == NOW_MS
    assert receipt.ledger_position >= 1
    for recipient in (H49, G15):
        routed = _one(publications, subjects.deliveries(recipient))
        stamp = open_routed(routed.data, hub_public_key=HUB_KEY.public_key, recipient=recipient)
        assert stamp.stamp.ledger_position == receipt.ledger_position


def test_a_feed_line_is_the_json_of_the_entry_whatever_its_text_holds() -> None:
    entry = LedgerEntry(7, 'odd "id" \\ đ', 2, 'ledger.x:Thing\n"Done"', b'{"a": "\\u0111"}')
    line = service._feed_line(entry)
    assert json.loads(line) == {
        "position": 7,
        "originator_id": entry.originator_id,
        "originator_version": 2,
        "topic": entry.topic,
        "state": {"a": "đ"},
    }
    # Byte for byte what json.dumps writes (mirrors and monitors may compare lines).
    expected = {k: v for k, v in json.loads(line).items() if k != "state"}
    assert line.startswith(json.dumps(expected, ensure_ascii=False).encode()[:-1])


async def test_an_accepted_document_is_published_on_the_ledger_feed(hub: Hub) -> None:
    _, item = _inbound()
    await hub.process(item)
    feed = _feed(hub.publisher.last)
    assert feed, "recorded events must reach the ledger feed"
    positions = []
    for publication in feed:
        lines = [json.loads(line) for line in publication.data.split(b"\n")]
        assert publication.items == len(lines)
        for body in lines:
            assert publication.subject == subjects.ledger_feed(body["topic"])
            assert set(body) >= {"position", "originator_id", "originator_version", "topic"}
            assert "state" in body
            positions.append(body["position"])
        if len(lines) == 1:
            assert publication.msg_id == f"ledger:{lines[0]['position']}"
        else:
            assert publication.msg_id.startswith(f"ledger:{lines[0]['position']}+{len(lines)}:")
    assert positions == list(range(1, hub.ledger.size() + 1))
    # One message per kind of event: both routings travel together, in ledger order.
    assert [(p.subject, p.items) for p in feed] == [
        ("truc.ledger.document.sent", 1),
        ("truc.ledger.document.routed", 2),
    ]


async def test_a_batch_answers_each_sender_with_one_signed_message(hub: Hub) -> None:
    items = [_inbound(recipients=(H49,)) for _ in range(3)]
    report = await hub.process(*(item for _, item in items))
    assert report.accepted == 3
    publications = hub.publisher.last
    answer = _one(publications, subjects.receipts(G22))
    assert answer.items == 3
    receipts = open_receipts(answer.data, hub_public_key=HUB_KEY.public_key)
    assert [r.message_id for r in receipts] == [message_id for message_id, _ in items]
    assert all(r.accepted and r.ledger_position for r in receipts)
    with pytest.raises(EnvelopeError, match="carries 3 receipts"):
        open_receipt(answer.data, hub_public_key=HUB_KEY.public_key)
    # Counted per receipt, as before batching.
    assert report.published_subjects.count(subjects.receipts(G22)) == 3
    assert report.published == len(publications)
    # The same batch again is the same message to JetStream (deduplicated by its id).
    await hub.process(*(item for _, item in items))
    again = _one(hub.publisher.last, subjects.receipts(G22))
    assert again.msg_id == answer.msg_id
    assert again.data == answer.data


async def test_the_same_batch_twice_records_nothing_new_and_routes_the_same_ids(hub: Hub) -> None:
    message_id, item = _inbound()
    first = await hub.process(item)
    size = hub.ledger.size()
    first_pubs = hub.publisher.last
    second = await hub.process(item)
    again = hub.publisher.last
    assert hub.ledger.size() == size
    assert (second.accepted, second.duplicates, second.rejected) == (1, 1, 0)
    assert first.duplicates == 0
    routed = [p for p in again if p.subject.endswith(".msg")]
    assert sorted(p.msg_id for p in routed) == sorted(
        p.msg_id for p in first_pubs if p.subject.endswith(".msg")
    )
    assert {p.msg_id for p in routed} == {f"{message_id}:{H49}", f"{message_id}:{G15}"}
    # Same stamp: same position, so JetStream's deduplication sees the very same message.
    for publication in routed:
        recipient = H49 if publication.subject == subjects.deliveries(H49) else G15
        twin = _one(first_pubs, publication.subject)
        assert publication.data == twin.data
        assert (
            open_routed(
                publication.data, hub_public_key=HUB_KEY.public_key, recipient=recipient
            ).stamp.ledger_position
            == open_routed(
                twin.data, hub_public_key=HUB_KEY.public_key, recipient=recipient
            ).stamp.ledger_position
        )
    assert _one(again, subjects.receipts(G22)).msg_id == f"{message_id}:receipt"
    # The same batch again: the same feed ids, which JetStream deduplicates.
    assert sorted(p.msg_id for p in _feed(again)) == sorted(p.msg_id for p in _feed(first_pubs))


async def test_receipts_for_one_member_are_cut_into_messages_of_a_bounded_size(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "RECEIPTS_PER_MESSAGE", 2)
    sent = [_inbound(recipients=(H49,)) for _ in range(3)]
    await hub.process(*(item for _, item in sent))
    messages = _by_subject(hub.publisher.last, subjects.receipts(G22))
    assert [p.items for p in messages] == [2, 1]
    receipts = [
        r for p in messages for r in open_receipts(p.data, hub_public_key=HUB_KEY.public_key)
    ]
    assert [r.message_id for r in receipts] == [message_id for message_id, _ in sent]
    assert len({p.msg_id for p in messages}) == 2


async def test_the_same_message_twice_in_one_batch_is_recorded_once_with_one_position(
    hub: Hub,
) -> None:
    message_id, item = _inbound(recipients=(H49,))
    report = await hub.process(item, item)
    assert (report.accepted, report.duplicates) == (2, 1)
    publications = hub.publisher.last
    routed = _by_subject(publications, subjects.deliveries(H49))
    assert {p.msg_id for p in routed} == {f"{message_id}:{H49}"}
    positions = {
        open_routed(p.data, hub_public_key=HUB_KEY.public_key, recipient=H49).stamp.ledger_position
        for p in routed
    }
    assert positions == {1}
    receipts = [
        r
        for p in _by_subject(publications, subjects.receipts(G22))
        for r in open_receipts(p.data, hub_public_key=HUB_KEY.public_key)
    ]
    assert len(receipts) == 2
    assert {r.ledger_position for r in receipts} == {1}


async def test_a_status_is_routed_back_to_the_documents_sender(hub: Hub) -> None:
    _, document = _inbound()
    await hub.process(document)
    status_id, status = _status(_document_id(document), "01")
    report = await hub.process(status)
    assert report.accepted == 1
    publications = hub.publisher.last
    routed = _one(publications, subjects.deliveries(G22))
    assert routed.msg_id == f"{status_id}:{G22}"
    assert open_routed(routed.data, hub_public_key=HUB_KEY.public_key, recipient=G22)
    assert _one(publications, subjects.receipts(H49)).msg_id == f"{status_id}:receipt"
    assert [p.subject for p in _feed(publications)] == ["truc.ledger.document.statusreported"]


async def test_a_delivery_sends_a_delivered_receipt_to_the_documents_sender(hub: Hub) -> None:
    document_message, document = _inbound(recipients=(H49,))
    await hub.process(document)
    payload = envelope_pb2.Delivery(message_id=document_message, delivered_at_ms=NOW_MS)
    delivery_id, delivery = _inbound(
        H49_KEY,
        kind=Kind.DELIVERY,
        recipients=(G22,),
        payload=payload.SerializeToString(),
        document_id=_document_id(document),
    )
    report = await hub.process(delivery)
    assert report.accepted == 1
    publications = hub.publisher.last
    assert not _by_subject(publications, subjects.deliveries(G22))
    to_sender = _one(publications, subjects.receipts(G22))
    assert to_sender.msg_id == f"{delivery_id}:delivered"
    receipt = open_receipt(to_sender.data, hub_public_key=HUB_KEY.public_key)
    assert (receipt.message_id, receipt.delivered_to, receipt.accepted) == (
        document_message,
        H49,
        True,
    )
    assert _one(publications, subjects.receipts(H49)).msg_id == f"{delivery_id}:receipt"


async def test_one_proof_of_several_documents_answers_each_documents_sender(hub: Hub) -> None:
    from_g22, doc_a = _inbound(G22_KEY, recipients=(H49,))
    from_g15, doc_b = _inbound(G15_KEY, recipients=(H49,))
    await hub.process(doc_a, doc_b)
    items = [(_document_id(doc_a), from_g22), (_document_id(doc_b), from_g15)]
    payload = envelope_pb2.Delivery(
        items=[envelope_pb2.DeliveredItem(document_id=d, message_id=m) for d, m in items],
        delivered_at_ms=NOW_MS,
    )
    proof_id, proof = _inbound(
        H49_KEY,
        kind=Kind.DELIVERY,
        recipients=(G22, G15),
        payload=payload.SerializeToString(),
        document_id=items[0][0],
    )
    report = await hub.process(proof)
    assert (report.accepted, report.recorded) == (1, 1)
    publications = hub.publisher.last
    delivered = [
        (p.msg_id, open_receipt(p.data, hub_public_key=HUB_KEY.public_key))
        for sender in (G22, G15)
        for p in _by_subject(publications, subjects.receipts(sender))
    ]
    assert [(msg_id, r.message_id, r.document_id, r.delivered_to) for msg_id, r in delivered] == [
        (f"{proof_id}:delivered:{d}", m, d, H49) for d, m in items
    ]
    # Each receipt names its own document's Delivered event, both under the one signed proof.
    events = [e for d, _ in items for e in hub.ledger.trace(d) if e.event == "Document.Delivered"]
    assert [r.ledger_position for _, r in delivered] == [e.position for e in events]
    assert {e.fields["message_id"] for e in events} == {proof_id}
    # The recipient gets one verdict for its one proof.
    assert _one(publications, subjects.receipts(H49)).msg_id == f"{proof_id}:receipt"
    again = await hub.process(proof)
    assert (again.accepted, again.duplicates) == (1, 1)
    assert [p.msg_id for p in hub.publisher.last] == [p.msg_id for p in publications]


async def test_a_proof_naming_an_unknown_document_is_refused_whole(hub: Hub) -> None:
    sent, doc = _inbound(G22_KEY, recipients=(H49,))
    await hub.process(doc)
    unknown = str(uuid.uuid4())
    items = [(_document_id(doc), sent), (unknown, str(uuid.uuid4()))]
    payload = envelope_pb2.Delivery(
        items=[envelope_pb2.DeliveredItem(document_id=d, message_id=m) for d, m in items]
    )
    _, proof = _inbound(
        H49_KEY,
        kind=Kind.DELIVERY,
        recipients=(G22,),
        payload=payload.SerializeToString(),
        document_id=items[0][0],
    )
    report = await hub.process(proof)
    assert report.rejected == 1
    (letter,) = _by_subject(hub.publisher.last, subjects.dead_letter(H49))
    dead = json.loads(letter.data)
    assert dead["code"] == "unknown_document"
    assert dead["reason"].startswith(f"items[1].document_id: no document {unknown}")
    assert not [e for e in hub.ledger.trace(items[0][0]) if e.event == "Document.Delivered"]


# -- rejected messages --------------------------------------------------------------------


async def test_a_rejected_message_makes_a_dead_letter_and_a_refusal_receipt(hub: Hub) -> None:
    message_id, item = _inbound(recipients=(POST,))
    report = await hub.process(item)
    assert (report.accepted, report.rejected) == (0, 1)
    publications = hub.publisher.last
    dead = _one(publications, subjects.dead_letter(G22))
    assert dead.msg_id == f"{message_id}:dead"
    letter = json.loads(dead.data)
    assert letter["message_id"] == message_id
    assert letter["code"] == "route_not_allowed"
    assert letter["reason"].startswith("header.recipients:")
    assert letter["claimed_sender"] == G22
    assert letter["subject_member"] == G22
    assert letter["authenticated"] is True
    assert base64.b64decode(letter["envelope_b64"]) == item.data
    receipt_pub = _one(publications, subjects.receipts(G22))
    assert receipt_pub.msg_id == f"{message_id}:receipt"
    receipt = open_receipt(receipt_pub.data, hub_public_key=HUB_KEY.public_key)
    assert not receipt.accepted
    assert receipt.reject_code == "route_not_allowed"
    assert receipt.reject_reason == letter["reason"]
    assert not [p for p in publications if p.subject.endswith(".msg")]


async def test_a_rejection_with_someone_accountable_is_recorded_once(hub: Hub) -> None:
    _, item = _inbound(recipients=(POST,))
    await hub.process(item)
    size = hub.ledger.size()
    assert size >= 1
    assert _feed(hub.publisher.last)
    await hub.process(item)
    assert hub.ledger.size() == size
    # The feed is published again under the same ids (JetStream drops the repeats), so a
    # retry after a failed publish still feeds every recorded event.
    assert {p.msg_id for p in _feed(hub.publisher.last)} == {"ledger:1"}
    assert _one(hub.publisher.last, subjects.dead_letter(G22))


async def test_garbage_on_a_non_member_subject_is_a_dead_letter_nobody_is_told(hub: Hub) -> None:
    report = await hub.process(Inbound("truc.in.000_00_00_G99", b"\xff\xff"))
    assert report.rejected == 1
    (dead,) = hub.publisher.last
    assert dead.subject == "truc.dead.unknown"
    letter = json.loads(dead.data)
    assert letter["code"] == "malformed"
    assert letter["message_id"].startswith("sha256:")
    assert dead.msg_id == f"{letter['message_id']}:dead"
    assert hub.ledger.size() == 0


async def test_a_status_about_an_unknown_document_is_refused_by_the_ledger(hub: Hub) -> None:
    message_id, status = _status(str(uuid.uuid4()), "01")
    report = await hub.process(status)
    assert (report.accepted, report.rejected) == (0, 1)
    publications = hub.publisher.last
    letter = json.loads(_one(publications, subjects.dead_letter(H49)).data)
    assert letter["message_id"] == message_id
    assert letter["code"] == "unknown_document"
    assert letter["authenticated"] is True
    receipt = open_receipt(
        _one(publications, subjects.receipts(H49)).data, hub_public_key=HUB_KEY.public_key
    )
    assert (receipt.accepted, receipt.reject_code) == (False, "unknown_document")
    assert not _by_subject(publications, subjects.deliveries(G22))
    assert _feed(publications), "the refusal is recorded and fed"


async def test_one_bad_message_does_not_spoil_the_batch(hub: Hub) -> None:
    good_id, good = _inbound()
    bad_id, bad = _inbound(recipients=(POST,))
    report = await hub.process(good, bad)
    assert (report.accepted, report.rejected) == (1, 1)
    publications = hub.publisher.last
    assert _one(publications, subjects.deliveries(H49)).msg_id == f"{good_id}:{H49}"
    assert _one(publications, subjects.dead_letter(G22)).msg_id == f"{bad_id}:dead"


# -- failures and retries -----------------------------------------------------------------


async def test_a_publisher_that_raises_makes_process_raise(hub: Hub) -> None:
    _, item = _inbound()
    hub.publisher.failures = 1
    with pytest.raises(PublishFailed):
        await hub.process(item)
    assert hub.publisher.published == []


async def test_a_retry_after_a_failed_publish_records_nothing_twice(hub: Hub) -> None:
    message_id, item = _inbound()
    rejected_id, rejected = _inbound(recipients=(POST,))
    hub.publisher.failures = 1
    with pytest.raises(PublishFailed):
        await hub.process(item, rejected)
    size = hub.ledger.size()
    assert size >= 1
    report = await hub.process(item, rejected)
    assert hub.ledger.size() == size
    assert (report.accepted, report.duplicates, report.rejected) == (1, 1, 1)
    publications = hub.publisher.last
    assert {p.msg_id for p in publications if p.subject.endswith(".msg")} == {
        f"{message_id}:{H49}",
        f"{message_id}:{G15}",
    }
    answer = _one(publications, subjects.receipts(G22))
    receipts = open_receipts(answer.data, hub_public_key=HUB_KEY.public_key)
    assert [(r.message_id, r.accepted) for r in receipts] == [
        (message_id, True),
        (rejected_id, False),
    ]
    assert _one(publications, subjects.dead_letter(G22)).msg_id == f"{rejected_id}:dead"


async def test_a_retry_after_a_failed_publish_still_feeds_every_recorded_event(hub: Hub) -> None:
    _, item = _inbound()
    hub.publisher.failures = 1
    with pytest.raises(PublishFailed):
        await hub.process(item)
    await hub.process(item)
    (retry,) = hub.publisher.published  # the first attempt published nothing
    fed = sorted(json.loads(line)["position"] for p in _feed(retry) for line in p.data.split(b"\n"))
    assert fed == list(range(1, hub.ledger.size() + 1))


async def test_an_empty_batch_records_and_publishes_nothing(hub: Hub) -> None:
    report = await hub.process()
    assert report == BatchReport()
    assert hub.publisher.published == [[]]
    assert hub.ledger.size() == 0
