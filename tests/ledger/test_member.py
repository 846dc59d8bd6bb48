"""The Member aggregate and bringing it in line with the configured registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.application import Ledger
from ledger.commands import AddMemberKey, Recorded, Refused, RetireMemberKey, RevokeMemberKey
from ledger.member import KeySpec, MemberSpec, RouteSpec
from ledger.storage import SqliteStorage
from tests.ledger.backends import at
from tests.support import G22


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = Ledger(SqliteStorage(tmp_path / "ledger.sqlite3"))
    yield opened
    opened.close()


SPEC = MemberSpec(
    G22,
    "Văn phòng Chính phủ",
    "document",
    keys=(KeySpec("k1", "AAAA", valid_from=at(0)),),
    routes=(RouteSpec("000.*", ("status", "document")),),
)


def test_syncing_the_same_configuration_twice_records_it_once(ledger: Ledger) -> None:
    first = ledger.sync_members([SPEC], change_id="cfg-1", received_at=at(0))
    assert [type(o) for o in first] == [Recorded] * 3
    assert ledger.sync_members([SPEC], change_id="cfg-1", received_at=at(1)) == []
    assert ledger.sync_members([SPEC], change_id="cfg-2", received_at=at(2)) == []
    member = ledger.member(G22)
    assert member.view()["routes"] == [{"recipients": "000.*", "kinds": ["document", "status"]}]
    assert member.version == 3


def test_a_key_or_route_dropped_from_the_configuration_is_revoked_not_forgotten(
    ledger: Ledger,
) -> None:
    ledger.sync_members([SPEC], change_id="cfg-1", received_at=at(0))
    rotated = MemberSpec(
        G22, SPEC.name, SPEC.kind, keys=(KeySpec("k2", "BBBB", valid_from=at(5)),), routes=()
    )
    outcomes = ledger.sync_members([rotated], change_id="cfg-2", received_at=at(5))
    assert len(outcomes) == 3 and all(isinstance(o, Recorded) for o in outcomes)
    keys = ledger.member(G22).keys
    assert keys["k1"]["revoked_from"] == at(5) and keys["k1"]["reason"] == (
        "removed from configuration"
    )
    assert keys["k2"]["revoked_from"] == ""
    assert ledger.member(G22).routes == {}


def test_member_rules_refuse_with_the_field_and_reason(ledger: Ledger) -> None:
    ledger.sync_members([SPEC], change_id="cfg-1", received_at=at(0))
    (again,) = ledger.record([AddMemberKey("x1", G22, "k1", "CCCC", at(1), "", at(1))])
    assert isinstance(again, Refused) and again.code == "duplicate_key"
    assert again.reason.startswith("key_id: ")
    (unknown,) = ledger.record([RevokeMemberKey("x2", G22, "nope", at(1), "", at(1))])
    assert isinstance(unknown, Refused) and unknown.code == "unknown_key"
    (stranger,) = ledger.record([RevokeMemberKey("x3", "000.00.00.G99", "k1", at(1), "", at(1))])
    assert isinstance(stranger, Refused) and stranger.code == "unknown_member"
    (revoked,) = ledger.record([RevokeMemberKey("x4", G22, "k1", at(2), "lost", at(2))])
    assert isinstance(revoked, Recorded)
    (twice,) = ledger.record([RevokeMemberKey("x5", G22, "k1", at(3), "lost", at(3))])
    assert isinstance(twice, Refused) and twice.code == "key_revoked"


def test_going_back_to_an_earlier_configuration_grants_the_route_again(ledger: Ledger) -> None:
    ledger.sync_members([SPEC], change_id="cfg-a", received_at=at(0))
    no_routes = MemberSpec(G22, SPEC.name, SPEC.kind, keys=SPEC.keys, routes=())
    ledger.sync_members([no_routes], change_id="cfg-b", received_at=at(1))
    assert ledger.member(G22).routes == {}
    (granted,) = ledger.sync_members([SPEC], change_id="cfg-a", received_at=at(2))
    assert isinstance(granted, Recorded) and not granted.duplicate
    assert len(ledger.member(G22).routes) == 1


def test_a_rotation_records_the_old_keys_retirement_once(ledger: Ledger) -> None:
    ledger.sync_members([SPEC], change_id="cfg-1", received_at=at(0))
    rotated = MemberSpec(
        G22,
        SPEC.name,
        SPEC.kind,
        keys=(
            KeySpec("k1", "AAAA", valid_from=at(0), valid_until=at(10)),
            KeySpec("k2", "BBBB", valid_from=at(5)),
        ),
        routes=SPEC.routes,
    )
    outcomes = ledger.sync_members([rotated], change_id="cfg-2", received_at=at(5))
    assert [type(o) for o in outcomes] == [Recorded, Recorded]
    keys = ledger.member(G22).keys
    assert keys["k1"]["valid_until"] == at(10) and keys["k1"]["revoked_from"] == ""
    assert ledger.sync_members([rotated], change_id="cfg-3", received_at=at(6)) == []
    topics = [t for _, t in _topics(ledger)]
    assert topics.count("ledger.member:Member.KeyRetired") == 1


@pytest.mark.parametrize(
    ("key_id", "valid_until", "code"),
    [
        ("nope", at(3), "unknown_key"),
        ("k1", "", "missing_field"),
        ("k1", "2020-01-01T00:00:00.000+00:00", "invalid_validity"),
    ],
)
def test_retirement_rules_refuse_with_the_field(
    ledger: Ledger, key_id: str, valid_until: str, code: str
) -> None:
    ledger.sync_members([SPEC], change_id="cfg-1", received_at=at(0))
    (refused,) = ledger.record([RetireMemberKey("r1", G22, key_id, valid_until, at(1))])
    assert isinstance(refused, Refused) and refused.code == code
    assert refused.reason.split(":")[0] in {"key_id", "valid_until"}


def test_retirement_only_shortens_a_keys_life_and_never_touches_a_revoked_key(
    ledger: Ledger,
) -> None:
    ledger.sync_members([SPEC], change_id="cfg-1", received_at=at(0))
    (first,) = ledger.record([RetireMemberKey("r1", G22, "k1", at(10), at(1))])
    assert isinstance(first, Recorded)
    (later,) = ledger.record([RetireMemberKey("r2", G22, "k1", at(20), at(2))])
    assert isinstance(later, Refused) and later.code == "already_retired"
    (sooner,) = ledger.record([RetireMemberKey("r3", G22, "k1", at(5), at(3))])
    assert isinstance(sooner, Recorded)
    ledger.record([RevokeMemberKey("r4", G22, "k1", at(4), "lost", at(4))])
    (revoked,) = ledger.record([RetireMemberKey("r5", G22, "k1", at(4), at(5))])
    assert isinstance(revoked, Refused) and revoked.code == "key_revoked"


def _topics(ledger: Ledger) -> list[tuple[int, str]]:
    return [(n.id, n.topic) for n in ledger.recorder.select_notifications(start=1, limit=1000)]
