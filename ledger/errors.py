"""The ledger package's errors: one root, so callers can catch everything the domain raises."""

from __future__ import annotations


class LedgerError(Exception):
    """Root of every error raised by the ledger package."""


class InvalidAgencyCode(LedgerError, ValueError):
    """An agency code does not follow the grammar of QĐ 20/2020 (DOMAIN.md section 1)."""


class RuleViolation(LedgerError):
    """A command would break an aggregate's rules; `code` is stable, `reason` is for people."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class UnknownDocument(LedgerError, LookupError):
    """No document with that id was ever recorded."""
