"""The member registry: which key speaks for whom and when, and who may send what to whom."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.errors import HubError
from hub.model import Kind
from hub.registry import Member, MemberKey, Registry, RegistryError, Route
from tests.support import G01, G15, G22, H49, POST

PK = b"\x01" * 32


def _registry(*keys: MemberKey, routes: tuple[Route, ...] = ()) -> Registry:
    return Registry(
        [
            Member(G22, "Văn phòng Chính phủ", "document", keys),
            Member(H49, "UBND tỉnh Quảng Ninh", "document"),
            Member(G15, "Bộ Tư pháp", "document"),
            Member(POST, "Bưu điện Việt Nam", "postal"),
        ],
        routes,
    )


def _key_error(registry: Registry, code: str, key_id: str, at_ms: int) -> RegistryError:
    with pytest.raises(RegistryError) as error:
        registry.key(code, key_id, at_ms)
    return error.value


# -- MemberKey.valid_at -------------------------------------------------------------------


def test_a_key_with_no_bounds_is_valid_from_zero_onwards() -> None:
    key = MemberKey("aaaaaaaa", PK)
    assert key.valid_at(0)
    assert key.valid_at(2**62)
    assert not key.valid_at(-1)


def test_valid_from_is_inclusive() -> None:
    key = MemberKey("aaaaaaaa", PK, valid_from_ms=1000)
    assert not key.valid_at(999)
    assert key.valid_at(1000)


def test_valid_until_is_exclusive() -> None:
    key = MemberKey("aaaaaaaa", PK, valid_until_ms=2000)
    assert key.valid_at(1999)
    assert not key.valid_at(2000)


def test_revocation_takes_effect_at_its_instant() -> None:
    key = MemberKey("aaaaaaaa", PK, revoked_from_ms=3000)
    assert key.valid_at(2999)
    assert not key.valid_at(3000)
    assert not key.valid_at(10**12)


optional_ms = st.one_of(st.none(), st.integers(-(10**6), 10**6))


@given(
    valid_from=st.integers(-(10**6), 10**6),
    valid_until=optional_ms,
    revoked_from=optional_ms,
    at=st.integers(-(10**6), 10**6),
)
def test_valid_at_is_the_half_open_interval_cut_by_revocation(
    valid_from: int, valid_until: int | None, revoked_from: int | None, at: int
) -> None:
    key = MemberKey("aaaaaaaa", PK, valid_from, valid_until, revoked_from)
    expected = (
        valid_from <= at
        and (valid_until is None or at < valid_until)
        and (revoked_from is None or at < revoked_from)
    )
    assert key.valid_at(at) is expected


# -- Registry.key -------------------------------------------------------------------------


def test_key_returns_the_key_valid_at_the_signing_time() -> None:
    key = MemberKey("aaaaaaaa", PK, valid_from_ms=100)
    assert _registry(key).key(G22, "aaaaaaaa", 100) is key


def test_key_of_an_unknown_member_is_unknown_member() -> None:
    error = _key_error(_registry(), "000.00.00.G99", "aaaaaaaa", 0)
    assert error.code == "unknown_member"
    assert "000.00.00.G99" in error.reason


def test_an_unknown_key_id_is_unknown_key() -> None:
    error = _key_error(_registry(MemberKey("aaaaaaaa", PK)), G22, "bbbbbbbb", 0)
    assert error.code == "unknown_key"
    assert "bbbbbbbb" in error.reason and G22 in error.reason


def test_a_member_without_keys_has_no_key() -> None:
    assert _key_error(_registry(), H49, "aaaaaaaa", 0).code == "unknown_key"


def test_a_key_revoked_at_or_before_signing_is_key_revoked() -> None:
    registry = _registry(MemberKey("aaaaaaaa", PK, revoked_from_ms=5000))
    assert _key_error(registry, G22, "aaaaaaaa", 5000).code == "key_revoked"
    assert _key_error(registry, G22, "aaaaaaaa", 9000).code == "key_revoked"
    assert registry.key(G22, "aaaaaaaa", 4999).key_id == "aaaaaaaa"


def test_a_key_used_before_it_is_valid_is_key_not_valid() -> None:
    registry = _registry(MemberKey("aaaaaaaa", PK, valid_from_ms=5000))
    error = _key_error(registry, G22, "aaaaaaaa", 4999)
    assert error.code == "key_not_valid"
    assert "not valid at the signing time" in error.reason


def test_a_retired_key_is_key_not_valid() -> None:
    registry = _registry(MemberKey("aaaaaaaa", PK, valid_until_ms=5000))
    assert _key_error(registry, G22, "aaaaaaaa", 5000).code == "key_not_valid"


def test_key_rotation_overlap_accepts_both_keys_then_only_the_new_one() -> None:
    old = MemberKey("aaaaaaaa", PK, valid_from_ms=0, valid_until_ms=2000)
    new = MemberKey("bbbbbbbb", b"\x02" * 32, valid_from_ms=1000)
    registry = _registry(old, new)
    assert registry.key(G22, "aaaaaaaa", 1500) is old
    assert registry.key(G22, "bbbbbbbb", 1500) is new
    assert registry.key(G22, "bbbbbbbb", 2500) is new
    assert _key_error(registry, G22, "aaaaaaaa", 2500).code == "key_not_valid"


def test_registry_error_is_a_hub_error_with_a_stable_code() -> None:
    error = RegistryError("unknown_key", "no such key")
    assert isinstance(error, HubError)
    assert (error.code, error.reason, str(error)) == ("unknown_key", "no such key", "no such key")


def test_members_and_membership() -> None:
    registry = _registry()
    assert [m.code for m in registry.members] == [G22, H49, G15, POST]
    assert registry.is_member(POST)
    assert not registry.is_member(G01)
    assert registry.member(H49).name == "UBND tỉnh Quảng Ninh"
    with pytest.raises(RegistryError) as error:
        registry.member(G01)
    assert error.value.code == "unknown_member"


# -- routes -------------------------------------------------------------------------------


def test_a_route_allows_every_kind_by_default() -> None:
    route = Route("*", "*")
    assert route.kinds == frozenset(Kind)
    assert all(route.allows(G22, H49, kind) for kind in Kind)


@pytest.mark.parametrize(
    ("senders", "recipients", "sender", "recipient", "allowed"),
    [
        ("000.*", "000.*", G22, H49, True),
        ("000.*", "000.*", G22, POST, False),
        ("000.*", "000.*", POST, G22, False),
        ("000.00.00.G*", "*", G22, POST, True),
        ("000.00.00.G*", "*", H49, POST, False),
        ("*", "000.00.00.H*", G15, H49, True),
        ("*", "000.00.00.H*", G15, G22, False),
        ("000.00.00.G2?", "*", G22, H49, True),
        ("000.00.00.G2?", "*", G15, H49, False),
        (G22, H49, G22, H49, True),
        (G22, H49, H49, G22, False),
        # Globs are case-sensitive, like the codes themselves.
        ("000.00.00.g*", "*", G22, H49, False),
        # `*` crosses dots: a pattern is over the whole code, not one group.
        ("*", "*.G22", H49, G22, True),
    ],
)
def test_route_globs_match_whole_codes(
    senders: str, recipients: str, sender: str, recipient: str, allowed: bool
) -> None:
    assert Route(senders, recipients).allows(sender, recipient, Kind.DOCUMENT) is allowed


def test_a_route_allows_only_its_kinds() -> None:
    route = Route("*", "*", frozenset({Kind.STATUS}))
    assert route.allows(G22, H49, Kind.STATUS)
    assert not route.allows(G22, H49, Kind.DOCUMENT)
    assert not route.allows(G22, H49, Kind.DELIVERY)


def test_a_route_with_no_kinds_allows_nothing() -> None:
    assert not any(Route("*", "*", frozenset()).allows(G22, H49, kind) for kind in Kind)


def test_check_route_passes_when_any_route_allows() -> None:
    registry = _registry(routes=(Route(POST, "*"), Route("000.*", "000.*")))
    registry.check_route(G22, H49, Kind.DOCUMENT)
    registry.check_route(POST, G22, Kind.DOCUMENT)


def test_check_route_refuses_what_no_route_allows() -> None:
    registry = _registry(routes=(Route("000.*", "000.*"),))
    with pytest.raises(RegistryError) as error:
        registry.check_route(G22, POST, Kind.DOCUMENT)
    assert error.value.code == "route_not_allowed"
    assert error.value.reason == f"{G22} may not send document messages to {POST}"


def test_check_route_refuses_a_kind_the_route_does_not_carry() -> None:
    registry = _registry(routes=(Route("*", "*", frozenset({Kind.DOCUMENT})),))
    with pytest.raises(RegistryError) as error:
        registry.check_route(H49, G22, Kind.STATUS)
    assert error.value.code == "route_not_allowed"


def test_with_no_routes_nothing_is_allowed() -> None:
    with pytest.raises(RegistryError) as error:
        _registry().check_route(G22, H49, Kind.DOCUMENT)
    assert error.value.code == "route_not_allowed"


def test_check_route_to_an_unknown_recipient_is_unknown_member() -> None:
    registry = _registry(routes=(Route("*", "*"),))
    with pytest.raises(RegistryError) as error:
        registry.check_route(G22, G01, Kind.DOCUMENT)
    assert error.value.code == "unknown_member"
