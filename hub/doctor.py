"""`truc doctor`: is this deployment sound? Each check answers ok, FAIL or skip with a
reason an operator can act on; nothing here writes anything (read-only diagnosis).

Checks: NATS reachable; the four streams with the configured replicas; the hub's and every
member's consumers; the ledger reachable; the latest signed checkpoint consistent with the
ledger's Merkle log (its root reproduced at its size, and the log at least that long);
clocks: this machine against the NATS server (`/varz` when a monitor URL is known) and
against PostgreSQL's now().
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.request
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hub import subjects
from hub.config import HubConfig

OK, FAIL, SKIP = "ok", "FAIL", "skip"
CLOCK_TOLERANCE_S = 2.0


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str


@dataclass
class Target:
    """Where to look: from the configuration, completed by a running stack's address book."""

    nats_url: str
    monitor_url: str = ""
    credentials: Any = None  # adapters.nats.auth.NatsCredentials for an embedded server


async def diagnose(config: HubConfig, data_dir: Path, target: Target) -> list[Check]:
    checks: list[Check] = []
    nats_checks = await _nats(config, target)
    checks += nats_checks
    checks += await asyncio.to_thread(_ledger, config, data_dir)
    checks.append(await asyncio.to_thread(_nats_clock, target.monitor_url))
    return checks


def healthy(checks: list[Check]) -> bool:
    return all(c.status != FAIL for c in checks)


def to_json(checks: list[Check]) -> str:
    return json.dumps(
        {"healthy": healthy(checks), "checks": [asdict(c) for c in checks]},
        ensure_ascii=False,
        indent=2,
    )


async def _nats(config: HubConfig, target: Target) -> list[Check]:
    import nats
    from nats.js.errors import NotFoundError

    from adapters.nats import jetstream

    if not target.nats_url:
        return [
            Check("nats", FAIL, "no NATS URL: give --nats-url, set [hub] nats_url, or run truc up")
        ]
    options: dict[str, Any] = {"connect_timeout": 3, "max_reconnect_attempts": 0}
    if target.credentials is not None:
        options.update(user=target.credentials.user, password=target.credentials.password)

    async def _quiet(error: Exception) -> None:  # nats-py logs tracebacks without one
        return None

    try:
        nc = await asyncio.wait_for(
            nats.connect(
                servers=[u.strip() for u in target.nats_url.split(",") if u.strip()],
                error_cb=_quiet,
                **options,
            ),
            5,
        )
    except Exception as error:
        return [
            Check("nats", FAIL, f"{target.nats_url} unreachable: {type(error).__name__}: {error}")
        ]
    checks = [
        Check(
            "nats",
            OK,
            f"connected to {nc.connected_url.netloc if nc.connected_url else target.nats_url}",
        )
    ]
    try:
        js = nc.jetstream(timeout=3)
        missing, wrong = [], []
        for expected in jetstream.stream_configs(config.stream_replicas):
            assert expected.name is not None
            try:
                info = await js.stream_info(expected.name)
            except NotFoundError:
                missing.append(expected.name)
                continue
            if info.config.num_replicas != expected.num_replicas:
                wrong.append(
                    f"{expected.name} has {info.config.num_replicas} replicas, "
                    f"configured {expected.num_replicas}"
                )
        if missing or wrong:
            detail = "; ".join([f"missing: {', '.join(missing)}"] * bool(missing) + wrong)
            checks.append(Check("streams", FAIL, detail))
        else:
            checks.append(Check("streams", OK, "TRUC_IN, TRUC_OUT, TRUC_LEDGER, TRUC_DEAD"))
        wanted = [(subjects.IN_STREAM, subjects.HUB_CONSUMER)] + [
            (subjects.OUT_STREAM, durable)
            for m in config.members
            for durable in (subjects.delivery_consumer(m.code), subjects.receipt_consumer(m.code))
        ]
        absent = []
        backlog = 0
        for stream, durable in wanted:
            try:
                info = await js.consumer_info(stream, durable)
                backlog += info.num_pending
            except NotFoundError:
                absent.append(durable)
            except Exception as error:
                absent.append(f"{durable} ({type(error).__name__})")
        if absent:
            checks.append(Check("consumers", FAIL, f"missing: {', '.join(absent)}"))
        else:
            checks.append(
                Check("consumers", OK, f"{len(wanted)} present, {backlog} messages waiting")
            )
    except Exception as error:
        checks.append(Check("streams", FAIL, f"JetStream: {type(error).__name__}: {error}"))
    finally:
        await jetstream.close(nc)
    return checks


