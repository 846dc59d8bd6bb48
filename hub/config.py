"""The hub's configuration file (TOML): members, routes, ledger backend, NATS.

Read once, by the composition root, into frozen dataclasses; nothing reads configuration at
import time. Errors name the key that is wrong.
"""

from __future__ import annotations

import base64
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from hub.errors import ConfigError
from hub.model import Kind
from ledger.agency import is_valid_code
from ledger.citizen_id import ATTRIBUTES
from ledger.storage import InvalidStorage, PostgresStorage, SqliteStorage, Storage

MEMBER_KINDS = ("document", "dossier", "postal", "population")


@dataclass(frozen=True)
class MemberConfig:
    code: str
    name: str
    kind: str = "document"
    grpc_port: int = 0
    # Raw Ed25519 public key; None: a demo key pair is generated under <data-dir>/keys/.
    public_key: bytes | None = None
    # Where the adapter finds its private key; default <data-dir>/keys/<token>.pem.
    private_key_file: Path | None = None


@dataclass(frozen=True)
class RouteConfig:
    senders: str
    recipients: str
    kinds: frozenset[Kind]
    # Attributes a look-up route lets the senders ask for (issue 7).
    attributes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class HubConfig:
    name: str = "truc.demo.gov.vn"
    nats_url: str = ""
    nats_port: int = 4222
    nats_monitor_port: int = 8222
    batch_size: int = 256
    # JetStream stream replicas: 3 on a NATS cluster (R3), 1 on a single server.
    stream_replicas: int = 1
    # Prometheus exporter and web dashboard: None = off, 0 = any free port. Loopback by
    # default; the dashboard refuses any other address without a token.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int | None = None
    dashboard_token: str = ""
    ledger_backend: str = "sqlite"
    ledger_path: str = "ledger.sqlite3"
    postgres: PostgresStorage = field(default_factory=PostgresStorage)
    tls_dir: str = "certs"
    nats_tls: bool = False
    # "off", "server" (adapters' gRPC over TLS) or "mutual" (agency systems show a client
    # certificate whose CN is their agency code).
    grpc_tls: str = "off"
    checkpoint_every_leaves: int = 1000
    checkpoint_every_seconds: float = 10.0
    # (url, cosignature vkey) of each witness, and how many must cosign before publishing.
    witnesses: tuple[tuple[str, str], ...] = ()
    witness_quorum: int = 0
    members: tuple[MemberConfig, ...] = ()
    routes: tuple[RouteConfig, ...] = ()
    source: str = "<built-in demo>"
    # [postal]: the postal operator's PostalOperator gRPC address; "" starts the reference
    # postal service (a stand-in for the operator's API) with these delays and failures.
    postal_operator_url: str = ""
    postal_step_seconds: float = 2.0
    postal_fail_rate: float = 0.0
    postal_lose_replies: int = 0
    # [population] (issue 7): the synthetic reference register `truc up` starts for the
    # population member: its gRPC port (0: any free one), size and seed.
    population_register_port: int = 0
    population_citizens: int = 10_000
    population_seed: int = 2026

    def storage(self, data_dir: Path) -> Storage:
        if self.ledger_backend == "postgres":
            return self.postgres
        path = Path(self.ledger_path)
        return SqliteStorage(path if path.is_absolute() else data_dir / path)

    def tls_directory(self, data_dir: Path) -> Path:
        path = Path(self.tls_dir)
        return path if path.is_absolute() else data_dir / path

    def member(self, code: str) -> MemberConfig:
        for member in self.members:
            if member.code == code:
                return member
        raise ConfigError(f"{code} is not a member in {self.source}")


def demo_config_path() -> Path:
    return Path(str(resources.files("hub").joinpath("demo/truc.toml")))


def load_config(path: Path | None) -> HubConfig:
    """Load `path`, or the demo configuration when None."""
    source = path or demo_config_path()
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read configuration {source}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{source}: not UTF-8 text: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}") from None
    return parse_config(raw, str(source))


