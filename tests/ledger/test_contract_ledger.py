"""The ledger's contract, run against every storage backend (SQLite file, PostgreSQL).

One abstract suite, one subclass per backend, the way eventsourcing tests its own recorders:
anything the hub relies on (positions, exactly-once effect, group commit, replay, read
models, reading old events) must hold whatever the configuration chose.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from ledger import projections
from ledger.application import Ledger
from ledger.commands import Command, RecordDossierStatus, Recorded, Refused
from ledger.dossier import dossier_aggregate_id
from ledger.projections import Views
from ledger.refusal import refusal_aggregate_id
from ledger.replay import pages, replay_all, replay_document
from ledger.stats import scan_ledger
from ledger.storage import SqliteStorage, Storage
from tests.ledger import builders as b
from tests.ledger.backends import instant, postgres_storage
from tests.support import G15, G22, H49

OpenLedger = Callable[[], Ledger]


def _count(ledger: Ledger) -> int:
    """How many events are recorded (not the highest position: PostgreSQL's positions skip
    the sequence values of rolled-back transactions)."""
    return len(ledger.recorder.select_notifications(None, 100_000))


def _recorded(outcome: object) -> Recorded:
    assert isinstance(outcome, Recorded), outcome
    return outcome


class LedgerContract:
    """Subclass with a `storage` fixture for a backend."""

    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[Storage]:
        raise NotImplementedError

    @pytest.fixture
    def open_ledger(self, storage: Storage) -> Iterator[OpenLedger]:
        """Opens a Ledger on this test's database; call again for a second process or a
        restart. Everything opened is closed afterwards."""
        opened: list[Ledger] = []

        def make() -> Ledger:
            ledger = Ledger(storage)
            opened.append(ledger)
            return ledger

        yield make
        for ledger in opened:
            ledger.close()

    @pytest.fixture
    def ledger(self, open_ledger: OpenLedger) -> Ledger:
        return open_ledger()

    # -- positions and group commit ---------------------------------------------------------

    def test_a_document_is_recorded_as_sent_and_routed_from_position_one(
        self, ledger: Ledger
    ) -> None:
        (outcome,) = ledger.record([b.document("m1", "d1")])
        recorded = _recorded(outcome)
        assert (recorded.position, recorded.duplicate) == (1, False)
        assert recorded.route_to == (H49, G15)
        assert [e.position for e in recorded.entries] == [1, 2, 3]
        assert [e.topic.rsplit(":", 1)[1] for e in recorded.entries] == [
            "Document.Sent",
            "Document.Routed",
            "Document.Routed",
        ]
        assert ledger.size() == 3

    def test_a_batch_records_many_messages_in_ledger_order(self, ledger: Ledger) -> None:
        outcomes = ledger.record(
            [b.document("m1", "d1"), b.document("m2", "d2"), b.status("s1", "d1", "01")]
        )
        positions = [_recorded(o).position for o in outcomes]
        assert positions == sorted(positions) and len(set(positions)) == 3
        assert ledger.size() == 7
        assert ledger.document("d1").statuses[H49] == "01"

    def test_a_batch_that_loses_a_race_is_rolled_back_whole_and_recorded_one_by_one(
        self, open_ledger: OpenLedger, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        first, second = open_ledger(), open_ledger()
        put = second.events.put

        def other_writer_first(*events: Any, **kwargs: Any) -> Any:
            # Between `second` deciding and saving, `first` records d1 itself.
            monkeypatch.setattr(second.events, "put", put)
            first.record([b.document("m1", "d1")])
            return put(*events, **kwargs)

        monkeypatch.setattr(second.events, "put", other_writer_first)
        fresh, raced = second.record([b.document("m2", "d2"), b.document("m1", "d1")])
        # d2 was in the batch that failed: had any of it stayed, d2 would now be a duplicate.
        assert not _recorded(fresh).duplicate
        assert _recorded(raced).duplicate and _recorded(raced).position == 1
        assert _count(second) == 6
        assert [e.event for e in second.trace("d2")].count("Document.Sent") == 1

    # -- exactly-once ----------------------------------------------------------------------

    def test_a_message_twice_in_one_batch_is_recorded_once_with_one_position(
        self, ledger: Ledger
    ) -> None:
        first, again = ledger.record([b.document("m1", "d1"), b.document("m1", "d1")])
        assert not _recorded(first).duplicate and _recorded(again).duplicate
        assert _recorded(again).position == _recorded(first).position
        assert _recorded(again).entries == _recorded(first).entries
        assert ledger.size() == 3

    def test_a_redelivered_message_answers_its_first_recording_and_adds_nothing(
        self, ledger: Ledger
    ) -> None:
        (first,) = ledger.record([b.document("m1", "d1"), b.status("s1", "d1", "01", 1)])[:1]
        ledger.record([b.status("s2", "d1", "03", 2)])
        size = ledger.size()
        again = ledger.record([b.document("m1", "d1"), b.status("s1", "d1", "01", 1)])
        assert ledger.size() == size
        assert [_recorded(o).duplicate for o in again] == [True, True]
        assert _recorded(again[0]).position == _recorded(first).position
        assert _recorded(again[0]).entries == _recorded(first).entries
        assert _recorded(again[1]).route_to == (G22,)
        assert ledger.document("d1").statuses[H49] == "03"

    def test_a_message_after_a_restart_is_recognised(self, open_ledger: OpenLedger) -> None:
        before = open_ledger()
        (first,) = before.record([b.document("m1", "d1")])
        before.close()
        after = open_ledger()
        (again,) = after.record([b.document("m1", "d1")])
        assert _recorded(again).duplicate
        assert _recorded(again).position == _recorded(first).position
        assert after.size() == 3

    def test_two_hub_processes_racing_on_the_same_messages_record_one_set(
        self, open_ledger: OpenLedger
    ) -> None:
        ledgers = [open_ledger(), open_ledger()]
        batch: list[Command] = [b.document(f"m{i}", f"d{i}") for i in range(20)]
        start = threading.Barrier(2)
        results: list[list[Any]] = [[], []]

        def run(index: int) -> None:
            start.wait()
            results[index] = ledgers[index].record(batch)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert _count(ledgers[0]) == 60
        for mine, theirs in zip(*results, strict=True):
            assert {_recorded(mine).duplicate, _recorded(theirs).duplicate} == {False, True}
            assert _recorded(mine).position == _recorded(theirs).position

    def test_a_message_refused_once_is_refused_again_never_recorded(self, ledger: Ledger) -> None:
        (early,) = ledger.record([b.status("s1", "d1", "01")])
        assert isinstance(early, Refused) and early.code == "unknown_document"
        ledger.record([b.refusal("s1", document_id="d1")])  # what the hub does next
        ledger.record([b.document("m1", "d1", 1)])
        size = ledger.size()
        (late,) = ledger.record([b.status("s1", "d1", "01", 2)])
        assert isinstance(late, Refused) and late.code == "route_not_allowed"
        assert ledger.size() == size
        assert ledger.document("d1").statuses[H49] is None

    def test_a_message_recorded_once_is_never_recorded_as_refused_later(
        self, ledger: Ledger
    ) -> None:
        (first,) = ledger.record([b.document("m1", "d1")])
        (late,) = ledger.record([b.refusal("m1", 5, document_id="d1")])
        assert _recorded(late).duplicate
        assert _recorded(late).position == _recorded(first).position
        assert ledger.size() == 3
        assert not ledger.recorder.select_events(refusal_aggregate_id("m1"))

    # -- revoke / update / replace ------------------------------------------------------------

    def test_a_replacement_is_recorded_on_both_documents_in_one_transaction(
        self, ledger: Ledger
    ) -> None:
        ledger.record([b.document("m1", "d1")])
        (outcome,) = ledger.record([b.document("m2", "d2", 1, business_type=3, refers_to="d1")])
        recorded = _recorded(outcome)
        topics = [e.topic.rsplit(":", 1)[1] for e in recorded.entries]
        assert topics == [
            "Document.Sent",
            "Document.Routed",
            "Document.Routed",
            "Document.Replaced",
        ]
        assert ledger.document("d1").replaced_by == "d2"
        assert ledger.document("d2").refers_to == "d1"
        (again,) = ledger.record([b.document("m2", "d2", 1, business_type=3, refers_to="d1")])
        assert _recorded(again).duplicate and _recorded(again).entries == recorded.entries

    # -- one delivery proof of several documents ---------------------------------------------

    def test_one_proof_of_several_documents_records_a_delivery_on_each(
        self, ledger: Ledger
    ) -> None:
        ledger.record(
            [b.document("m1", "d1"), b.document("m2", "d2", sender=G15, recipients=(H49,))]
        )
        (outcome,) = ledger.record([b.deliveries("v1", [("d2", "m2"), ("d1", "m1")], 1)])
        recorded = _recorded(outcome)
        # Item by item: the sender to tell, and the Delivered event, in the proof's order.
        assert recorded.route_to == (G15, G22)
        assert [e.topic.rsplit(":", 1)[1] for e in recorded.entries] == ["Document.Delivered"] * 2
        assert [json.loads(e.state)["delivered_message_id"] for e in recorded.entries] == [
            "m2",
            "m1",
        ]
        assert ledger.document("d1").delivered == {H49: "m1"}
        assert ledger.document("d2").delivered == {H49: "m2"}
        (again,) = ledger.record([b.deliveries("v1", [("d2", "m2"), ("d1", "m1")], 2)])
        assert _recorded(again).duplicate
        assert (_recorded(again).route_to, _recorded(again).entries) == (
            recorded.route_to,
            recorded.entries,
        )

    def test_a_proof_with_one_bad_item_records_none_of_them(self, ledger: Ledger) -> None:
        ledger.record([b.document("m1", "d1"), b.document("m2", "d2", recipients=(G15,))])
        before = _count(ledger)
        (outcome,) = ledger.record([b.deliveries("v1", [("d1", "m1"), ("d2", "m2")], 1)])
        assert isinstance(outcome, Refused)
        assert outcome.code == "not_a_recipient"
        assert outcome.reason.startswith("items[1]: ")
        assert _count(ledger) == before
        assert ledger.document("d1").delivered == {}
        # Nothing half-applied stays with the writer: the next proof of d1 records cleanly.
        (later,) = ledger.record([b.deliveries("v2", [("d1", "m1")], 2)])
        assert _recorded(later).route_to == (G22,)
        assert ledger.document("d1").delivered == {H49: "m1"}

    # -- the writer's saved aggregates ------------------------------------------------------

    def test_a_delivery_after_its_document_does_not_reload_it(
        self, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        ledger.record([b.document("m1", "d1")])
        loads: list[object] = []
        real = ledger.repository.get
        monkeypatch.setattr(
            ledger.repository, "get", lambda *a, **k: loads.append(a) or real(*a, **k)
        )
        (outcome,) = ledger.record([b.delivery("v1", "d1", "m1", 1)])
        assert isinstance(outcome, Recorded) and not outcome.duplicate
        assert loads == []
        assert ledger.document("d1").delivered == {H49: "m1"}

    def test_a_batch_that_fails_leaves_nothing_half_done_for_the_next(
        self, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        ledger.record([b.document("m1", "d1")])

        def disk_full(*args: object, **kwargs: object) -> None:
            raise OSError("disk full")

        with monkeypatch.context() as patch:
            patch.setattr(ledger.events, "put", disk_full)
            with pytest.raises(OSError):
                ledger.record([b.delivery("v1", "d1", "m1", 1)])
        (outcome,) = ledger.record([b.delivery("v1", "d1", "m1", 1)])
        assert isinstance(outcome, Recorded) and not outcome.duplicate  # not "seen" unsaved
        assert ledger.document("d1").delivered == {H49: "m1"}

    def test_a_writer_sees_what_another_recorded_since_its_last_batch(
        self, open_ledger: OpenLedger
    ) -> None:
        first, second = open_ledger(), open_ledger()
        first.record([b.document("m1", "d1")])
        (status,) = second.record([b.status("s1", "d1", "01", 1)])
        # The same message again, judged a refusal now (say its key was revoked since):
        # the ledger took it, so it keeps that first effect.
        (again,) = first.record([b.refusal("s1", 2, document_id="d1")])
        assert isinstance(again, Recorded) and again.duplicate
        assert again.position == _recorded(status).position

    # -- replay -----------------------------------------------------------------------------

    def test_replay_at_each_instant_equals_the_state_observed_then(self, ledger: Ledger) -> None:
        steps: list[list[Command]] = [
            [b.document("m1", "d1", 0)],
            [b.status("s1", "d1", "01", 10)],
            [b.delivery("v1", "d1", "m1", 20), b.status("s2", "d1", "03", 20, reporter=G15)],
            [b.status("s3", "d1", "13", 30, reporter=G22)],
            [b.status("s4", "d1", "15", 40)],
        ]
        observed = []
        for minute, step in zip((0, 10, 20, 30, 40), steps, strict=True):
            ledger.record(step)
            observed.append((minute, ledger.document("d1").view()))
        for minute, state in observed:
            assert replay_document(ledger, "d1", instant(minute)).state == state
            assert replay_document(ledger, "d1", instant(minute + 9.99)).state == state
        assert replay_document(ledger, "d1", instant(-1)).state is None
        whole = replay_all(ledger, instant(25))
        assert whole.aggregates["document"]["d1"] == observed[2][1]

    # -- read models --------------------------------------------------------------------------

    def test_views_catch_up_incrementally_and_rebuild_to_the_same_rows(
        self, ledger: Ledger
    ) -> None:
        ledger.record([b.document("m1", "d1"), b.status("s1", "d1", "01", 1)])
        views = Views(ledger)
        assert views.catch_up() == 4
        ledger.record([b.document("m2", "d2", 2, recipients=(H49,))])
        assert views.lag() == 2
        assert views.catch_up() == 2 and views.catch_up() == 0
        inbox = views.inbox(H49)
        assert [(r.document_id, r.status_code) for r in inbox] == [("d2", ""), ("d1", "01")]
        stats = views.stats()
        assert stats == scan_ledger(ledger)
        assert views.rebuild() == _count(ledger)
        assert views.inbox(H49) == inbox and views.stats() == stats

    def test_a_page_grouped_into_few_statements_gives_the_rows_of_one_event_a_page(
        self, open_ledger: OpenLedger
    ) -> None:
        ledger = open_ledger()
        ledger.record([b.document(f"m{i}", f"d{i}", i) for i in range(4)])
        ledger.record([b.delivery(f"v{i}", f"d{i}", f"m{i}", 5) for i in range(4)])
        ledger.record(
            [
                b.status("s0", "d0", "01", 6),
                b.status("s1", "d0", "03", 6),  # the later status of one reporter wins
                b.status("s2", "d1", "13", 7, reporter=G22),
                b.status("s3", "d1", "15", 8),
                b.document("m9", "d9", 9, business_type=3, refers_to="d2"),
            ]
        )
        whole = Views(ledger)
        assert whole.catch_up() == _count(ledger)
        rows = {member: whole.inbox(member) for member in (H49, G15)}
        assert whole.stats() == scan_ledger(ledger)
        single = Views(ledger, page_size=1)
        assert single.rebuild() == _count(ledger)
        assert {member: single.inbox(member) for member in (H49, G15)} == rows
        assert single.stats() == scan_ledger(ledger)
        states = {r.document_id: r.state for r in rows[H49]}
        assert states["d1"] == "recalled" and states["d2"] == "replaced"
        assert [r.status_code for r in rows[H49] if r.document_id == "d0"] == ["03"]
        page = next(pages(ledger, size=1000))
        statements = projections.plan(page)
        assert len(statements) < len(page) / 2
        assert [len(rows) for _, rows in statements[:2]] == [5, 10]  # Sent, Routed hoisted

    def test_two_catch_ups_at_once_count_every_event_exactly_once(
        self, open_ledger: OpenLedger
    ) -> None:
        writer = open_ledger()
        writer.record([b.document(f"m{i}", f"d{i}", i) for i in range(60)])
        views = [Views(open_ledger(), page_size=7), Views(open_ledger(), page_size=5)]
        start = threading.Barrier(2)

        def run(v: Views) -> None:
            start.wait()
            v.catch_up()

        threads = [threading.Thread(target=run, args=(v,)) for v in views]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert views[0].position() == writer.size()
        assert views[0].stats() == scan_ledger(writer)
        assert views[0].stats().total == 180

    def test_a_page_that_fails_half_way_leaves_the_views_untouched(
        self, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        ledger.record([b.document("m1", "d1"), b.document("m2", "d2", 1)])
        views = Views(ledger)

        def broken(position: int, event: Any) -> Any:
            if event.document_id == "d2":
                raise RuntimeError("crash while projecting")
            return original(position, event)

        original = projections._HANDLERS["Document.Sent"]
        monkeypatch.setitem(projections._HANDLERS, "Document.Sent", broken)
        with pytest.raises(RuntimeError):
            views.catch_up()
        assert views.position() == 0 and views.stats().total == 0 and not views.inbox(H49)
        monkeypatch.setitem(projections._HANDLERS, "Document.Sent", original)
        assert views.catch_up() == 6
        assert views.stats() == scan_ledger(ledger)

    # -- schema evolution -----------------------------------------------------------------------

    def test_a_refusal_recorded_by_the_walking_skeleton_is_read_as_today_s_event(
        self, ledger: Ledger
    ) -> None:
        v1_state = {
            "timestamp": {"_type_": "datetime_iso", "_data_": "2026-06-09T01:00:00.100000+00:00"},
            "originator_topic": "ledger.refusal:RefusedMessage",
            "message_id": "old-1",
            "claimed_sender": G22,
            "authenticated": True,
            "reason_code": "route_not_allowed",
            "reason": "header.recipients: not allowed",
            "received_at": "2026-06-09T01:00:00.000+00:00",
            "header_b64": "",
            "signature_b64": "",
        }
        ledger.recorder.insert_events(
            [
                StoredEvent(
                    originator_id=refusal_aggregate_id("old-1"),
                    originator_version=1,
                    topic="ledger.refusal:RefusedMessage.Refused",
                    state=json.dumps(v1_state).encode(),
                )
            ]
        )
        ((position, event),) = ledger.history(refusal_aggregate_id("old-1"))
        assert (
            position == 1
            and event.document_id == ""
            and event.reason_code == v1_state["reason_code"]
        )
        (again,) = ledger.record([b.refusal("old-1")])
        assert _recorded(again).duplicate and _recorded(again).position == 1
        assert scan_ledger(ledger).by_type() == {"RefusedMessage.Refused": 1}
        assert replay_all(ledger, instant(1)).counts() == {"refusal": 1}

    def test_a_dossier_recorded_before_the_dossier_work_is_read_and_carried_on(
        self, ledger: Ledger
    ) -> None:
        code = "000.00.14.H20-200703-0002"
        stamp = {"_type_": "datetime_iso", "_data_": "2026-06-09T01:00:00.100000+00:00"}
        v1 = [
            {
                "timestamp": stamp,
                "originator_topic": "ledger.dossier:Dossier",
                "code": code,
                "procedure_code": "1.011442.000.00.00.H38",
                "receiver": H49,
                "channel": 2,
                "due_date": "20260615",
                "message_id": "old-d1",
                "received_at": "2026-06-09T01:00:00.000+00:00",
            },
            {
                "timestamp": stamp,
                "status": 2,
                "by": H49,
                "note": "",
                "message_id": "old-d2",
                "received_at": "2026-06-09T01:01:00.000+00:00",
            },
        ]
        ledger.recorder.insert_events(
            [
                StoredEvent(
                    originator_id=dossier_aggregate_id(code),
                    originator_version=version,
                    topic=f"ledger.dossier:Dossier.{name}",
                    state=json.dumps(state).encode(),
                )
                for version, name, state in ((1, "Received", v1[0]), (2, "StatusChanged", v1[1]))
            ]
        )
        dossier = ledger.dossier(code)
        assert (dossier.status, dossier.owner, dossier.last_at) == (
            2,
            "",
            "2026-06-09T01:01:00.000+00:00",  # v1 had only the hub's time
        )
        (later,) = ledger.record(
            [RecordDossierStatus("new-d3", code, 4, H49, "", "2026-06-09T02:00:00.000+00:00")]
        )
        assert _recorded(later).position == 3 and ledger.dossier(code).status == 4


class TestSqliteLedger(LedgerContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[Storage]:
        yield SqliteStorage(tmp_path / "ledger.sqlite3")


@pytest.mark.postgres
class TestPostgresLedger(LedgerContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> Iterator[Storage]:
        with postgres_storage() as storage:
            yield storage
