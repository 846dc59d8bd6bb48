"""What the ops team looks at: the state of the streams, consumers, dead letters, ledger and
latest checkpoint, gathered into one snapshot (for `truc status`, the dashboard and the
metrics gauges), plus an incremental projection of the ledger for volumes and timeliness.

Why here and shaped like this: `hub/` never imports a transport, so the JetStream side comes
in through `JetStreamAdmin`, a Protocol that nats-py's `JetStreamContext` satisfies as is;
the ledger through `LedgerReader` / `NotificationReader` (our `Ledger` satisfies the first,
`ledger_notifications` adapts it to the second); and the checkpoint through a plain callable,
because the checkpoint issuer lives elsewhere and may not be running at all. Every part that
cannot be read is reported as such instead of failing the whole snapshot: the status view is
what people open when things are already going wrong.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Protocol

from hub import subjects
from ledger.agency import from_token
from ledger.deadlines import HANDLED, WITHDRAWN
from ledger.errors import InvalidAgencyCode

log = logging.getLogger("truc.ops")

# Due dates (edXML DueDate, yyyy/MM/dd) are calendar dates in Vietnam's time zone, which has
# had no daylight saving since 1975: a fixed offset needs no tz database on the machine.
VIETNAM = timezone(timedelta(hours=7), "ICT")

KNOWN_STREAMS: tuple[tuple[str, str], ...] = (
    (subjects.IN_STREAM, subjects.IN_ALL),
    (subjects.OUT_STREAM, subjects.OUT_ALL),
    (subjects.LEDGER_STREAM, subjects.LEDGER_ALL),
    (subjects.DEAD_STREAM, subjects.DEAD_ALL),
)

# Statuses after which a recipient owes nothing more on a document (DOMAIN.md section 2):
# 06 done, 02 rejected/returned with a reason. 15 (recall accepted) withdraws the document.


# -- ports --------------------------------------------------------------------------------------


class JetStreamAdmin(Protocol):
    """The JetStream management calls the snapshot needs (nats-py's JetStreamContext)."""

    async def streams_info(self) -> Sequence[Any]: ...

    async def consumers_info(self, stream: str) -> Sequence[Any]: ...

    async def get_msg(self, stream_name: str, seq: int) -> Any: ...


class LedgerReader(Protocol):
    def size(self) -> int:
        """Highest ledger position recorded so far."""
        ...


class NotificationLike(Protocol):
    """One entry of the ledger's notification log (eventsourcing's `Notification`)."""

    @property
    def id(self) -> int: ...

    @property
    def topic(self) -> str: ...

    @property
    def state(self) -> bytes: ...

    @property
    def originator_id(self) -> Any: ...


NotificationReader = Callable[[int, int], Sequence[NotificationLike]]
"""`read(start, limit)`: up to `limit` notifications from position `start` on, in order."""


@dataclass(frozen=True)
class Cosignature:
    """A witness's cosignature on a checkpoint: who, with which key, and when it signed."""

    witness: str
    key_id: str
    signed_at: datetime | None = None


@dataclass(frozen=True)
class CheckpointInfo:
    """The latest signed checkpoint as the issuer knows it (see `checkpoint_info_from_note`)."""

    origin: str
    size: int
    root_hash: str
    issued_at: datetime | None
    cosignatures: tuple[Cosignature, ...] = ()
    # True when the issuer verified the cosignatures against the witnesses it trusts.
    cosignatures_verified: bool = False
    note: str = ""


CheckpointSource = Callable[[], CheckpointInfo | None]
"""Returns the latest checkpoint, or None when none was issued yet. Called off the event loop
(it may read a database), so it may block briefly."""


def ledger_notifications(ledger: Any) -> NotificationReader:
    """Adapt a `Ledger` (eventsourcing application) to a `NotificationReader`."""

    def read(start: int, limit: int) -> Sequence[NotificationLike]:
        notifications: Sequence[NotificationLike] = ledger.recorder.select_notifications(
            start, limit
        )
        return notifications

    return read


def checkpoint_info_from_note(
    note: str,
    *,
    log_name: str,
    issued_at: datetime | None,
    cosignatures_verified: bool = False,
) -> CheckpointInfo:
    """Describe a signed checkpoint note for display: every signature line not from
    `log_name` is a witness cosignature (its time is read from the cosignature/v1 bytes).

    Parsing does not verify anything; pass `cosignatures_verified=True` only when the caller
    verified the note with the witnesses' keys. Raises `ledger.note.NoteError` on a bad note.
    """
    from ledger.note import Checkpoint, cosignature_timestamp, parse_note

    parsed = parse_note(note)
    checkpoint = Checkpoint.parse(parsed.text)
    cosignatures = []
    for signature in parsed.signatures:
        if signature.name == log_name:
            continue
        signed_at: datetime | None = None
        with contextlib.suppress(ValueError, OverflowError, OSError):
            signed_at = datetime.fromtimestamp(cosignature_timestamp(signature), tz=UTC)
        cosignatures.append(Cosignature(signature.name, signature.key_id.hex(), signed_at))
    return CheckpointInfo(
        origin=checkpoint.origin,
        size=checkpoint.size,
        root_hash=base64.b64encode(checkpoint.root).decode(),
        issued_at=issued_at,
        cosignatures=tuple(cosignatures),
        cosignatures_verified=cosignatures_verified,
        note=note,
    )


class StoredCheckpointLike(Protocol):
    """What the checkpoint issuer keeps per checkpoint (`ledger.checkpoints.StoredCheckpoint`)."""

    @property
    def note(self) -> str: ...

    @property
    def signed_at_ms(self) -> int: ...


def stored_checkpoint_source(
    latest: Callable[[], StoredCheckpointLike | None], *, log_name: str
) -> CheckpointSource:
    """Adapt the issuer's `latest()` (or `CheckpointStore.latest`) to a `CheckpointSource`.

    The issuer only adds cosignatures that verified against the witnesses it trusts, so the
    ones in a stored note are reported as verified."""

    def read() -> CheckpointInfo | None:
        stored = latest()
        if stored is None:
            return None
        return checkpoint_info_from_note(
            stored.note,
            log_name=log_name,
            issued_at=datetime.fromtimestamp(stored.signed_at_ms / 1000, tz=UTC),
            cosignatures_verified=True,
        )

    return read


def ledger_checkpoint_source(ledger: Any, *, log_name: str) -> CheckpointSource:
    """The latest published checkpoint, read from the issuer's table in the ledger's own
    database (`ledger.checkpoints.CheckpointStore`), so it works whoever issues them (the
    hub, or `truc audit` in another process). The table is opened on first use, off the
    event loop, and a ledger that is not an SQL one reports why on every call."""
    store: Any = None

    def read() -> CheckpointInfo | None:
        nonlocal store
        if store is None:
            from ledger.checkpoints import CheckpointStore
            from ledger.merkle_log import SqlDatabase

            store = CheckpointStore(SqlDatabase(ledger.recorder))
        return stored_checkpoint_source(store.latest, log_name=log_name)()

    return read


# -- the snapshot -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamStatus:
    name: str
    subjects: tuple[str, ...]
    present: bool
    messages: int = 0
    bytes: int = 0
    first_seq: int = 0
    last_seq: int = 0
    consumer_count: int = 0


@dataclass(frozen=True)
class ConsumerStatus:
    stream: str
    name: str
    # "hub" (inbound), "delivery" or "receipts" (one of each per member), or "other".
    role: str
    member: str | None
    pending: int
    ack_pending: int
    redelivered: int
    waiting: int
    last_delivered: datetime | None
    last_ack: datetime | None

    @property
    def lag(self) -> int:
        """Messages the consumer has not finished: not yet delivered plus unacknowledged."""
        return self.pending + self.ack_pending

    @property
    def last_active(self) -> datetime | None:
        times = [t for t in (self.last_delivered, self.last_ack) if t is not None]
        return max(times) if times else None


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    subject: str
    member: str | None
    time: datetime | None
    message_id: str
    code: str
    reason: str
    claimed_sender: str | None
    authenticated: bool


@dataclass(frozen=True)
class DeadLetters:
    count: int
    recent: tuple[DeadLetter, ...] = ()
    readable: bool = True


@dataclass(frozen=True)
class LedgerStatus:
    size: int | None
    error: str = ""


@dataclass(frozen=True)
class StatusSnapshot:
    taken_at: datetime
    streams: tuple[StreamStatus, ...]
    consumers: tuple[ConsumerStatus, ...]
    dead_letters: DeadLetters
    ledger: LedgerStatus | None
    checkpoint: CheckpointInfo | None
    problems: tuple[str, ...] = ()
    nats_error: str = ""

    @property
    def checkpoint_age(self) -> float | None:
        """Seconds since the latest checkpoint was issued, or None when unknown."""
        if self.checkpoint is None or self.checkpoint.issued_at is None:
            return None
        return max(0.0, (self.taken_at - self.checkpoint.issued_at).total_seconds())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the contract of `truc status --json` and `/api/summary`."""
        consumers = []
        for c in self.consumers:
            row = _plain(asdict(c))
            row["lag"] = c.lag
            row["last_active"] = _iso(c.last_active)
            consumers.append(row)
        checkpoint: dict[str, Any] | None = None
        if self.checkpoint is not None:
            checkpoint = _plain(asdict(self.checkpoint))
            checkpoint["age_seconds"] = self.checkpoint_age
        return {
            "taken_at": _iso(self.taken_at),
            "nats_error": self.nats_error,
            "streams": [_plain(asdict(s)) for s in self.streams],
            "consumers": consumers,
            "dead_letters": _plain(asdict(self.dead_letters)),
            "ledger": _plain(asdict(self.ledger)) if self.ledger is not None else None,
            "checkpoint": checkpoint,
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class Thresholds:
    """When the snapshot calls something a problem. Defaults suit the demo; tune per site."""

    # A consumer with messages waiting, no pull request open and no activity for this long
    # has lost its reader (an adapter down, or the hub's intake stopped).
    stalled_after: timedelta = timedelta(minutes=2)
    # More unfinished messages than this on one member's delivery consumer is a backlog.
    backlog: int = 1000
    # A checkpoint older than this means the issuer (or the witnesses) stopped.
    checkpoint_max_age: timedelta = timedelta(hours=1)
    # Dead letters newer than this are news; older ones are history (the stream keeps 90 days).
    dead_letters_within: timedelta = timedelta(hours=1)


async def collect_status(
    js: JetStreamAdmin | None,
    *,
    ledger: LedgerReader | None = None,
    checkpoint: CheckpointSource | None = None,
    checkpoint_error: Callable[[], str | None] | None = None,
    recent_dead_letters: int = 5,
    executor: Executor | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    thresholds: Thresholds = Thresholds(),
    nats_timeout: float = 5.0,
) -> StatusSnapshot:
    """One status snapshot. NATS calls run on the loop; ledger and checkpoint reads run in
    `executor` (None: the loop's default one) so a slow database never blocks the hub.
    `checkpoint_error` reports why the checkpoint issuer last failed (e.g. a witness down,
    `TransparencyLog.last_error`), or None when it is fine."""
    loop = asyncio.get_running_loop()
    nats_error = ""
    streams: tuple[StreamStatus, ...] = ()
    consumers: tuple[ConsumerStatus, ...] = ()
    dead = DeadLetters(0, (), readable=False)
    if js is not None:
        try:
            streams, consumers, dead = await asyncio.wait_for(
                _nats_part(js, recent_dead_letters), nats_timeout
            )
        except Exception as error:  # reported, not raised: NATS down is what ops must see
            nats_error = f"NATS: {_describe(error)}"
            log.warning("status: %s", nats_error)
    ledger_status: LedgerStatus | None = None
    if ledger is not None:
        try:
            size = await loop.run_in_executor(executor, ledger.size)
            ledger_status = LedgerStatus(int(size))
        except Exception as error:
            ledger_status = LedgerStatus(None, _describe(error))
    latest: CheckpointInfo | None = None
    checkpoint_failure = ""
    if checkpoint is not None:
        try:
            latest = await loop.run_in_executor(executor, checkpoint)
        except Exception as error:
            checkpoint_failure = f"checkpoint: cannot read the latest one: {_describe(error)}"
    snapshot = StatusSnapshot(
        taken_at=now(),
        streams=streams,
        consumers=consumers,
        dead_letters=dead,
        ledger=ledger_status,
        checkpoint=latest,
        nats_error=nats_error,
    )
    problems = find_problems(snapshot, thresholds, checkpoint_expected=checkpoint is not None)
    issuer_error = checkpoint_error() if checkpoint_error is not None else None
    if issuer_error:
        problems = (*problems, f"checkpoints: the issuer reports {issuer_error}")
    if checkpoint_failure:
        problems = (*problems, checkpoint_failure)
    return replace(snapshot, problems=problems)


async def _nats_part(
    js: JetStreamAdmin, recent: int
) -> tuple[tuple[StreamStatus, ...], tuple[ConsumerStatus, ...], DeadLetters]:
    infos = {info.config.name: info for info in await js.streams_info()}
    streams: list[StreamStatus] = []
    consumers: list[ConsumerStatus] = []
    dead = DeadLetters(0, (), readable=False)
    for name, subject in KNOWN_STREAMS:
        info = infos.get(name)
        if info is None:
            streams.append(StreamStatus(name, (subject,), present=False))
            continue
        state = info.state
        streams.append(
            StreamStatus(
                name=name,
                subjects=tuple(info.config.subjects or ()),
                present=True,
                messages=int(state.messages),
                bytes=int(state.bytes),
                first_seq=int(state.first_seq),
                last_seq=int(state.last_seq),
                consumer_count=int(state.consumer_count),
            )
        )
        if state.consumer_count:
            consumers += [_consumer(name, c) for c in await js.consumers_info(name)]
        if name == subjects.DEAD_STREAM:
            letters = await _recent_dead_letters(
                js, int(state.first_seq), int(state.last_seq), recent
            )
            dead = DeadLetters(int(state.messages), letters)
    order = {"hub": 0, "delivery": 1, "receipts": 2, "other": 3}
    consumers.sort(key=lambda c: (order[c.role], c.member or "", c.name))
    return tuple(streams), tuple(consumers), dead


def _consumer(stream: str, info: Any) -> ConsumerStatus:
    name = str(info.name)
    role, member = consumer_role(name)
    delivered, floor = info.delivered, info.ack_floor
    return ConsumerStatus(
        stream=stream,
        name=name,
        role=role,
        member=member,
        pending=int(info.num_pending or 0),
        ack_pending=int(info.num_ack_pending or 0),
        redelivered=int(info.num_redelivered or 0),
        waiting=int(info.num_waiting or 0),
        last_delivered=delivered.last_active if delivered is not None else None,
        last_ack=floor.last_active if floor is not None else None,
    )


def consumer_role(name: str) -> tuple[str, str | None]:
    """`deliver-000_00_00_H49` -> ("delivery", "000.00.00.H49"); `hub` -> ("hub", None)."""
    if name == subjects.HUB_CONSUMER:
        return "hub", None
    for prefix, role in (("deliver-", "delivery"), ("receipts-", "receipts")):
        if name.startswith(prefix):
            try:
                return role, from_token(name[len(prefix) :])
            except InvalidAgencyCode:
                break
    return "other", None


async def _recent_dead_letters(
    js: JetStreamAdmin, first: int, last: int, count: int
) -> tuple[DeadLetter, ...]:
    """The newest `count` dead letters, newest first, without their (large) envelopes.
    Deleted or expired sequence numbers are skipped, so fewer may come back."""
    letters: list[DeadLetter] = []
    seq = last
    budget = count * 4  # bounded: a stream full of holes must not make this loop forever
    while seq >= max(first, 1) and len(letters) < count and budget > 0:
        budget -= 1
        try:
            raw = await js.get_msg(subjects.DEAD_STREAM, seq)
        except Exception:
            seq -= 1
            continue
        letters.append(_dead_letter(seq, raw))
        seq -= 1
    return tuple(letters)


def _dead_letter(seq: int, raw: Any) -> DeadLetter:
    subject = str(getattr(raw, "subject", "") or "")
    body: dict[str, Any] = {}
    with contextlib.suppress(ValueError, TypeError):
        decoded = json.loads(raw.data or b"{}")
        if isinstance(decoded, dict):
            body = decoded
    member: str | None = None
    token = subject.removeprefix("truc.dead.")
    if token and token != "unknown":
        with contextlib.suppress(InvalidAgencyCode):
            member = from_token(token)
    when = getattr(raw, "time", None)
    return DeadLetter(
        seq=seq,
        subject=subject,
        member=member,
        time=when if isinstance(when, datetime) else _parse_time(body.get("received_at")),
        message_id=str(body.get("message_id") or ""),
        code=str(body.get("code") or "unknown"),
        reason=str(body.get("reason") or ""),
        claimed_sender=body.get("claimed_sender") or None,
        authenticated=bool(body.get("authenticated", False)),
    )


def find_problems(
    snapshot: StatusSnapshot, thresholds: Thresholds, *, checkpoint_expected: bool = False
) -> tuple[str, ...]:
    """What a person should look at first, in plain sentences (empty: all is well)."""
    problems: list[str] = []
    if snapshot.nats_error:
        problems.append(snapshot.nats_error)
    for stream in snapshot.streams:
        if not stream.present:
            problems.append(f"stream {stream.name} ({stream.subjects[0]}) is missing")
    for c in snapshot.consumers:
        if c.role == "other":
            continue  # someone's ephemeral consumer (`truc streams tail`): not ours to judge
        who = f"{c.name} ({c.member})" if c.member else c.name
        idle = snapshot.taken_at - c.last_active if c.last_active is not None else None
        if c.pending and not c.waiting and (idle is None or idle > thresholds.stalled_after):
            since = "ever" if idle is None else f"for {_span(idle)}"
            problems.append(f"{who}: {c.pending} waiting and nobody has pulled {since}")
        elif c.redelivered:
            problems.append(
                f"{who}: {c.redelivered} message(s) delivered more than once and still not "
                "acknowledged (is its handler failing?)"
            )
        elif c.role == "delivery" and c.lag > thresholds.backlog:
            problems.append(f"{who}: backlog of {c.lag} messages")
    fresh = [
        d
        for d in snapshot.dead_letters.recent
        if d.time is not None and snapshot.taken_at - d.time <= thresholds.dead_letters_within
    ]
    if fresh:
        newest = fresh[0]
        more = len(fresh) == len(snapshot.dead_letters.recent) < snapshot.dead_letters.count
        problems.append(
            f"{len(fresh)}{' or more' if more else ''} dead letter(s) in the last "
            f"{_span(thresholds.dead_letters_within)}; newest: {newest.code} from "
            f"{newest.member or 'an unknown sender'}"
        )
    if snapshot.ledger is not None and snapshot.ledger.error:
        problems.append(f"ledger: {snapshot.ledger.error}")
    if checkpoint_expected:
        age = snapshot.checkpoint_age
        if snapshot.checkpoint is None:
            problems.append("no checkpoint has been issued yet")
        elif age is not None and age > thresholds.checkpoint_max_age.total_seconds():
            problems.append(f"the latest checkpoint is {_span(timedelta(seconds=age))} old")
    return tuple(problems)


# -- the activity projection --------------------------------------------------------------------


@dataclass
class _Due:
    """One tracked item (a document, or a dossier) with a due date and who still owes it."""

    due: date
    open: set[str]


@dataclass
class Timeliness:
    """On-time figures for one kind of item (documents or dossiers), per responsible member.

    Per (item, responsible member): *on time* when it finished on or before the due date
    (Vietnam time), *late* when after, *overdue* when still open after the due date, *open*
    otherwise. The on-time rate is on time / (on time + late + overdue): items not yet due
    count neither way. Memory holds only the open items, not the history.
    """

    on_time: Counter[str] = field(default_factory=Counter)
    late: Counter[str] = field(default_factory=Counter)
    tracked: int = 0
    items: dict[str, _Due] = field(default_factory=dict)

    def track(self, key: str, due: date, members: Iterable[str]) -> None:
        owing = {m for m in members if m}
        if owing:
            self.tracked += 1
            self.items[key] = _Due(due, owing)

    def finish(self, key: str, member: str, when: datetime | None) -> None:
        item = self.items.get(key)
        if item is None or member not in item.open:
            return
        done = when.astimezone(VIETNAM).date() if when is not None else None
        if done is not None and done <= item.due:
            self.on_time[member] += 1
        else:
            self.late[member] += 1
        self.withdraw(key, member)

    def withdraw(self, key: str, member: str | None = None) -> None:
        """Stop counting an item (for one member, or all): recalled, revoked, refused."""
        item = self.items.get(key)
        if item is None:
            return
        if member is None:
            item.open.clear()
        else:
            item.open.discard(member)
        if not item.open:
            del self.items[key]

    def move(self, key: str, old: str, new: str) -> None:
        """The responsibility passed on (a dossier transferred to another agency)."""
        item = self.items.get(key)
        if item is not None and old in item.open:
            item.open.discard(old)
            item.open.add(new)

    def report(self, today: date) -> dict[str, Any]:
        overdue: Counter[str] = Counter()
        still_open: Counter[str] = Counter()
        for item in self.items.values():
            for member in item.open:
                (overdue if today > item.due else still_open)[member] += 1
        members = sorted(set(self.on_time) | set(self.late) | set(overdue) | set(still_open))
        on_time, late, late_open = (
            sum(self.on_time.values()),
            sum(self.late.values()),
            sum(overdue.values()),
        )
        return {
            "with_due_date": self.tracked,
            "on_time": on_time,
            "late": late,
            "overdue": late_open,
            "open": sum(still_open.values()),
            "on_time_rate": _rate(on_time, late + late_open),
            "by_member": [
                {
                    "member": m,
                    "on_time": self.on_time[m],
                    "late": self.late[m],
                    "overdue": overdue[m],
                    "open": still_open[m],
                    "on_time_rate": _rate(self.on_time[m], self.late[m] + overdue[m]),
                }
                for m in members
            ],
        }


# Dossier statuses (TrangThaiHoSo): 9 processed, 10 result returned finish a dossier on the
# holder's side; 3 not accepted, 7 withdrawn by the citizen and 8 stopped take it out of the
# timeliness count.
DOSSIER_DONE = frozenset({9, 10})
DOSSIER_WITHDRAWN = frozenset({3, 7, 8})


@dataclass
class ActivityProjection:
    """Volumes by member, refusals by reason and the timeliness of documents and dossiers,
    folded from the ledger's notification log. Incremental: each `catch_up` reads only what
    is new, so the dashboard can refresh every few seconds on a large ledger.

    Documents: each recipient owes a final status (06 done or 02 returned, DOMAIN.md section
    2) by the document's DueDate; a recall accepted (15) or a revocation withdraws it.
    Dossiers: the agency holding the dossier owes the result (status 9 or 10) by its due
    date; a transfer hands that debt on to the receiving agency.
    """

    window_minutes: int = 60
    position: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    received: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    deliveries: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    refused_by_reason: Counter[str] = field(default_factory=Counter)
    documents: int = 0
    dossiers: int = 0
    document_timeliness: Timeliness = field(default_factory=Timeliness)
    dossier_timeliness: Timeliness = field(default_factory=Timeliness)
    per_minute: Counter[int] = field(default_factory=Counter)

    def catch_up(
        self, read: NotificationReader, *, batch: int = 1000, max_batches: int = 50
    ) -> int:
        """Fold what was recorded since the last call; returns how many notifications.
        Bounded by `max_batches` so one call never holds a thread for long; the next call
        continues where this one stopped."""
        folded = 0
        for _ in range(max_batches):
            notifications = read(self.position + 1, batch)
            for notification in notifications:
                self.position = max(self.position, int(notification.id))
                self._fold(notification)
            folded += len(notifications)
            if len(notifications) < batch:
                break
        return folded

    def _fold(self, n: NotificationLike) -> None:
        event = n.topic.rsplit(":", 1)[-1]
        try:
            state = json.loads(n.state)
        except ValueError:
            return  # an encrypted or compressed ledger: nothing to count here
        if not isinstance(state, dict):
            return
        key = str(n.originator_id)
        received_at = _parse_time(state.get("received_at"))
        if event.startswith("Document."):
            self._document(event, key, state, received_at)
        elif event.startswith("Dossier."):
            self._dossier(event, key, state, received_at)
        elif event == "RefusedMessage.Refused":
            self.refused[str(state.get("claimed_sender") or "unknown")] += 1
            self.refused_by_reason[str(state.get("reason_code") or "unknown")] += 1
            self._tick(received_at)

    def _document(
        self, event: str, key: str, state: dict[str, Any], received_at: datetime | None
    ) -> None:
        timeliness = self.document_timeliness
        if event == "Document.Sent":
            self.documents += 1
            self.sent[str(state.get("sender", ""))] += 1
            self._tick(received_at)
            due = parse_due_date(str(state.get("due_date", "")))
            if due is not None:
                timeliness.track(key, due, (str(r) for r in state.get("recipients", [])))
        elif event == "Document.Routed":
            self.received[str(state.get("recipient", ""))] += 1
        elif event == "Document.Delivered":
            self.deliveries[str(state.get("recipient", ""))] += 1
            self._tick(received_at)
        elif event == "Document.StatusReported":
            reporter, code = str(state.get("reporter", "")), str(state.get("status_code", ""))
            self.statuses[reporter] += 1
            self._tick(received_at)
            if code == WITHDRAWN:
                timeliness.withdraw(key, reporter)
            elif code in HANDLED:
                timeliness.finish(key, reporter, received_at)
        elif event == "Document.Revoked":
            timeliness.withdraw(key)

    def _dossier(
        self, event: str, key: str, state: dict[str, Any], received_at: datetime | None
    ) -> None:
        timeliness = self.dossier_timeliness
        if event == "Dossier.Received":
            self.dossiers += 1
            receiver = str(state.get("receiver", ""))
            self.received[receiver] += 1
            self._tick(received_at)
            due = parse_due_date(str(state.get("due_date", "")))
            if due is not None:
                timeliness.track(key, due, (receiver,))
        elif event == "Dossier.Transferred":
            old, new = str(state.get("from_agency", "")), str(state.get("to_agency", ""))
            self.sent[old] += 1
            self.received[new] += 1
            self._tick(received_at)
            timeliness.move(key, old, new)
        elif event == "Dossier.StatusChanged":
            by = str(state.get("by", ""))
            self.statuses[by] += 1
            self._tick(received_at)
            status = state.get("status")
            if status in DOSSIER_DONE:
                # Judged by the agency's own time of the act when it gave one.
                timeliness.finish(key, by, _parse_time(state.get("at")) or received_at)
            elif status in DOSSIER_WITHDRAWN:
                timeliness.withdraw(key)
        elif event == "Dossier.ClockResumed":
            # The clock stopped while the agency waited for the citizen: the due date moved.
            moved = parse_due_date(str(state.get("due_date", "")))
            item = timeliness.items.get(key)
            if moved is not None and item is not None:
                item.due = moved

    def _tick(self, received_at: datetime | None) -> None:
        if received_at is not None:
            self.per_minute[int(received_at.timestamp()) // 60] += 1

    def report(self, now: datetime) -> dict[str, Any]:
        """JSON-ready figures as of `now` (which decides what is overdue)."""
        today = now.astimezone(VIETNAM).date()
        current = int(now.timestamp()) // 60
        for minute in [m for m in self.per_minute if m <= current - self.window_minutes]:
            del self.per_minute[minute]
        members = sorted(
            (set(self.sent) | set(self.received) | set(self.statuses) | set(self.deliveries)) - {""}
        )
        documents = {"total": self.documents, **self.document_timeliness.report(today)}
        dossiers = {
            "total": self.dossiers,
            **self.dossier_timeliness.report(today),
            "note": "" if self.dossiers else "not yet: no dossier has been recorded",
        }
        return {
            "position": self.position,
            "volumes": [
                {
                    "member": m,
                    "sent": self.sent[m],
                    "received": self.received[m],
                    "statuses": self.statuses[m],
                    "deliveries": self.deliveries[m],
                    "refused": self.refused[m],
                }
                for m in members
            ],
            "refused_by_reason": dict(self.refused_by_reason.most_common()),
            "refused_by_member": dict(self.refused.most_common()),
            "documents": documents,
            "dossiers": dossiers,
            "per_minute": [
                {
                    "minute": _iso(datetime.fromtimestamp(m * 60, tz=UTC)),
                    "count": self.per_minute[m],
                }
                for m in range(current - self.window_minutes + 1, current + 1)
            ],
        }


def parse_due_date(text: str) -> date | None:
    """A due date as a calendar date: edXML `yyyy/MM/dd`, ISO `yyyy-MM-dd`, or the national
    portal's `yyyyMMdd` / `yyyyMMddHHmmss`. None when absent or unreadable (not tracked)."""
    text = text.strip()
    for pattern in ("%Y/%m/%d", "%Y-%m-%d", "%Y%m%d", "%Y%m%d%H%M%S"):
        with contextlib.suppress(ValueError):
            return datetime.strptime(text, pattern).date()
    return None


# -- the collector the hub wires ---------------------------------------------------------------


class OpsCollector:
    """Everything the dashboard and the metrics refresher ask for, in one object the
    composition root builds: a status snapshot plus the activity projection, with the ledger
    read in an executor and one refresh at a time (concurrent callers share it)."""

    def __init__(
        self,
        js: JetStreamAdmin | None,
        *,
        hub_name: str = "",
        ledger: LedgerReader | None = None,
        notifications: NotificationReader | None = None,
        checkpoint: CheckpointSource | None = None,
        checkpoint_error: Callable[[], str | None] | None = None,
        executor: Executor | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        thresholds: Thresholds = Thresholds(),
    ) -> None:
        self._js = js
        self._hub_name = hub_name
        self._ledger = ledger
        self._notifications = notifications
        self._checkpoint = checkpoint
        self._checkpoint_error = checkpoint_error
        self._executor = executor
        self._now = now
        self._thresholds = thresholds
        self.activity = ActivityProjection()
        self._lock = asyncio.Lock()

    async def status(self) -> StatusSnapshot:
        return await collect_status(
            self._js,
            ledger=self._ledger,
            checkpoint=self._checkpoint,
            checkpoint_error=self._checkpoint_error,
            executor=self._executor,
            now=self._now,
            thresholds=self._thresholds,
        )

    async def summary(self) -> dict[str, Any]:
        """The dashboard's `/api/summary`: the status snapshot plus `hub` and `activity`."""
        async with self._lock:
            snapshot = await self.status()
            activity: dict[str, Any] | None = None
            activity_error = ""
            if self._notifications is not None:
                loop = asyncio.get_running_loop()
                try:
                    await loop.run_in_executor(
                        self._executor, self.activity.catch_up, self._notifications
                    )
                    activity = self.activity.report(snapshot.taken_at)
                except Exception as error:
                    activity_error = _describe(error)
            body = snapshot.to_dict()
            body["hub"] = {"name": self._hub_name}
            body["activity"] = activity
            body["activity_error"] = activity_error
            return body


# -- helpers ------------------------------------------------------------------------------------


def _rate(good: int, bad: int) -> float | None:
    total = good + bad
    return round(good / total, 4) if total else None


def _parse_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="milliseconds") if value else None


def _plain(value: Any) -> Any:
    """Dataclass dicts to JSON-ready values: datetimes as ISO strings, tuples as lists."""
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return [_plain(v) for v in value]
    return value


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 2 * 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    name = type(error).__name__
    return f"{name}: {text}" if text and text != name else name
