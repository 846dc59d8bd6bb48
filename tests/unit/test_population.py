"""Population look-ups without a network: the hub's judgement (intake with the real codec
and registry), the citizen vault (pseudonyms, sealing, shredding) and the synthetic register."""

from __future__ import annotations

import os
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.crypto import Signer
from adapters.envelope import ProtobufCodec, seal
from adapters.pb.truc.v1 import population_pb2
from adapters.population.payloads import answer_payload, request_payload
from adapters.population.register import EXAMPLE, RegisterStore, generate, normalise_name
from adapters.population.vault import CitizenVault, VaultError
from hub.intake import Accepted, Intake, Rejected
from hub.lookups import seal_context
from hub.model import Kind
from hub.registry import Member, MemberKey, Registry, Route
from ledger.citizen_id import check_citizen
from ledger.commands import RecordLookup, RecordLookupAnswer
from tests.support import G01, G15, G22, H49

NOW_MS = 1_750_000_000_000
KEYS = {code: Signer.generate(code) for code in (G22, G15, H49, G01)}
HUB = Signer.generate("truc.test")


@dataclass
class FakeClock:
    def now_ms(self) -> int:
        return NOW_MS


def registry() -> Registry:
    members = [
        Member(c, c, "population" if c == G01 else "document", (MemberKey(k.key_id, k.public_key),))
        for c, k in KEYS.items()
    ]
    routes = [
        Route("000.*", "000.*", frozenset({Kind.DOCUMENT})),
        Route(H49, G01, frozenset({Kind.LOOKUP}), frozenset({"sex"})),
        Route(G22, "000.*", frozenset({Kind.LOOKUP})),
        Route(G01, "000.*", frozenset({Kind.LOOKUP_ANSWER})),
    ]
    return Registry(members, routes)


@pytest.fixture
def vault(tmp_path: Path) -> CitizenVault:
    return CitizenVault(tmp_path / "secrets")


def verify_request(**changes: object) -> population_pb2.VerifyRequest:
    fields: dict[str, object] = {
        "id_number": EXAMPLE.id_number,
        "full_name": EXAMPLE.full_name,
        "date_of_birth": EXAMPLE.date_of_birth,
        "purpose": "xác minh",
        "legal_basis": "Luật Căn cước 2023",
        "officer": "cán bộ A",
    }
    fields.update(changes)
    return population_pb2.VerifyRequest(**fields)  # type: ignore[arg-type]


def judge(
    vault: CitizenVault | None, sender: str, recipient: str, kind: Kind, payload: bytes, doc: str
) -> Accepted | Rejected:
    message_id = doc if kind is Kind.LOOKUP else str(uuid.uuid4())
    _, raw = seal(
        KEYS[sender],
        kind=kind,
        recipients=[recipient],
        document_id=doc,
        payload=payload,
        signed_at_ms=NOW_MS,
        message_id=message_id,
    )
    intake = Intake(registry(), ProtobufCodec(HUB), FakeClock(), privacy=vault)
    return intake.judge(sender, raw)


def test_a_lookup_is_recorded_under_a_pseudonym_with_its_purpose_and_law(
    vault: CitizenVault,
) -> None:
    doc = str(uuid.uuid4())
    verdict = judge(
        vault, H49, G01, Kind.LOOKUP, request_payload(verify_request(attributes=["sex"])), doc
    )
    assert isinstance(verdict, Accepted)
    command = verdict.command
    assert isinstance(command, RecordLookup)
    assert command.subject_digest == vault.pseudonym(EXAMPLE.id_number)
    assert (command.requester, command.responder, command.attributes) == (H49, G01, ("sex",))
    assert command.legal_basis == "Luật Căn cước 2023" and command.header_b64
    assert EXAMPLE.id_number not in repr(command) and EXAMPLE.full_name not in repr(command)


@pytest.mark.parametrize(
    ("sender", "recipient", "attributes", "code"),
    [
        (G15, G01, [], "route_not_allowed"),
        (H49, G01, ["place_of_birth"], "attribute_not_allowed"),
        (G22, G01, ["sex"], "attribute_not_allowed"),
        (G22, H49, [], "not_a_register"),
    ],
)
def test_the_route_policy_decides_who_may_ask_for_what(
    vault: CitizenVault, sender: str, recipient: str, attributes: list[str], code: str
) -> None:
    payload = request_payload(verify_request(attributes=attributes))
    verdict = judge(vault, sender, recipient, Kind.LOOKUP, payload, str(uuid.uuid4()))
    assert isinstance(verdict, Rejected) and verdict.code == code and verdict.authenticated
    assert EXAMPLE.id_number not in verdict.reason
    # Recorded on the citizen's Lookup as refused, so it shows in their access report.
    record = verdict.record
    assert isinstance(record, RecordLookup) and record.refused_code == code
    assert record.subject_digest == vault.pseudonym(EXAMPLE.id_number)
    assert record.requester == sender and record.refused_reason == verdict.reason


def test_a_hub_without_a_vault_takes_no_lookups() -> None:
    verdict = judge(
        None, H49, G01, Kind.LOOKUP, request_payload(verify_request()), str(uuid.uuid4())
    )
    assert isinstance(verdict, Rejected) and verdict.code == "lookups_disabled"
    assert verdict.record is None  # no pseudonym without a vault: a plain refusal


