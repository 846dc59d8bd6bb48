"""Ids made and checked on the text agree with the `uuid` module."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from adapters.ids import is_uuid, new_uuid


def test_new_ids_are_canonical_random_uuids_and_differ() -> None:
    made = {new_uuid() for _ in range(2000)}
    assert len(made) == 2000
    for text in made:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


@given(st.uuids())
def test_canonical_text_is_a_uuid(value: uuid.UUID) -> None:
    assert is_uuid(str(value))


@given(st.text(alphabet="0123456789abcdefABCDEF-{}urn:", max_size=45))
def test_is_uuid_is_what_the_uuid_module_prints(text: str) -> None:
    try:
        canonical = str(uuid.UUID(text)) == text
    except ValueError:
        canonical = False
    assert is_uuid(text) is canonical


def test_other_spellings_are_not_canonical() -> None:
    value = uuid.uuid4()
    for spelling in (str(value).upper(), value.hex, f"{{{value}}}", value.urn, f"{value}\n"):
        assert not is_uuid(spelling), spelling
