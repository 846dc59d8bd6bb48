"""The orjson transcoder writes the very bytes eventsourcing's JSONTranscoder writes (they
are Merkle leaves), and reads back the very values, whatever the state holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, TranscodingNotRegisteredError
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.storage import SqliteStorage
from ledger.transcoding import OrjsonTranscoder
from tests.ledger.conftest import Traffic


def _registered(transcoder: JSONTranscoder) -> JSONTranscoder:
    Application.register_transcodings(None, transcoder)  # type: ignore[arg-type]
    return transcoder


STDLIB = _registered(JSONTranscoder())
FAST = _registered(OrjsonTranscoder())

_zones = st.sampled_from([UTC, timezone(timedelta(hours=7)), timezone(timedelta(minutes=-90))])
_scalars = (
    st.text()  # control characters, quotes, backslashes, any plane
    | st.integers()  # beyond 64 bits too: orjson refuses those, the stdlib path writes them
    | st.booleans()
    | st.none()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.uuids()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.datetimes(timezones=_zones)
    | st.datetimes()
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_states = st.dictionaries(st.text(max_size=12), _values, max_size=8)


@settings(max_examples=400)
@given(_states)
def test_same_bytes_and_same_values_as_eventsourcing(state: dict[str, Any]) -> None:
    written = STDLIB.encode(state)
    assert FAST.encode(state) == written
    assert _same(FAST.decode(written), STDLIB.decode(written))


def test_a_transcoded_value_inside_a_list_inside_a_dict_is_revived() -> None:
    at = datetime(2026, 11, 25, 1, 2, 3, 456789, tzinfo=UTC)
    state = {"a": [{"b": at, "c": [UUID(int=7)]}], "d": Decimal("1.5")}
    assert FAST.decode(FAST.encode(state)) == state


def test_what_the_stdlib_refuses_is_refused_the_same_way() -> None:
    with pytest.raises(UnicodeEncodeError):
        STDLIB.encode({"s": "\ud800"})
    with pytest.raises(UnicodeEncodeError):
        FAST.encode({"s": "\ud800"})
    with pytest.raises(TranscodingNotRegisteredError):
        FAST.encode({"s": object()})
    with pytest.raises(TranscodingNotRegisteredError, match="'nope' is not deserializable"):
        FAST.decode(b'{"x":{"_type_":"nope","_data_":1}}')


def test_the_ledger_stores_what_the_stdlib_transcoder_would(
    tmp_path: Path, traffic: Traffic
) -> None:
    ledger = Ledger(SqliteStorage(tmp_path / "ledger.db"))
    try:
        assert isinstance(ledger.mapper.transcoder, OrjsonTranscoder)
        traffic.fill(ledger, 2)
        stored = ledger.recorder.select_notifications(start=1, limit=10)
        assert stored
        for n in stored:
            assert STDLIB.encode(STDLIB.decode(n.state)) == n.state
            assert ledger.mapper.to_domain_event(n).__dict__ == _event_of(ledger, n).__dict__
    finally:
        ledger.close()


def _event_of(ledger: Ledger, n: Any) -> Any:
    """The event as eventsourcing's own transcoder would read it."""
    fast, ledger.mapper.transcoder = ledger.mapper.transcoder, STDLIB
    try:
        return ledger.mapper.to_domain_event(n)
    finally:
        ledger.mapper.transcoder = fast


def _same(a: Any, b: Any) -> bool:
    """Equality that counts NaN equal to NaN and tells lists from tuples and 1 from True."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and a != a:
        return bool(b != b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
