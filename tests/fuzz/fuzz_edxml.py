"""Fuzz the edXML package reader (what `truc edxml import` and `SendEdxml` take from
agencies' software): anything but a clean EdxmlError is a crash.

    python -m tests.fuzz.fuzz_edxml -runs=100000
"""

from __future__ import annotations

from pathlib import Path

import atheris

with atheris.instrument_imports(include=["adapters.edxml"]):
    from adapters.edxml.errors import EdxmlError
    from adapters.edxml.reader import parse_edxml
    from adapters.edxml.writer import write_edxml

from tests.fuzz.harness import run, splice

SAMPLE = (
    Path(__file__).resolve().parents[1] / "edxml" / "data" / "cong-van-7816.edxml"
).read_bytes()


def test_one_input(data: bytes) -> None:
    try:
        parsed = parse_edxml(splice(SAMPLE, data))
    except EdxmlError:
        return
    # What the reader accepts, the writer must be able to write back.
    write_edxml(parsed.document)


if __name__ == "__main__":
    run(test_one_input)
