"""The 12-digit personal identification number (số định danh cá nhân, DOMAIN.md section 5).

Layout `PPP G YY RRRRRR` [TT 07/2016/TT-BCA, Luật Căn cước 2023]: PPP the province where the
birth was registered (official codes below), G the century and sex (0/1 = 1900s male/female,
2/3 = 2000s, 4/5 = 2100s, ...), YY the last two digits of the birth year, RRRRRR random. There
is no check digit, so these structural checks are all that can be done before asking the
register; they run in the asking agency's adapter, so a mistyped number never leaves it.

Pure functions. Errors name the field and the reason but never echo the number itself:
messages end up in logs and in the ledger, which must not hold identification numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from ledger.errors import LedgerError

# The 63 province codes of TT 07/2016/TT-BCA (birth registrations before the 2025 merger
# keep their code). Names as the circular gives them.
PROVINCES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}

FIRST_CENTURY = 1900  # G = 0/1
_TWELVE_DIGITS = re.compile(r"[0-9]{12}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class InvalidCitizenId(LedgerError):
    """An identification number (or the date of birth given with it) is not consistent."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class CitizenId:
    """What the number itself says about its holder."""

    number: str
    province_code: str
    birth_year: int
    female: bool

    @property
    def province(self) -> str:
        return PROVINCES[self.province_code]

    @property
    def sex(self) -> str:
        return "female" if self.female else "male"


def century_digit(birth_year: int, female: bool) -> int:
    """The G digit for a birth year and sex: 0/1 for the 1900s, 2/3 the 2000s, ..."""
    century = (birth_year - FIRST_CENTURY) // 100
    if not 0 <= century <= 4:
        raise InvalidCitizenId("date_of_birth", f"year {birth_year} is outside 1900..2399")
    return 2 * century + int(female)


def parse_citizen_id(number: str, field: str = "id_number") -> CitizenId:
    """Check the structure of a 12-digit number; raise InvalidCitizenId naming `field`."""
    if not _TWELVE_DIGITS.fullmatch(number):
        raise InvalidCitizenId(field, "must be exactly 12 digits")
    province_code, g, yy = number[:3], int(number[3]), int(number[4:6])
    if province_code not in PROVINCES:
        raise InvalidCitizenId(
            field, "the first three digits are not a province code of TT 07/2016/TT-BCA"
        )
    return CitizenId(
        number=number,
        province_code=province_code,
        birth_year=FIRST_CENTURY + 100 * (g // 2) + yy,
        female=g % 2 == 1,
    )


def parse_birth_date(text: str, field: str = "date_of_birth") -> date:
    """An ISO date (yyyy-MM-dd), strictly."""
    if not _ISO_DATE.fullmatch(text):
        raise InvalidCitizenId(field, "must be a date written yyyy-MM-dd")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidCitizenId(field, "is not a calendar date") from None


def check_citizen(
    number: str, date_of_birth: str, *, today: date | None = None, sex: str = ""
) -> CitizenId:
    """Check a number against the date of birth (and sex, when given) it was presented with:
    the century/sex digit and the two year digits must agree with the birth year."""
    citizen = parse_citizen_id(number)
    born = parse_birth_date(date_of_birth)
    if today is not None and born > today:
        raise InvalidCitizenId("date_of_birth", "is in the future")
    if born.year < FIRST_CENTURY:
        raise InvalidCitizenId("date_of_birth", "is before 1900, which no number encodes")
    century = FIRST_CENTURY + 100 * (int(number[3]) // 2)
    if born.year // 100 * 100 != century:
        raise InvalidCitizenId(
            "id_number",
            f"the century/sex digit (4th) says born in the {century}s, the date of birth"
            f" says {born.year // 100 * 100}s",
        )
    if born.year % 100 != int(number[4:6]):
        raise InvalidCitizenId(
            "id_number", "the birth-year digits (5th and 6th) differ from the date of birth"
        )
    if sex and sex not in ("male", "female"):
        raise InvalidCitizenId("sex", "must be male or female")
    if sex and sex != citizen.sex:
        raise InvalidCitizenId(
            "id_number", f"the century/sex digit (4th) says {citizen.sex}, not {sex}"
        )
    return citizen


# What a look-up may ask the register to disclose besides "matched" (the route policy grants
# each member a subset): DOMAIN.md section 5, the minimum an agency needs to skip asking for
# papers again.
ATTRIBUTES: tuple[str, ...] = ("sex", "place_of_birth", "place_of_residence", "nationality")


def check_attributes(names: list[str] | tuple[str, ...], field: str = "attributes") -> None:
    """Known attribute names, each once."""
    for i, name in enumerate(names):
        if name not in ATTRIBUTES:
            raise InvalidCitizenId(
                f"{field}[{i}]", f"{name[:40]!r} is not one of {', '.join(ATTRIBUTES)}"
            )
    if len(set(names)) != len(names):
        raise InvalidCitizenId(field, "an attribute is named twice")
