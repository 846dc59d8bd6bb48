"""The Dossier aggregate (hồ sơ thủ tục hành chính, DOMAIN.md section 3): the national
portal's life cycle of an administrative dossier, its transfers between agencies (liên
thông), its due date in working days, and its postal legs (DOMAIN.md section 4).

Keyed by the dossier code, so every agency's messages about one dossier land on one
aggregate and replay can answer "where was this dossier at that moment".

Status (TrangThaiHoSo) is a state machine over the portal's codes 1..10; a transition the
table below does not allow is refused naming the field and the reason. The clock: the due
date is `working_days` working days after the day of receipt; a supplement request (5) or a
financial obligation (6) pauses it, and going back to processing moves the due date by the
working days spent waiting. Finishing (9) judges the dossier early, on time or late; a late
dossier's result cannot be returned before the apology with a new appointment date (Phiếu
xin lỗi và hẹn lại ngày trả kết quả) is recorded.

Times: `received_at` is the hub's receive time; `at` is the agency's own time of the act
(NgayTiepNhan, ThoiDiemXuLy), signed by that agency. Due dates are judged on `at`, which may
not go backwards on one dossier nor run ahead of the hub's clock. Dates computed from the
holiday calendar are stored in the events, so replay never depends on today's calendar.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger import upcasting
from ledger.agency import is_valid_code
from ledger.base import MessageAggregate
from ledger.calendar import CalendarError, WorkingCalendar, judge, vietnam_date
from ledger.errors import RuleViolation
from ledger.names import name_based_id

DOSSIER_NAMESPACE = uuid5(NAMESPACE_URL, "https://truc.gov.vn/ns/dossier")
# `<agency code>-YYMMDD-NNNN` (TT 01/2018) or the newer `-yyyyMMdd-NNNNNNN`.
_DOSSIER_CODE = re.compile(r"(?P<agency>[0-9A-Z.]+)-(?:\d{6}-\d{4}|\d{8}-\d{7})")
# TrangThaiHoSo of the national portal.
NEW, ACCEPTED, NOT_ACCEPTED, PROCESSING, SUPPLEMENT, OBLIGATION = 1, 2, 3, 4, 5, 6
WITHDRAWN, STOPPED, FINISHED, RETURNED = 7, 8, 9, 10
STATUSES = range(1, 11)
STATUS_NAMES = {
    1: "Mới đăng ký",
    2: "Được tiếp nhận",
    3: "Không được tiếp nhận",
    4: "Đang xử lý",
    5: "Yêu cầu bổ sung giấy tờ",
    6: "Yêu cầu thực hiện nghĩa vụ tài chính",
    7: "Công dân yêu cầu rút hồ sơ",
    8: "Dừng xử lý",
    9: "Đã xử lý xong",
    10: "Đã trả kết quả",
}
# Which status may follow which. 3, 7, 8 and 10 close the dossier.
NEXT: dict[int, frozenset[int]] = {
    NEW: frozenset({ACCEPTED, NOT_ACCEPTED, WITHDRAWN}),
    ACCEPTED: frozenset({PROCESSING, SUPPLEMENT, OBLIGATION, WITHDRAWN, STOPPED, FINISHED}),
    PROCESSING: frozenset({SUPPLEMENT, OBLIGATION, WITHDRAWN, STOPPED, FINISHED}),
    SUPPLEMENT: frozenset({PROCESSING, WITHDRAWN, STOPPED}),
    OBLIGATION: frozenset({PROCESSING, WITHDRAWN, STOPPED}),
    FINISHED: frozenset({RETURNED}),
    NOT_ACCEPTED: frozenset(),
    WITHDRAWN: frozenset(),
    STOPPED: frozenset(),
    RETURNED: frozenset(),
}
FINAL_STATUSES = frozenset(s for s, after in NEXT.items() if not after)
# The clock stops while the agency waits for the citizen.
PAUSING = frozenset({SUPPLEMENT, OBLIGATION})
# A dossier can be handed on while it is being worked on, and with its result (back to the
# one-stop that received it).
TRANSFERABLE = frozenset({ACCEPTED, PROCESSING, FINISHED})
CHANNELS = {1: "in person", 2: "online", 3: "public postal service"}
# Postal orders (DOMAIN.md section 4): what they carry, and the operator's order states.
ORDER_KINDS = frozenset({"pickup", "delivery"})
ORDER_STATES = {0: "not used", 1: "registered", 2: "collecting", 3: "delivered", 4: "cancelled"}
ORDER_DELIVERED, ORDER_CANCELLED = 3, 4
# How far ahead of the hub's clock an agency's `at` may be (clock skew).
MAX_AHEAD = timedelta(minutes=5)
MAX_WORKING_DAYS = 365


def dossier_aggregate_id(code: str) -> UUID:
    return name_based_id(DOSSIER_NAMESPACE, code)


def check_dossier_code(code: str) -> str:
    """Return `code` when it is a dossier code, else raise naming the field."""
    match = _DOSSIER_CODE.fullmatch(code)
    if match is None or not is_valid_code(match.group("agency")):
        raise RuleViolation(
            "invalid_dossier_code",
            f"dossier_code: {code!r} is not <agency code>-YYMMDD-NNNN or -yyyyMMdd-NNNNNNN",
        )
    return code


def _instant(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise RuleViolation("invalid_time", f"{field}: {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise RuleViolation("invalid_time", f"{field}: {value!r} has no UTC offset")
    return parsed


def due_date(calendar: WorkingCalendar, at: str, working_days: int) -> str:
    """The due date (ISO date) of a dossier received at `at` with that processing time."""
    try:
        return calendar.add_working_days(vietnam_date(at), working_days).isoformat()
    except CalendarError as error:
        raise RuleViolation("no_calendar", f"at: {error}") from None


class Dossier(MessageAggregate):
    class Received(Aggregate.Created):
        # v2 added owner .. fees (see ledger.upcasting.dossier_received_v1_v2).
        class_version = 2
        upcast_v1_v2 = staticmethod(upcasting.dossier_received_v1_v2)

        code: str
        procedure_code: str
        receiver: str
        channel: int
        due_date: str
        message_id: str
        received_at: str
        owner: str
        summary: str
        working_days: int
        at: str
        status: int
        documents: list[str]
        fees: int
        # The member's signed envelope header and signature (base64), for offline audits.
        header_b64: str
        signature_b64: str

    class Transferred(Aggregate.Event):
        class_version = 2
        upcast_v1_v2 = staticmethod(upcasting.dossier_at_v1_v2)

        from_agency: str
        to_agency: str
        reason: str
        message_id: str
        received_at: str
        at: str
        # The member's signed envelope header and signature (base64), for offline audits.
        header_b64: str
        signature_b64: str

    class StatusChanged(Aggregate.Event):
        class_version = 2
        upcast_v1_v2 = staticmethod(upcasting.dossier_at_v1_v2)

        status: int
        by: str
        note: str
        message_id: str
        received_at: str
        at: str
        # The member's signed envelope header and signature (base64), for offline audits.
        header_b64: str
        signature_b64: str

    class ClockPaused(Aggregate.Event):
        """Waiting for the citizen (a supplement, a payment): working days stop counting."""

        since: str  # ISO date
        by: str
        message_id: str
        received_at: str

    class ClockResumed(Aggregate.Event):
        paused_working_days: int
        due_date: str  # the new due date, moved by the pause
        documents: list[str]  # what the citizen supplied ("name sha256")
        by: str
        message_id: str
        received_at: str

    class ObligationRecorded(Aggregate.Event):
        amount: int  # VND
        description: str
        by: str
        message_id: str
        received_at: str

    class Judged(Aggregate.Event):
        """The result is ready (status 9): early, on time or late against the due date."""

        verdict: str
        finished_on: str
        due_date: str
        by: str
        message_id: str
        received_at: str

    class Apologized(Aggregate.Event):
        """The apology and new appointment date for a late dossier."""

        by: str
        new_appointment: str  # ISO date
        reason: str
        message_id: str
        received_at: str
        header_b64: str
        signature_b64: str

    class PostalOrdered(Aggregate.Event):
        order_id: str  # the idempotency key the postal operator sees
        order_kind: str  # pickup (dossier from the citizen) or delivery (result to them)
        by: str  # the agency that ordered
        operator: str
        message_id: str
        received_at: str
        header_b64: str
        signature_b64: str

    class PostalTracked(Aggregate.Event):
        order_id: str
        state: int
        note: str
        by: str
        at: str
        message_id: str
        received_at: str
        header_b64: str
        signature_b64: str

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
        owner: str,
        summary: str,
        working_days: int,
        at: str,
        status: int,
        documents: list[str],
        fees: int,
        header_b64: str,
        signature_b64: str,
    ) -> None:
        self.code = code
        self.procedure_code = procedure_code
        self.receiver = receiver
        self.holder = receiver
        self.channel = channel
        self.due_date = due_date
        self.owner = owner
        self.summary = summary
        self.working_days = working_days
        self.received_on = at
        self.last_at = at
        self.status = status
        self.documents = list(documents)
        self.fees = fees
        self.transfers: list[tuple[str, str]] = []
        self.participants: list[str] = [receiver]
        self.paused_since = ""
        self.paused_working_days = 0
        self.obligations: list[tuple[int, str]] = []
        self.supplements = 0
        self.verdict = ""
        self.finished_on = ""
        self.new_appointment = ""
        self.orders: dict[str, dict[str, Any]] = {}
        self.message_versions: dict[str, int] = {message_id: 1}

    @classmethod
    def receive(
        cls,
        calendar: WorkingCalendar,
        *,
        code: str,
        procedure_code: str,
        receiver: str,
        channel: int,
        message_id: str,
        received_at: str,
        owner: str = "",
        summary: str = "",
        working_days: int = 0,
        at: str = "",
        status: int = ACCEPTED,
        documents: tuple[str, ...] = (),
        fees: int = 0,
        due: str = "",
        header_b64: str = "",
        signature_b64: str = "",
    ) -> Dossier:
        """Check a new dossier and create it; the due date comes from the calendar unless
        the one-stop system gave none (working_days 0: `due`, possibly "", is kept)."""
        check_dossier_code(code)
        if channel not in CHANNELS:
            raise RuleViolation("invalid_channel", f"channel: {channel} is not 1, 2 or 3")
        if status not in (NEW, ACCEPTED):
            raise RuleViolation(
                "illegal_transition",
                f"status: a dossier starts at 1 (registered) or 2 (accepted), not {status}",
            )
        if fees < 0:
            raise RuleViolation("invalid_amount", "fees: must not be negative")
        if not 0 <= working_days <= MAX_WORKING_DAYS:
            raise RuleViolation(
                "invalid_working_days", f"working_days: must be 0..{MAX_WORKING_DAYS}"
            )
        at = at or received_at
        _not_ahead(at, received_at)
        if working_days:
            due = due_date(calendar, at, working_days)
        return cls(
            code=code,
            procedure_code=procedure_code,
            receiver=receiver,
            channel=channel,
            due_date=due,
            message_id=message_id,
            received_at=received_at,
            owner=owner,
            summary=summary,
            working_days=working_days,
            at=at,
            status=status,
            documents=list(documents),
            fees=fees,
            header_b64=header_b64,
            signature_b64=signature_b64,
        )

    def view(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "version": self.version,
            "procedure_code": self.procedure_code,
            "receiver": self.receiver,
            "holder": self.holder,
            "channel": self.channel,
            "owner": self.owner,
            "summary": self.summary,
            "working_days": self.working_days,
            "received_on": self.received_on,
            "due_date": self.due_date,
            "status": self.status,
            "status_name": STATUS_NAMES.get(self.status, ""),
            "transfers": [list(t) for t in self.transfers],
            "documents": list(self.documents),
            "fees": self.fees,
            "paused_since": self.paused_since,
            "paused_working_days": self.paused_working_days,
            "obligations": [list(o) for o in self.obligations],
            "supplements": self.supplements,
            "verdict": self.verdict,
            "finished_on": self.finished_on,
            "new_appointment": self.new_appointment,
            "orders": {k: dict(v) for k, v in sorted(self.orders.items())},
        }

    # -- who may act -------------------------------------------------------------------------

    def _require_holder(self, by: str, field: str = "by") -> None:
        if by != self.holder:
            raise RuleViolation(
                "not_the_holder", f"{field}: dossier {self.code} is held by {self.holder}, not {by}"
            )

    def _check_at(self, at: str, received_at: str) -> str:
        at = at or received_at
        if _instant(at, "at") < _instant(self.last_at, "at"):
            raise RuleViolation(
                "time_goes_backwards",
                f"at: {at} is before the dossier's last recorded act ({self.last_at})",
            )
        _not_ahead(at, received_at)
        return at

    # -- transfers -----------------------------------------------------------------------------

    def transfer(
        self,
        *,
        from_agency: str,
        to_agency: str,
        reason: str,
        message_id: str,
        received_at: str,
        at: str = "",
        header_b64: str = "",
        signature_b64: str = "",
    ) -> None:
        """Only the agency holding the dossier can hand it on, while it is open or with
        its result."""
        self._require_holder(from_agency, "from_agency")
        if to_agency == from_agency:
            raise RuleViolation("same_agency", "to_agency: a dossier cannot go to its holder")
        if not is_valid_code(to_agency):
            raise RuleViolation("invalid_agency", f"to_agency: {to_agency!r} is not an agency code")
        if self.status not in TRANSFERABLE:
            raise RuleViolation(
                "illegal_transition",
                f"status: dossier {self.code} cannot be transferred in status {self.status}"
                f" ({STATUS_NAMES[self.status]})",
            )
        at = self._check_at(at, received_at)
        self._transferred(
            from_agency=from_agency,
            to_agency=to_agency,
            reason=reason,
            message_id=message_id,
            received_at=received_at,
            at=at,
            header_b64=header_b64,
            signature_b64=signature_b64,
        )

    @event(Transferred)
    def _transferred(
        self,
        from_agency: str,
        to_agency: str,
        reason: str,
        message_id: str,
        received_at: str,
        at: str,
        header_b64: str,
        signature_b64: str,
    ) -> None:
        self._took(message_id)
        self.holder = to_agency
        self.last_at = at
        self.transfers.append((from_agency, to_agency))
        if to_agency not in self.participants:
            self.participants.append(to_agency)

    # -- status --------------------------------------------------------------------------------

    def change_status(
        self,
        *,
        status: int,
        by: str,
        note: str,
        message_id: str,
        received_at: str,
        at: str = "",
        calendar: WorkingCalendar | None = None,
        documents: tuple[str, ...] = (),
        amount: int = 0,
        header_b64: str = "",
        signature_b64: str = "",
    ) -> None:
        """Move to `status` when the table allows it, with what that status entails: the
        clock pauses and resumes, an obligation is noted, a finished dossier is judged."""
        if status not in STATUSES:
            raise RuleViolation("unknown_status", f"status: {status} is not 1..10 (TrangThaiHoSo)")
        if status == RETURNED and by == self.receiver and self.status == FINISHED:
            pass  # the one-stop that received the dossier hands the result to the citizen
        else:
            self._require_holder(by)
        if self.status in FINAL_STATUSES:
            raise RuleViolation(
                "illegal_transition",
                f"status: dossier {self.code} is closed"
                f" ({self.status} {STATUS_NAMES[self.status]})",
            )
        if status not in NEXT[self.status]:
            allowed = ", ".join(map(str, sorted(NEXT[self.status])))
            raise RuleViolation(
                "illegal_transition",
                f"status: {status} ({STATUS_NAMES[status]}) cannot follow {self.status}"
                f" ({STATUS_NAMES[self.status]}); allowed: {allowed}",
            )
        if status == OBLIGATION and amount <= 0:
            raise RuleViolation("invalid_amount", "amount: a financial obligation needs an amount")
        if status == RETURNED and self.verdict == "late" and not self.new_appointment:
            raise RuleViolation(
                "apology_required",
                f"status: dossier {self.code} is late; record the apology and a new"
                " appointment date before returning the result",
            )
        at = self._check_at(at, received_at)
        day = vietnam_date(at)
        resumed: tuple[int, str] | None = None
        if self.paused_since and status not in PAUSING:
            if calendar is None:
                raise RuleViolation("no_calendar", "at: the clock cannot resume without a calendar")
            try:
                waited = calendar.working_days_between(date.fromisoformat(self.paused_since), day)
                moved = self.due_date
                if self.due_date and waited:
                    due = date.fromisoformat(self.due_date)
                    moved = calendar.add_working_days(due, waited).isoformat()
            except CalendarError as error:
                raise RuleViolation("no_calendar", f"at: {error}") from None
            resumed = (waited, moved)
        self._status_changed(
            status=status,
            by=by,
            note=note,
            message_id=message_id,
            received_at=received_at,
            at=at,
            header_b64=header_b64,
            signature_b64=signature_b64,
        )
        if status in PAUSING and not self.paused_since:
            self._clock_paused(
                since=day.isoformat(), by=by, message_id=message_id, received_at=received_at
            )
        if resumed is not None:
            self._clock_resumed(
                paused_working_days=resumed[0],
                due_date=resumed[1],
                documents=list(documents),
                by=by,
                message_id=message_id,
                received_at=received_at,
            )
        if status == OBLIGATION:
            self._obligation_recorded(
                amount=amount,
                description=note,
                by=by,
                message_id=message_id,
                received_at=received_at,
            )
        if status == FINISHED and self.due_date:
            verdict = judge(day, date.fromisoformat(self.due_date))
            self._judged(
                verdict=verdict.value,
                finished_on=day.isoformat(),
                due_date=self.due_date,
                by=by,
                message_id=message_id,
                received_at=received_at,
            )

    @event(StatusChanged)
    def _status_changed(
        self,
        status: int,
        by: str,
        note: str,
        message_id: str,
        received_at: str,
        at: str,
        header_b64: str,
        signature_b64: str,
    ) -> None:
        self._took(message_id)
        self.status = status
        self.last_at = at
        if status == SUPPLEMENT:
            self.supplements += 1

    @event(ClockPaused)
    def _clock_paused(self, since: str, by: str, message_id: str, received_at: str) -> None:
        self._took(message_id)
        self.paused_since = since

    @event(ClockResumed)
    def _clock_resumed(
        self,
        paused_working_days: int,
        due_date: str,
        documents: list[str],
        by: str,
        message_id: str,
        received_at: str,
    ) -> None:
        self._took(message_id)
        self.paused_since = ""
        self.paused_working_days += paused_working_days
        self.due_date = due_date
        self.documents += documents

    @event(ObligationRecorded)
    def _obligation_recorded(
        self, amount: int, description: str, by: str, message_id: str, received_at: str
    ) -> None:
        self._took(message_id)
        self.obligations.append((amount, description))

    @event(Judged)
    def _judged(
        self,
        verdict: str,
        finished_on: str,
        due_date: str,
        by: str,
        message_id: str,
        received_at: str,
    ) -> None:
        self._took(message_id)
        self.verdict = verdict
        self.finished_on = finished_on

    # -- the apology for a late dossier --------------------------------------------------------

    def apologize(
        self,
        *,
        by: str,
        new_appointment: str,
        reason: str,
        message_id: str,
        received_at: str,
        at: str = "",
        header_b64: str = "",
        signature_b64: str = "",
    ) -> None:
        """Only for a dossier that is late (judged late, or still open past its due date),
        with an appointment after the due date."""
        self._require_holder(by)
        if self.status in FINAL_STATUSES:
            raise RuleViolation("illegal_transition", f"status: dossier {self.code} is closed")
        try:
            appointment = date.fromisoformat(new_appointment)
        except ValueError:
            raise RuleViolation(
                "invalid_date", f"new_appointment: {new_appointment!r} is not a yyyy-mm-dd date"
            ) from None
        at = self._check_at(at, received_at)
        if not self.due_date:
            raise RuleViolation("no_due_date", f"due_date: dossier {self.code} has no due date")
        due = date.fromisoformat(self.due_date)
        late = self.verdict == "late" or (not self.verdict and vietnam_date(at) > due)
        if not late:
            raise RuleViolation(
                "not_late", f"due_date: dossier {self.code} is not late (due {self.due_date})"
            )
        if appointment <= max(due, vietnam_date(at)):
            raise RuleViolation(
                "invalid_date",
                f"new_appointment: {new_appointment} must be after the due date and today",
            )
        self._apologized(
            by=by,
            new_appointment=new_appointment,
            reason=reason,
            message_id=message_id,
            received_at=received_at,
            header_b64=header_b64,
            signature_b64=signature_b64,
        )

    @event(Apologized)
    def _apologized(
        self,
        by: str,
        new_appointment: str,
        reason: str,
        message_id: str,
        received_at: str,
        header_b64: str,
        signature_b64: str,
    ) -> None:
        self._took(message_id)
        self.new_appointment = new_appointment

    # -- postal legs ---------------------------------------------------------------------------

    def order_postal(
        self,
        *,
        order_id: str,
        order_kind: str,
        ordered_by: str,
        operator: str,
        message_id: str,
        received_at: str,
        header_b64: str = "",
        signature_b64: str = "",
    ) -> None:
        """A pickup of the dossier (channel 3) or a delivery of its result (status 9)."""
        if order_kind not in ORDER_KINDS:
            raise RuleViolation(
                "invalid_order_kind", f"order_kind: {order_kind!r} is not pickup or delivery"
            )
        if ordered_by not in (self.holder, self.receiver):
            raise RuleViolation(
                "not_the_holder",
                f"ordered_by: {ordered_by} neither holds nor received dossier {self.code}",
            )
        if order_id in self.orders:
            raise RuleViolation(
                "duplicate_order", f"order_id: {order_id} was already ordered for {self.code}"
            )
        if order_kind == "delivery" and self.status != FINISHED:
            raise RuleViolation(
                "illegal_transition",
                "status: a result is delivered once the dossier is finished (9),"
                f" not in {self.status}",
            )
        if order_kind == "delivery" and self.verdict == "late" and not self.new_appointment:
            raise RuleViolation(
                "apology_required",
                f"status: dossier {self.code} is late; record the apology and a new"
                " appointment date before returning the result",
            )
        if order_kind == "pickup" and self.status in FINAL_STATUSES:
            raise RuleViolation("illegal_transition", f"status: dossier {self.code} is closed")
        self._postal_ordered(
            order_id=order_id,
            order_kind=order_kind,
            by=ordered_by,
            operator=operator,
            message_id=message_id,
            received_at=received_at,
            header_b64=header_b64,
            signature_b64=signature_b64,
        )

    @event(PostalOrdered)
    def _postal_ordered(
        self,
        order_id: str,
        order_kind: str,
        by: str,
        operator: str,
        message_id: str,
        received_at: str,
        header_b64: str,
        signature_b64: str,
    ) -> None:
        self._took(message_id)
        self.orders[order_id] = {
            "kind": order_kind,
            "ordered_by": by,
            "operator": operator,
            "state": 0,
        }

    def track_postal(
        self,
        *,
        order_id: str,
        state: int,
        note: str,
        by: str,
        at: str,
        message_id: str,
        received_at: str,
        header_b64: str = "",
        signature_b64: str = "",
    ) -> None:
        """The operator's tracking event; a delivered result (state 3) returns it (10)."""
        order = self.orders.get(order_id)
        if order is None:
            raise RuleViolation(
                "unknown_order", f"order_id: no postal order {order_id} on {self.code}"
            )
        if by != order["operator"]:
            raise RuleViolation(
                "not_the_operator", f"by: order {order_id} belongs to {order['operator']}, not {by}"
            )
        if state not in ORDER_STATES or state == 0:
            raise RuleViolation("invalid_order_state", f"state: {state} is not 1..4")
        current = int(order["state"])
        if current in (ORDER_DELIVERED, ORDER_CANCELLED) or state < current:
            raise RuleViolation(
                "illegal_transition",
                f"state: order {order_id} cannot go from {current} ({ORDER_STATES[current]})"
                f" to {state} ({ORDER_STATES[state]})",
            )
        if state == current:
            raise RuleViolation("illegal_transition", f"state: order {order_id} is already {state}")
        at = at or received_at
        _not_ahead(at, received_at)
        self._postal_tracked(
            order_id=order_id,
            state=state,
            note=note,
            by=by,
            at=at,
            message_id=message_id,
            received_at=received_at,
            header_b64=header_b64,
            signature_b64=signature_b64,
        )
        returns = state == ORDER_DELIVERED and order["kind"] == "delivery"
        if returns and self.status == FINISHED:
            self.change_status(
                status=RETURNED,
                by=str(order["ordered_by"]),
                note=f"delivered by {by}, order {order_id}",
                message_id=message_id,
                received_at=received_at,
                at=max(at, self.last_at, key=lambda t: _instant(t, "at")),
            )

    @event(PostalTracked)
    def _postal_tracked(
        self,
        order_id: str,
        state: int,
        note: str,
        by: str,
        at: str,
        message_id: str,
        received_at: str,
        header_b64: str,
        signature_b64: str,
    ) -> None:
        self._took(message_id)
        self.orders[order_id] = {**self.orders[order_id], "state": state}

    def route_to(self, actor: str) -> tuple[str, ...]:
        """Who hears of an act: every agency that took part in the dossier, except the one
        acting. The postal operator hears only of its own orders (not of the dossier)."""
        return tuple(p for p in self.participants if p != actor)


def _not_ahead(at: str, received_at: str) -> None:
    if _instant(at, "at") > _instant(received_at, "received_at") + MAX_AHEAD:
        raise RuleViolation("signed_in_future", f"at: {at} is later than the hub's clock allows")
