"""The 12-digit identification number: structure, province list, century/sex and year digits."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.citizen_id import (
    PROVINCES,
    InvalidCitizenId,
    century_digit,
    check_citizen,
    parse_citizen_id,
)


@pytest.mark.parametrize(
    ("number", "province", "year", "sex"),
    [
        ("087084000999", "Đồng Tháp", 1984, "male"),  # DOMAIN.md's example
        ("001185123456", "Hà Nội", 1985, "female"),
        ("079200000001", "Hồ Chí Minh", 2000, "male"),
        ("096307654321", "Cà Mau", 2007, "female"),
        ("022599000000", "Quảng Ninh", 2199, "female"),
        ("046045999999", "Thừa Thiên Huế", 1945, "male"),
    ],
)
def test_structure_is_read(number: str, province: str, year: int, sex: str) -> None:
    citizen = parse_citizen_id(number)
    assert (citizen.province, citizen.birth_year, citizen.sex) == (province, year, sex)


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("", "exactly 12 digits"),
        ("08708400099", "exactly 12 digits"),
        ("0870840009990", "exactly 12 digits"),
        ("08708400099a", "exactly 12 digits"),
        ("087 84000999", "exactly 12 digits"),
        ("０８７０８４０００９９９", "exactly 12 digits"),  # full-width digits are not digits here
        ("003084000999", "province code"),  # 003 is not in the list
        ("000084000999", "province code"),
        ("097084000999", "province code"),
        ("100084000999", "province code"),
    ],
)
def test_malformed_numbers_are_refused_naming_the_field(number: str, reason: str) -> None:
    with pytest.raises(InvalidCitizenId) as caught:
        parse_citizen_id(number)
    assert caught.value.field == "id_number"
    assert reason in str(caught.value)
    assert str(caught.value).startswith("id_number: ")
    if number.strip():
        assert number not in str(caught.value)  # never echo a number


def test_the_official_list_has_63_provinces_including_those_domain_names() -> None:
    assert len(PROVINCES) == 63
    for code in ("001", "022", "031", "038", "040", "046", "048", "072", "079", "087", "092"):
        assert code in PROVINCES
    assert all(len(code) == 3 and code.isdigit() for code in PROVINCES)


@pytest.mark.parametrize(
    ("number", "born", "sex"),
    [
        ("087084000999", "1984-05-17", ""),
        ("087084000999", "1984-05-17", "male"),
        ("001185123456", "1985-12-31", "female"),
        ("079200000001", "2000-01-01", "male"),
        ("079301000001", "2001-02-28", "female"),
    ],
)
def test_consistent_date_of_birth_is_accepted(number: str, born: str, sex: str) -> None:
    assert check_citizen(number, born, sex=sex, today=date(2026, 11, 24)).number == number


@pytest.mark.parametrize(
    ("number", "born", "sex", "field", "reason"),
    [
        ("087004000999", "2004-05-17", "", "id_number", "1900s"),  # wrong century
        ("079200000001", "1900-01-01", "", "id_number", "2000s"),
        ("087084000999", "1985-05-17", "", "id_number", "birth-year digits"),
        ("087084000999", "1984-05-17", "female", "id_number", "says male"),
        ("001185123456", "1985-12-31", "male", "id_number", "says female"),
        ("087084000999", "1984-5-17", "", "date_of_birth", "yyyy-MM-dd"),
        ("087084000999", "17/05/1984", "", "date_of_birth", "yyyy-MM-dd"),
        ("087084000999", "1984-02-30", "", "date_of_birth", "calendar date"),
        ("079226000001", "2026-12-01", "", "date_of_birth", "future"),
        ("087084000999", "1984-05-17", "other", "sex", "male or female"),
    ],
)
def test_inconsistent_date_of_birth_or_sex_is_refused(
    number: str, born: str, sex: str, field: str, reason: str
) -> None:
    with pytest.raises(InvalidCitizenId) as caught:
        check_citizen(number, born, sex=sex, today=date(2026, 11, 24))
    assert caught.value.field == field
    assert reason in caught.value.reason
    assert number not in str(caught.value)


@pytest.mark.parametrize(
    ("year", "female", "digit"),
    [(1900, False, 0), (1999, True, 1), (2000, False, 2), (2099, True, 3), (2100, False, 4)],
)
def test_century_digit(year: int, female: bool, digit: int) -> None:
    assert century_digit(year, female) == digit


def test_century_digit_refuses_years_no_number_encodes() -> None:
    with pytest.raises(InvalidCitizenId, match="date_of_birth"):
        century_digit(1899, False)
