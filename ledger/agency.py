"""Agency codes (mã định danh, QĐ 20/2020/QĐ-TTg) and their reversible NATS subject tokens.

Codes are dot-separated groups of `0-9A-Z`, at most 35 characters (the classic 13-character
`000.00.00.G22` and short forms such as `H55.242` both occur). A dot separates NATS subject
tokens, so a code travels in subjects with dots as underscores; `_` never occurs in a code,
which is what makes the mapping reversible.
"""

from __future__ import annotations

import re

from ledger.errors import InvalidAgencyCode

MAX_LENGTH = 35
_CODE = re.compile(r"[0-9A-Z]+(?:\.[0-9A-Z]+)*")
_TOKEN = re.compile(r"[0-9A-Z]+(?:_[0-9A-Z]+)*")


def is_valid_code(code: str) -> bool:
    """Checked for every sender and recipient of every message: no exception machinery."""
    return 0 < len(code) <= MAX_LENGTH and _CODE.fullmatch(code) is not None


def validate_code(code: str) -> str:
    """Return `code` unchanged when it is a well-formed agency code, else raise saying why."""
    if is_valid_code(code):
        return code
    if not code:
        raise InvalidAgencyCode("agency code is empty")
    if len(code) > MAX_LENGTH:
        raise InvalidAgencyCode(f"agency code {code[:40]!r} is longer than {MAX_LENGTH} characters")
    raise InvalidAgencyCode(f"agency code {code!r} must be dot-separated groups of 0-9 and A-Z")


def to_token(code: str) -> str:
    """The NATS subject token for an agency code: `000.00.00.G22` -> `000_00_00_G22`."""
    return validate_code(code).replace(".", "_")


def from_token(token: str) -> str:
    """Inverse of `to_token`; refuses anything `to_token` could not have produced."""
    if len(token) > MAX_LENGTH or not _TOKEN.fullmatch(token):
        raise InvalidAgencyCode(f"subject token {token[:40]!r} is not an agency code token")
    return token.replace("_", ".")
