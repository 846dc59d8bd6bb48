"""The events' JSON, written and read by orjson: byte for byte what eventsourcing's
`JSONTranscoder` writes, at less than half its cost to write and two thirds to read.

Why it matters: the stored state is part of every Merkle leaf and every audit bundle, so
the bytes must not change with the library that writes them; and encoding was a fifth of
the ledger's recording time, decoding two fifths of the read models' (README, Performance).

Exactness is kept by only handing orjson what both libraries write the same way: strings,
integers, booleans, None, datetimes (through the registered transcoding, as the stdlib
encoder's `default` does) and lists, tuples and string-keyed dicts of those. Anything else
(a UUID, which orjson would write as a bare string; a float, whose exponent orjson writes
differently; a big integer; a custom type) goes to the stdlib path unchanged, as does
anything with a number orjson reads differently (NaN, which it refuses; an integer beyond
64 bits, which it reads as a float; events hold no floats, so any float goes that way).
`tests/ledger/test_transcoding.py` holds the two to the same bytes on generated values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder

_SCALARS = frozenset({str, bool, type(None), datetime})
# orjson writes integers of 64 bits (signed or not), and refuses larger ones.
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def _plain(value: Any) -> bool:
    """True when orjson writes `value` exactly as the stdlib encoder would. (Strings are
    looked at first and inline: an event's state is mostly strings.)"""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) is not str and not _plain(item)):
                return False
        return True
    if kind is list or kind is tuple:
        return all(type(item) is str or _plain(item) for item in value)
    if kind is int:
        return bool(_INT_MIN <= value <= _INT_MAX)
    return kind in _SCALARS


class OrjsonTranscoder(JSONTranscoder):
    """eventsourcing's transcoder with orjson on the common path (module docstring)."""

    def encode(self, obj: Any) -> bytes:
        if _plain(obj):
            try:
                return orjson.dumps(
                    obj, default=self._encode_obj, option=orjson.OPT_PASSTHROUGH_DATETIME
                )
            except orjson.JSONEncodeError:  # e.g. a lone surrogate: the stdlib says why
                pass
        return super().encode(obj)

    def decode(self, data: bytes) -> Any:
        try:
            return self._revive(orjson.loads(data))
        except (orjson.JSONDecodeError, _Float):
            # NaN; or a number orjson reads as a float where the stdlib reads an integer
            # beyond 64 bits (and events hold no floats): the stdlib path, exactly.
            return super().decode(data)

    def _revive(self, value: Any) -> Any:
        """What the stdlib decoder's `object_hook` does, bottom up: every dict that is a
        transcoded value becomes that value again."""
        kind = type(value)
        if kind is float:
            raise _Float
        if kind is not dict and kind is not list:
            return value
        for key, item in value.items() if kind is dict else enumerate(value):
            inner = type(item)
            if inner is dict or inner is list:
                value[key] = self._revive(item)
            elif inner is float:
                raise _Float
        return self._decode_obj(value) if kind is dict else value


class _Float(Exception):
    """A float in what orjson read: it may have been an integer orjson could not hold."""
