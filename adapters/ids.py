"""Message and document ids: random (version 4) UUIDs in their canonical text form.

Every message carries one or two, made and checked on the hot path of every adapter and of
the hub, so both are done on the text: a regular expression is four times cheaper than
parsing with `uuid.UUID`, and formatting 16 random bytes twice as cheap as
`str(uuid.uuid4())`. Both agree with the `uuid` module (tests/unit/test_ids.py).
"""

from __future__ import annotations

import os
import re

_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_uuid(value: str) -> bool:
    """A UUID in canonical lowercase text, exactly what `str(uuid.UUID(...))` gives."""
    return _CANONICAL.fullmatch(value) is not None


def new_uuid() -> str:
    """A random UUID (RFC 9562 version 4) as canonical text, like `str(uuid.uuid4())`."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