def test_the_hub_checks_the_number_again_without_echoing_it(vault: CitizenVault) -> None:
    payload = request_payload(verify_request(date_of_birth="1985-05-17"))
    verdict = judge(vault, H49, G01, Kind.LOOKUP, payload, str(uuid.uuid4()))
    assert isinstance(verdict, Rejected) and verdict.code == "invalid_payload"
    assert verdict.reason.startswith("id_number: ") and EXAMPLE.id_number not in verdict.reason


def test_an_answer_is_sealed_under_the_citizens_key(vault: CitizenVault) -> None:
    doc = str(uuid.uuid4())
    payload = answer_payload(doc, EXAMPLE.id_number, True, {"sex": "male"})
    verdict = judge(vault, G01, H49, Kind.LOOKUP_ANSWER, payload, doc)
    assert isinstance(verdict, Accepted)
    command = verdict.command
    assert isinstance(command, RecordLookupAnswer)
    pseudonym = vault.pseudonym(EXAMPLE.id_number)
    assert command.subject_digest == pseudonym and command.disclosed == ("sex",)
    assert b"male" not in command.sealed_attributes.encode()
    assert vault.open(pseudonym, command.sealed_attributes, seal_context(doc)) == b'{"sex": "male"}'
    # Only a population member answers.
    forged = judge(vault, G22, H49, Kind.LOOKUP_ANSWER, payload, doc)
    assert isinstance(forged, Rejected)


def test_pseudonyms_are_keyed_stable_and_distinct(tmp_path: Path) -> None:
    one, other = CitizenVault(tmp_path / "a"), CitizenVault(tmp_path / "b")
    assert one.pseudonym("087084000999") == one.pseudonym("087084000999")
    assert one.pseudonym("087084000999") != one.pseudonym("087084000998")
    assert one.pseudonym("087084000999") != other.pseudonym("087084000999")
    assert len(one.pseudonym("087084000999")) == 64
    again = CitizenVault(tmp_path / "a", create=False)
    assert again.pseudonym("087084000999") == one.pseudonym("087084000999")
    mode = stat.S_IMODE(os.stat(tmp_path / "a" / "pseudonym.key").st_mode)
    assert mode == 0o600
    with pytest.raises(VaultError, match="no pseudonym secret"):
        CitizenVault(tmp_path / "c", create=False)


def test_sealed_values_are_bound_to_their_lookup_and_die_with_the_key(vault: CitizenVault) -> None:
    alice, bob = vault.pseudonym("087084000999"), vault.pseudonym("001185123456")
    sealed = vault.seal(alice, b"secret", b"ctx-1")
    kept = vault.seal(bob, b"other", b"ctx-2")
    assert vault.open(alice, sealed, b"ctx-1") == b"secret"
    with pytest.raises(VaultError, match="does not decrypt"):
        vault.open(alice, sealed, b"ctx-2")
    assert vault.open(bob, sealed, b"ctx-1") is None  # not sealed under Bob's key
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(VaultError, match="does not decrypt"):
        vault.open(alice, tampered, b"ctx-1")
    assert vault.shred(alice) is True
    assert vault.open(alice, sealed, b"ctx-1") is None
    assert vault.shred(alice) is False
    assert vault.open(bob, kept, b"ctx-2") == b"other"  # only that citizen is erased
    # A later look-up of the shredded citizen gets a new key; the old values stay lost.
    vault.seal(alice, b"new", b"ctx-3")
    assert vault.open(alice, sealed, b"ctx-1") is None


def test_the_synthetic_register_is_deterministic_and_structurally_valid() -> None:
    first, again = list(generate(500, seed=3)), list(generate(500, seed=3))
    assert first == again and first[0] == EXAMPLE
    assert list(generate(50, seed=4))[1:] != first[1:50]
    assert len({c.id_number for c in first}) == 500
    for citizen in first:
        parsed = check_citizen(citizen.id_number, citizen.date_of_birth, sex=citizen.sex)
        assert parsed.province == citizen.place_of_birth


def test_the_register_matches_on_number_name_and_birth_date(tmp_path: Path) -> None:
    store = RegisterStore(tmp_path / "register.sqlite3", citizens=20, seed=1)
    assert store.count() == 20
    assert store.verify(EXAMPLE.id_number, "NGUYỄN  văn An", EXAMPLE.date_of_birth, ["sex"]) == (
        True,
        {"sex": "male"},
    )
    assert store.verify(EXAMPLE.id_number, "Nguyen Van An", EXAMPLE.date_of_birth, []) == (
        False,
        {},
    )
    assert store.verify(EXAMPLE.id_number, EXAMPLE.full_name, "1984-05-18", ["sex"]) == (False, {})
    assert store.verify("001185123456", "Ai Đó", "1985-01-01", []) == (False, {})
    store.close()
    assert RegisterStore(tmp_path / "register.sqlite3", citizens=999).count() == 20  # kept
    assert normalise_name("Nguye\u0302\u0303n") == normalise_name("Nguyễn")  # NFD == NFC


def test_a_redelivered_request_is_answered_under_the_same_message_id() -> None:
    from adapters.population.responder import answer_id

    request = str(uuid.uuid4())
    assert answer_id(request) == answer_id(request) != answer_id(str(uuid.uuid4()))
    assert str(uuid.UUID(answer_id(request))) == answer_id(request)  # a valid message id
