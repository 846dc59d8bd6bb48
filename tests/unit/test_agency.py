"""Agency codes (DOMAIN.md section 1) and their reversible NATS subject tokens."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub import subjects
from ledger.agency import (
    MAX_LENGTH,
    from_token,
    is_valid_code,
    to_token,
    validate_code,
)
from ledger.errors import InvalidAgencyCode, LedgerError

ALNUM = string.digits + string.ascii_uppercase

# Well-formed codes: dot-separated groups of 0-9A-Z, at most 35 characters in all.
codes = (
    st.lists(st.text(alphabet=ALNUM, min_size=1, max_size=12), min_size=1, max_size=8)
    .map(".".join)
    .filter(lambda code: len(code) <= MAX_LENGTH)
)


@pytest.mark.parametrize(
    "code",
    [
        "000.00.00.G22",  # Văn phòng Chính phủ, the classic 13-character form
        "000.00.18.G12",
        "000.00.14.H20",
        "H55.242",  # short forms seen in live systems
        "G09.20",
        "BCCI.VNPOST",
        "G22",
        "A" * 35,
        "1.2.3.4.5.6.7.8.9.0.1.2.3.4.5.6.7.8",  # 35 characters, many groups
    ],
)
def test_well_formed_codes_are_returned_unchanged(code: str) -> None:
    assert validate_code(code) == code
    assert is_valid_code(code)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "agency code is empty"),
        ("000.00.00.g22", "must be dot-separated groups of 0-9 and A-Z"),
        ("000.00.00 G22", "must be dot-separated groups of 0-9 and A-Z"),
        (" 000.00.00.G22", "must be dot-separated groups of 0-9 and A-Z"),
        ("000.00.00.G22 ", "must be dot-separated groups of 0-9 and A-Z"),
        ("000.00.00.G22\n", "must be dot-separated groups of 0-9 and A-Z"),
        ("000..00.G22", "must be dot-separated groups of 0-9 and A-Z"),
        (".000.00.00.G22", "must be dot-separated groups of 0-9 and A-Z"),
        ("000.00.00.G22.", "must be dot-separated groups of 0-9 and A-Z"),
        ("000_00_00_G22", "must be dot-separated groups of 0-9 and A-Z"),
        ("000.00.00.G2Đ", "must be dot-separated groups of 0-9 and A-Z"),
        ("000.00.00.G２２", "must be dot-separated groups of 0-9 and A-Z"),  # full-width digits
        ("A" * 36, "is longer than 35 characters"),
    ],
)
def test_malformed_codes_are_refused_with_a_clear_message(code: str, message: str) -> None:
    with pytest.raises(InvalidAgencyCode, match=message):
        validate_code(code)
    assert not is_valid_code(code)


def test_too_long_code_message_quotes_a_bounded_prefix() -> None:
    with pytest.raises(InvalidAgencyCode) as error:
        validate_code("9" * 1000)
    assert len(str(error.value)) < 100


def test_invalid_agency_code_is_a_ledger_error_and_a_value_error() -> None:
    assert issubclass(InvalidAgencyCode, LedgerError)
    assert issubclass(InvalidAgencyCode, ValueError)


def test_to_token_replaces_dots_with_underscores() -> None:
    assert to_token("000.00.00.G22") == "000_00_00_G22"
    assert to_token("H55.242") == "H55_242"
    assert to_token("G22") == "G22"


def test_to_token_refuses_a_malformed_code() -> None:
    with pytest.raises(InvalidAgencyCode):
        to_token("000.00.00.g22")


def test_from_token_restores_the_dots() -> None:
    assert from_token("000_00_00_G22") == "000.00.00.G22"
    assert from_token("BCCI_VNPOST") == "BCCI.VNPOST"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "000.00.00.G22",  # dots never appear in a token
        "000_00_00_g22",
        "000__00_G22",
        "_000_00_00_G22",
        "000_00_00_G22_",
        "000_00_00_G22 ",
        "*",
        ">",
        "A" * 36,
        "000-00-00-G22",
    ],
)
def test_from_token_refuses_what_to_token_could_not_produce(token: str) -> None:
    with pytest.raises(InvalidAgencyCode, match="is not an agency code token"):
        from_token(token)


@given(codes)
def test_token_round_trip_restores_the_code(code: str) -> None:
    token = to_token(code)
    assert "." not in token
    assert len(token) == len(code)
    assert from_token(token) == code


@given(codes)
def test_tokens_are_single_nats_subject_tokens(code: str) -> None:
    token = to_token(code)
    assert not set(token) & set(". *>\t\r\n")


@given(st.text(max_size=40))
def test_from_token_accepts_only_tokens_of_valid_codes(token: str) -> None:
    try:
        code = from_token(token)
    except InvalidAgencyCode:
        return
    assert is_valid_code(code)
    assert to_token(code) == token


@given(st.text(max_size=40))
def test_validate_code_either_returns_the_code_or_raises_invalid_agency_code(text: str) -> None:
    try:
        assert validate_code(text) == text
    except InvalidAgencyCode:
        assert not is_valid_code(text)


@given(codes, codes)
def test_distinct_codes_have_distinct_tokens(first: str, second: str) -> None:
    assert (to_token(first) == to_token(second)) == (first == second)


@given(codes)
def test_inbound_subject_names_its_member(code: str) -> None:
    assert subjects.member_from_inbound(subjects.inbound(code)) == code


@pytest.mark.parametrize(
    "subject",
    ["truc.in.", "truc.in.000.00.00.G22", "truc.out.000_00_00_G22", "truc.in.000_00_00_g22"],
)
def test_subjects_that_are_not_a_member_inbound_name_no_member(subject: str) -> None:
    assert subjects.member_from_inbound(subject) is None