def _ledger(config: HubConfig, data_dir: Path) -> list[Check]:
    from ledger.application import Ledger
    from ledger.checkpoints import CheckpointStore
    from ledger.merkle import MerkleError, verify_consistency
    from ledger.merkle_log import MerkleLog
    from ledger.storage import PostgresStorage, SqliteStorage

    storage = config.storage(data_dir)
    if isinstance(storage, SqliteStorage) and not storage.path.exists():
        return [Check("ledger", FAIL, f"{storage.describe()}: no such file")]
    checks: list[Check] = []
    try:
        ledger = Ledger(storage)
    except Exception as error:
        return [Check("ledger", FAIL, f"{storage.describe()}: {type(error).__name__}: {error}")]
    try:
        size = ledger.recorder.max_notification_id() or 0
        checks.append(Check("ledger", OK, f"{storage.describe()}: {size} events"))
        merkle = MerkleLog(ledger.recorder)
        latest = CheckpointStore(merkle.db).latest()
        logged = merkle.size
        if latest is None:
            checks.append(
                Check(
                    "checkpoint",
                    OK if size < 1000 else FAIL,
                    f"none signed yet; {logged} leaves logged",
                )
            )
        elif latest.size > logged:
            checks.append(
                Check(
                    "checkpoint",
                    FAIL,
                    f"checkpoint of size {latest.size} but only {logged} leaves: rolled back?",
                )
            )
        else:
            try:
                root = merkle.root(latest.size)
                verify_consistency(
                    latest.size,
                    logged,
                    latest.root,
                    merkle.root(logged),
                    merkle.consistency_proof(latest.size, logged),
                )
                if root != latest.root:
                    raise MerkleError("root differs")
                age = time.time() - latest.signed_at_ms / 1000
                checks.append(
                    Check(
                        "checkpoint",
                        OK,
                        f"size {latest.size} of {logged}, consistent, signed {age:.0f} s ago",
                    )
                )
            except MerkleError as error:
                checks.append(
                    Check(
                        "checkpoint",
                        FAIL,
                        f"checkpoint {latest.size} is not consistent with the ledger: {error}",
                    )
                )
        if isinstance(storage, PostgresStorage):
            checks.append(_pg_clock(storage))
        else:
            checks.append(Check("clock: PostgreSQL", SKIP, "SQLite ledger (this machine's clock)"))
    except Exception as error:
        checks.append(Check("ledger", FAIL, f"{type(error).__name__}: {error}"))
    finally:
        with contextlib.suppress(Exception):
            ledger.close()
    return checks


def _pg_clock(storage: Any) -> Check:
    import psycopg

    with psycopg.connect(
        host=storage.host,
        port=storage.port,
        user=storage.user,
        password=storage.password or None,
        dbname=storage.dbname,
        connect_timeout=3,
    ) as conn:
        before = time.time()
        row = conn.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
        after = time.time()
    assert row is not None
    return _clock_check("clock: PostgreSQL", float(row[0]), before, after)


def _nats_clock(monitor_url: str) -> Check:
    if not monitor_url:
        return Check("clock: NATS", SKIP, "no monitor URL known (embedded NATS or stack.json)")
    try:
        before = time.time()
        with urllib.request.urlopen(f"{monitor_url}/varz", timeout=3) as response:
            now = json.loads(response.read())["now"]
        after = time.time()
    except Exception as error:
        return Check("clock: NATS", FAIL, f"{monitor_url}/varz: {type(error).__name__}: {error}")
    return _clock_check("clock: NATS", _parse_go_time(now), before, after)


def _parse_go_time(text: str) -> float:
    """Go's RFC 3339 with nanoseconds (Python takes at most microseconds)."""
    head, _, rest = text.partition(".")
    if not rest:
        return datetime.fromisoformat(text).timestamp()
    digits = "".join(c for c in rest if c.isdigit())
    zone = rest[len(digits) :]
    return datetime.fromisoformat(f"{head}.{digits[:6]}{zone.replace('Z', '+00:00')}").timestamp()


def _clock_check(name: str, remote: float, before: float, after: float) -> Check:
    skew = remote - (before + after) / 2
    status = OK if abs(skew) <= CLOCK_TOLERANCE_S + (after - before) else FAIL
    return Check(
        name,
        status,
        f"{skew * 1000:+.0f} ms from this machine (tolerance {CLOCK_TOLERANCE_S:.0f} s)",
    )
