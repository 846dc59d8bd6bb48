"""The reference population register: SYNTHETIC citizens in a SQLite file.

It stands in for the national population database (Cơ sở dữ liệu quốc gia về dân cư), which
no test or demo can reach: every citizen here is generated from a seed, with an
identification number that follows the real 12-digit structure (province of birth, century
and sex, year, six random digits) so the whole path, validation included, runs as it would.
The first citizen is always DOMAIN.md's example, 087084000999, so examples can name one.
"""

from __future__ import annotations

import random
import sqlite3
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

from ledger.citizen_id import ATTRIBUTES, PROVINCES, century_digit

DEFAULT_SEED = 2026
DEFAULT_CITIZENS = 10_000

_FAMILY = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
    "Đỗ", "Hồ", "Ngô", "Dương", "Lý",
)  # fmt: skip
_MIDDLE_MALE = ("Văn", "Hữu", "Đức", "Minh", "Quang", "Thành", "Công", "Xuân")
_MIDDLE_FEMALE = ("Thị", "Ngọc", "Thu", "Minh", "Thanh", "Kim", "Phương", "Hồng")
_GIVEN_MALE = (
    "An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khang", "Long", "Nam", "Phong", "Quân",
    "Sơn", "Tài", "Thắng", "Trung", "Tuấn", "Việt", "Vinh",
)  # fmt: skip
_GIVEN_FEMALE = (
    "Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai",
    "Nga", "Ngân", "Oanh", "Phương", "Thảo", "Trang", "Yến",
)  # fmt: skip


@dataclass(frozen=True)
class Citizen:
    id_number: str
    full_name: str
    date_of_birth: str
    sex: str
    place_of_birth: str
    place_of_residence: str
    nationality: str = "Việt Nam"

    def attributes(self, names: Sequence[str]) -> dict[str, str]:
        values = asdict(self)
        return {name: str(values[name]) for name in names if name in ATTRIBUTES}


EXAMPLE = Citizen("087084000999", "Nguyễn Văn An", "1984-05-17", "male", "Đồng Tháp", "Đồng Tháp")


def normalise_name(name: str) -> str:
    """Names compare after Unicode NFC, case folding and single spaces (the same name typed
    on two systems differs in exactly these ways), never by dropping diacritics."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def generate(count: int, seed: int = DEFAULT_SEED) -> Iterator[Citizen]:
    """`count` synthetic citizens, the same for the same seed; EXAMPLE first."""
    rng = random.Random(seed)
    codes = sorted(PROVINCES)
    seen = {EXAMPLE.id_number}
    if count > 0:
        yield EXAMPLE
    made = 1
    while made < count:
        female = rng.random() < 0.5
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(365 * 95))
        province = rng.choice(codes)
        number = (
            f"{province}{century_digit(born.year, female)}{born.year % 100:02d}"
            f"{rng.randrange(1_000_000):06d}"
        )
        if number in seen:
            continue
        seen.add(number)
        middle = _MIDDLE_FEMALE if female else _MIDDLE_MALE
        given = _GIVEN_FEMALE if female else _GIVEN_MALE
        yield Citizen(
            id_number=number,
            full_name=f"{rng.choice(_FAMILY)} {rng.choice(middle)} {rng.choice(given)}",
            date_of_birth=born.isoformat(),
            sex="female" if female else "male",
            place_of_birth=PROVINCES[province],
            place_of_residence=PROVINCES[rng.choice(codes)],
        )
        made += 1


class RegisterStore:
    """The register's SQLite file; filled on first open, read-only afterwards."""

    def __init__(self, path: Path, *, citizens: int = DEFAULT_CITIZENS, seed: int = DEFAULT_SEED):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS citizens (id_number TEXT PRIMARY KEY, full_name TEXT"
            " NOT NULL, date_of_birth TEXT NOT NULL, sex TEXT NOT NULL, place_of_birth TEXT"
            " NOT NULL, place_of_residence TEXT NOT NULL, nationality TEXT NOT NULL)"
        )
        if self.count() == 0:
            with self._db:
                self._db.executemany(
                    "INSERT INTO citizens VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (tuple(asdict(c).values()) for c in generate(citizens, seed)),
                )

    def close(self) -> None:
        self._db.close()

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM citizens").fetchone()[0])

    def get(self, id_number: str) -> Citizen | None:
        row = self._db.execute(
            "SELECT * FROM citizens WHERE id_number = ?", (id_number,)
        ).fetchone()
        return Citizen(*row) if row else None

    def sample(self, n: int, offset: int = 0) -> list[Citizen]:
        rows = self._db.execute(
            "SELECT * FROM citizens ORDER BY rowid LIMIT ? OFFSET ?", (n, offset)
        ).fetchall()
        return [Citizen(*row) for row in rows]

    def verify(
        self, id_number: str, full_name: str, date_of_birth: str, attributes: Sequence[str]
    ) -> tuple[bool, dict[str, str]]:
        """(matched, the requested attributes when matched)."""
        citizen = self.get(id_number)
        if (
            citizen is None
            or citizen.date_of_birth != date_of_birth
            or normalise_name(citizen.full_name) != normalise_name(full_name)
        ):
            return False, {}
        return True, citizen.attributes(attributes)
