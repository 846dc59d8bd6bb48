"""The Dossier aggregate (hồ sơ thủ tục hành chính, DOMAIN.md section 3), minimal for now:
received, transferred between agencies (liên thông), status changed. The dossier work
extends it (postal legs, working-day due dates, supplements); the events here stay valid.

Keyed by the dossier code, so every agency's messages about one dossier land on one
aggregate and replay can answer "where was this dossier at that moment".
"""

from __future__ import annotations

import re
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.agency import is_valid_code
from ledger.base import MessageAggregate
from ledger.errors import RuleViolation

DOSSIER_NAMESPACE = uuid5(NAMESPACE_URL, "https://truc.gov.vn/ns/dossier")
# `<agency code>-YYMMDD-NNNN` (TT 01/2018) or the newer `-yyyyMMdd-NNNNNNN`.
_DOSSIER_CODE = re.compile(r"(?P<agency>[0-9A-Z.]+)-(?:\d{6}-\d{4}|\d{8}-\d{7})")
# TrangThaiHoSo of the national portal: 1 newly registered .. 10 result returned.
STATUSES = range(1, 11)
FINAL_STATUSES = frozenset({3, 8, 10})


def dossier_aggregate_id(code: str) -> UUID:
    return uuid5(DOSSIER_NAMESPACE, code)


def check_dossier_code(code: str) -> str:
    """Return `code` when it is a dossier code, else raise naming the field."""
    match = _DOSSIER_CODE.fullmatch(code)
    if match is None or not is_valid_code(match.group("agency")):
        raise RuleViolation(
            "invalid_dossier_code",
            f"dossier_code: {code!r} is not <agency code>-YYMMDD-NNNN or -yyyyMMdd-NNNNNNN",
        )
    return code


class Dossier(MessageAggregate):
    class Received(Aggregate.Created):
        code: str
        procedure_code: str
        receiver: str
        channel: int
        due_date: str
        message_id: str
        received_at: str

    class Transferred(Aggregate.Event):
        from_agency: str
        to_agency: str
        reason: str
        message_id: str
        received_at: str

    class StatusChanged(Aggregate.Event):
        status: int
        by: str
        note: str
        message_id: str
        received_at: str

    @staticmethod
    def create_id(code: str) -> UUID:
        return dossier_aggregate_id(code)

    @event(Received)
    def __init__(
        self,
        *,
        code: str,
        procedure_code: str,
        receiver: str,
        channel: int,
        due_date: str,
        message_id: str,
        received_at: str,
    ) -> None:
        self.code = code
        self.procedure_code = procedure_code
        self.receiver = receiver
        self.holder = receiver
        self.channel = channel
        self.due_date = due_date
        self.status = 1
        self.transfers: list[tuple[str, str]] = []
        self.message_versions: dict[str, int] = {message_id: 1}

    def view(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "version": self.version,
            "procedure_code": self.procedure_code,
            "receiver": self.receiver,
            "holder": self.holder,
            "channel": self.channel,
            "due_date": self.due_date,
            "status": self.status,
            "transfers": [list(t) for t in self.transfers],
        }

    def transfer(
        self, *, from_agency: str, to_agency: str, reason: str, message_id: str, received_at: str
    ) -> None:
        """Only the agency holding the dossier can hand it on."""
        if from_agency != self.holder:
            raise RuleViolation(
                "not_the_holder",
                f"from_agency: dossier {self.code} is held by {self.holder}, not {from_agency}",
            )
        if to_agency == from_agency:
            raise RuleViolation("same_agency", "to_agency: a dossier cannot go to its holder")
        self._transferred(
            from_agency=from_agency,
            to_agency=to_agency,
            reason=reason,
            message_id=message_id,
            received_at=received_at,
        )

    @event(Transferred)
    def _transferred(
        self, from_agency: str, to_agency: str, reason: str, message_id: str, received_at: str
    ) -> None:
        self._took(message_id)
        self.holder = to_agency
        self.transfers.append((from_agency, to_agency))

    def change_status(
        self, *, status: int, by: str, note: str, message_id: str, received_at: str
    ) -> None:
        if status not in STATUSES:
            raise RuleViolation("unknown_status", f"status: {status} is not 1..10 (TrangThaiHoSo)")
        if by != self.holder:
            raise RuleViolation(
                "not_the_holder",
                f"by: dossier {self.code} is held by {self.holder}, not {by}",
            )
        if self.status in FINAL_STATUSES:
            raise RuleViolation(
                "illegal_transition", f"status: dossier {self.code} is closed ({self.status})"
            )
        self._status_changed(
            status=status, by=by, note=note, message_id=message_id, received_at=received_at
        )

    @event(StatusChanged)
    def _status_changed(
        self, status: int, by: str, note: str, message_id: str, received_at: str
    ) -> None:
        self._took(message_id)
        self.status = status