def parse_config(raw: dict[str, Any], source: str = "<config>") -> HubConfig:
    hub = _table(raw, "hub", source)
    ledger = _table(raw, "ledger", source)
    backend = str(ledger.get("backend", "sqlite"))
    if backend not in ("sqlite", "postgres"):
        raise ConfigError(
            f"{source}: ledger.backend must be 'sqlite' or 'postgres', not {backend!r}"
        )
    pg = _table(ledger, "postgres", source)
    tls = _table(raw, "tls", source)
    transparency = _table(raw, "transparency", source)
    population = _table(raw, "population", source)
    witnesses = []
    for i, witness in enumerate(transparency.get("witnesses", [])):
        if not isinstance(witness, dict) or "url" not in witness or "vkey" not in witness:
            raise ConfigError(f"{source}: transparency.witnesses[{i}] needs url and vkey")
        witnesses.append((str(witness["url"]), str(witness["vkey"])))
    quorum = _int(transparency, "quorum", 0, f"{source}: transparency")
    if not 0 <= quorum <= len(witnesses):
        raise ConfigError(f"{source}: transparency.quorum must be between 0 and {len(witnesses)}")
    grpc_tls = str(tls.get("grpc", "off"))
    if grpc_tls not in ("off", "server", "mutual"):
        raise ConfigError(
            f"{source}: tls.grpc must be 'off', 'server' or 'mutual', not {grpc_tls!r}"
        )
    members = tuple(_member(m, i, source) for i, m in enumerate(raw.get("members", [])))
    codes = [m.code for m in members]
    twice = sorted({code for code in codes if codes.count(code) > 1})
    if twice:
        raise ConfigError(f"{source}: member code {', '.join(twice)} appears more than once")
    routes = tuple(_route(r, i, source) for i, r in enumerate(raw.get("routes", [])))
    postal = _table(raw, "postal", source)
    fail_rate = postal.get("fail_rate", 0.0)
    if isinstance(fail_rate, bool) or not isinstance(fail_rate, int | float):
        raise ConfigError(f"{source}: postal.fail_rate: must be a number, not {fail_rate!r}")
    if not 0 <= fail_rate < 1:
        raise ConfigError(f"{source}: postal.fail_rate: must be at least 0 and below 1")
    step = postal.get("step_seconds", 2.0)
    if isinstance(step, bool) or not isinstance(step, int | float) or step <= 0:
        raise ConfigError(f"{source}: postal.step_seconds: must be a positive number")
    return HubConfig(
        postal_operator_url=str(postal.get("operator_url", "")),
        postal_step_seconds=float(step),
        postal_fail_rate=float(fail_rate),
        postal_lose_replies=_int(postal, "lose_replies", 0, f"{source}: postal"),
        name=str(hub.get("name", "truc.demo.gov.vn")),
        nats_url=str(hub.get("nats_url", "")),
        nats_port=_int(hub, "nats_port", 4222, f"{source}: hub"),
        nats_monitor_port=_int(hub, "nats_monitor_port", 8222, f"{source}: hub"),
        batch_size=_int(hub, "batch_size", 256, f"{source}: hub"),
        stream_replicas=_replicas(hub, source),
        metrics_host=str(hub.get("metrics_host", "127.0.0.1")),
        metrics_port=_optional_port(hub, "metrics_port", f"{source}: hub"),
        dashboard_host=str(hub.get("dashboard_host", "127.0.0.1")),
        dashboard_port=_optional_port(hub, "dashboard_port", f"{source}: hub"),
        dashboard_token=str(hub.get("dashboard_token", "")),
        ledger_backend=backend,
        ledger_path=str(ledger.get("path", "ledger.sqlite3")),
        postgres=_postgres(
            dbname=str(pg.get("dbname", "truc")),
            host=str(pg.get("host", "127.0.0.1")),
            port=_int(pg, "port", 5432, f"{source}: ledger.postgres"),
            user=str(pg.get("user", "postgres")),
            password=str(pg.get("password", "")),
            schema=str(pg.get("schema", "")),
        ),
        checkpoint_every_leaves=_int(transparency, "every_leaves", 1000, f"{source}: transparency"),
        checkpoint_every_seconds=float(transparency.get("every_seconds", 10.0)),
        witnesses=tuple(witnesses),
        witness_quorum=quorum,
        tls_dir=str(tls.get("dir", "certs")),
        nats_tls=bool(tls.get("nats", False)),
        grpc_tls=grpc_tls,
        members=members,
        routes=routes,
        source=source,
        population_register_port=_int(population, "register_port", 0, f"{source}: population"),
        population_citizens=_int(population, "citizens", 10_000, f"{source}: population"),
        population_seed=_int(population, "seed", 2026, f"{source}: population"),
    )


def _replicas(hub: dict[str, Any], source: str) -> int:
    replicas = _int(hub, "stream_replicas", 1, f"{source}: hub")
    if not 1 <= replicas <= 5:
        raise ConfigError(f"{source}: hub.stream_replicas must be between 1 and 5, not {replicas}")
    return replicas


def _postgres(**fields: Any) -> PostgresStorage:
    try:
        return PostgresStorage(**fields)
    except InvalidStorage as error:
        raise ConfigError(str(error)) from None


def _optional_port(table: dict[str, Any], key: str, where: str) -> int | None:
    """An optional TCP port: absent means the service is off, 0 means any free port."""
    if key not in table:
        return None
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ConfigError(f"{where}.{key}: must be a port number 0..65535, not {value!r}")
    return value


def _int(table: dict[str, Any], key: str, default: int, where: str) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}.{key}: must be an integer, not {value!r}")
    return value


def _table(raw: dict[str, Any], key: str, source: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [{key}] must be a table")
    return value


def _member(raw: Any, index: int, source: str) -> MemberConfig:
    where = f"{source}: members[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    code = str(raw.get("code", ""))
    if not is_valid_code(code):
        raise ConfigError(f"{where}.code: {code!r} is not an agency code")
    kind = str(raw.get("kind", "document"))
    if kind not in MEMBER_KINDS:
        raise ConfigError(f"{where}.kind: must be one of {', '.join(MEMBER_KINDS)}")
    public_key = None
    if "public_key" in raw:
        try:
            public_key = base64.b64decode(str(raw["public_key"]), validate=True)
        except ValueError:  # binascii.Error, or non-ASCII text
            raise ConfigError(f"{where}.public_key: not base64") from None
        if len(public_key) != 32:
            raise ConfigError(f"{where}.public_key: an Ed25519 public key is 32 bytes")
    private_key_file = Path(raw["private_key_file"]) if "private_key_file" in raw else None
    return MemberConfig(
        code=code,
        name=str(raw.get("name", code)),
        kind=kind,
        grpc_port=_int(raw, "grpc_port", 0, where),
        public_key=public_key,
        private_key_file=private_key_file,
    )


def _route(raw: Any, index: int, source: str) -> RouteConfig:
    where = f"{source}: routes[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    try:
        kinds = frozenset(Kind(k) for k in raw.get("kinds", [k.value for k in Kind]))
    except ValueError as error:
        raise ConfigError(f"{where}.kinds: {error}") from None
    attributes = raw.get("attributes", [])
    if not isinstance(attributes, list) or any(a not in ATTRIBUTES for a in attributes):
        raise ConfigError(f"{where}.attributes: each must be one of {', '.join(ATTRIBUTES)}")
    return RouteConfig(
        str(raw.get("senders", "*")),
        str(raw.get("recipients", "*")),
        kinds,
        frozenset(str(a) for a in attributes),
    )
