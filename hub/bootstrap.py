"""The composition root: the one place that builds the hub, the ledger and the adapters, and
connects them to NATS, gRPC and storage. Nothing else in the project connects to anything.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fnmatch
import functools
import hashlib
import logging
import os
import ssl
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from adapters.crypto import Signer, key_id, load_key, load_or_create_key
from adapters.document.attachments import ensure_bucket
from adapters.document.gateway import DocumentGateway
from adapters.document.mailbox import Mailbox
from adapters.document.servicer import DocumentExchangeServicer
from adapters.dossier.servicer import DOSSIER_SERVICE, DossierServicer
from adapters.envelope import ProtobufCodec
from adapters.grpc_server import server_credentials, start_server
from adapters.keystore import KeyStore
from adapters.nats import auth, jetstream
from adapters.nats.embedded import EmbeddedNats, choose_port
from adapters.pb.truc.v1 import (
    dossier_pb2_grpc,
    exchange_pb2,
    exchange_pb2_grpc,
    population_pb2,
    population_pb2_grpc,
)
from adapters.population.asker import PopulationLookupServicer
from adapters.population.node import (
    PopulationHandle,
    RegisterHandle,
    open_register,
    start_population_adapter,
)
from adapters.population.vault import CitizenVault
from adapters.postal.reference import ReferencePostal, ReferenceSettings, start_reference_postal
from adapters.postal.worker import PostalWorker, start_postal_worker
from adapters.tls import TlsFiles, client_context, nats_tls_block
from hub import subjects
from hub.config import HubConfig, MemberConfig
from hub.dashboard import start_dashboard
from hub.errors import ConfigError
from hub.followers import FollowerGroup, open_transparency, start_followers
from hub.inbound import InboundConsumer
from hub.intake import Intake, iso_ms
from hub.metrics import HubMetrics, MetricsExporter, observe_batch, refresh_status, start_exporter
from hub.ops import OpsCollector, ledger_checkpoint_source, ledger_notifications
from hub.ports import SystemClock
from hub.projections_runner import ProjectionsRunner
from hub.proofs import serve_proofs
from hub.registry import Member, MemberKey, Registry, Route
from hub.service import BatchReport, HubService, feed_publications
from hub.stackfile import (
    MemberEndpoint,
    StackInfo,
    remove_stack,
    role_nats_url,
    write_stack,
)
from hub.transparency import TransparencyLog
from ledger.agency import to_token
from ledger.application import Ledger
from ledger.commands import Outcome, Recorded
from ledger.member import KeySpec, MemberSpec, RouteSpec
from ledger.projections import Views

log = logging.getLogger("truc.hub")
DOCUMENT_SERVICE = exchange_pb2.DESCRIPTOR.services_by_name["DocumentExchange"].full_name
LOOKUP_SERVICE = population_pb2.DESCRIPTOR.services_by_name["PopulationLookup"].full_name
Progress = Callable[[str], None]


@dataclass
class AdapterHandle:
    member: MemberConfig
    gateway: DocumentGateway
    server: grpc.aio.Server
    port: int
    nc: NATS
    mailbox: Mailbox
    # A postal member's worker and its channel to the operator's system.
    postal: tuple[PostalWorker, grpc.aio.Channel] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class Stack:
    """Everything `truc up` runs, with an orderly stop."""

    config: HubConfig
    data_dir: Path
    nats_url: str
    nats_monitor_url: str
    hub_signer: Signer
    ledger: Ledger
    executor: ThreadPoolExecutor
    hub_nc: NATS
    embedded: EmbeddedNats | None = None
    adapters: dict[str, AdapterHandle] = field(default_factory=dict)
    hub_stop: asyncio.Event = field(default_factory=asyncio.Event)
    hub_task: asyncio.Task[None] | None = None
    metrics: HubMetrics = field(default_factory=HubMetrics)
    ops: OpsCollector | None = None
    ops_stop: asyncio.Event = field(default_factory=asyncio.Event)
    ops_task: asyncio.Task[None] | None = None
    metrics_exporter: MetricsExporter | None = None
    dashboard: asyncio.Server | None = None
    dashboard_url: str = ""
    projections_task: asyncio.Task[None] | None = None
    transparency: TransparencyLog | None = None
    transparency_stop: asyncio.Event = field(default_factory=asyncio.Event)
    transparency_task: asyncio.Task[None] | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    intake: Intake | None = None
    keys_generation: int = 0
    # The stand-in for the postal operator's API, when the configuration names none.
    reference_postal: ReferencePostal | None = None
    # Population look-ups (issue 7): the reference register, the population members'
    # adapters, and the citizen vault (pseudonym secret, per-citizen keys).
    register: RegisterHandle | None = None
    population: dict[str, PopulationHandle] = field(default_factory=dict)
    vault: CitizenVault | None = None

    async def reload_keys(self) -> None:
        """Take key rotations and revocations (`truc keys`) into account without a restart:
        the hub judges with the new registry, adapters sign with their newest valid key, and
        the registry's changes are recorded in the ledger."""
        loop = asyncio.get_running_loop()
        signers = member_signers(self.config, self.data_dir)
        registry = build_registry(self.config, signers, self.data_dir)
        specs = member_specs(self.config, registry)
        change_id = "keys:" + hashlib.sha256(repr(specs).encode()).hexdigest()[:16]
        outcomes = await loop.run_in_executor(
            self.executor,
            functools.partial(
                self.ledger.sync_members,
                specs,
                change_id=change_id,
                received_at=iso_ms(SystemClock().now_ms()),
            ),
        )
        await _feed_outcomes(self.hub_nc, outcomes)
        if self.intake is not None:
            self.intake.use_registry(registry)
        for code, handle in self.adapters.items():
            if code in signers:
                handle.gateway.use_signer(signers[code])
        for code, population in self.population.items():
            if code in signers:
                population.responder.use_signer(signers[code])
        self.keys_generation += 1
        write_stack(self.data_dir, self.info(os.getpid()))

    def info(self, pid: int) -> StackInfo:
        return StackInfo(
            pid=pid,
            nats_url=self.nats_url,
            nats_monitor_url=self.nats_monitor_url,
            ledger=self.ledger.storage.describe(),
            ledger_env=self.ledger.storage.env() if self.config.ledger_backend == "sqlite" else {},
            hub_name=self.hub_signer.name,
            hub_key_id=self.hub_signer.key_id,
            grpc_tls=self.config.grpc_tls,
            keys_generation=self.keys_generation,
            tls_dir=str(self.config.tls_directory(self.data_dir)),
            members={
                code: MemberEndpoint(
                    code, a.member.name, a.member.kind, a.address, a.gateway.key_id
                )
                for code, a in self.adapters.items()
            }
            | {
                code: MemberEndpoint(code, p.name, "population", p.address, p.responder.key_id)
                for code, p in self.population.items()
            },
            nats_tls=self.config.nats_tls,
            hub_public_key=base64.b64encode(self.hub_signer.public_key).decode(),
            metrics_url=self.metrics_exporter.url if self.metrics_exporter else "",
            dashboard_url=self.dashboard_url,
        )

    async def stop_ops(self) -> None:
        """Stop the dashboard, the gauge refresher and the exporter. They read NATS and the
        ledger, so they stop before those do."""
        self.ops_stop.set()
        if self.dashboard is not None:
            self.dashboard.close()
            await self.dashboard.wait_closed()
            self.dashboard = None
        if self.ops_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ops_task, 10)
            self.ops_task = None
        if self.metrics_exporter is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.metrics_exporter.stop)
            self.metrics_exporter = None

    async def stop_hub(self) -> None:
        """Stop taking inbound messages; the batch in flight finishes and is acknowledged."""
        self.hub_stop.set()
        if self.hub_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.hub_task, 15)
            self.hub_task = None
        if self.projections_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.projections_task, 15)
            self.projections_task = None

    async def stop(self) -> None:
        await self.stop_ops()
        await _stop_member_adapters(self)
        await self.stop_hub()
        self.transparency_stop.set()
        if self.transparency_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.transparency_task, 15)
        if self.transparency is not None and self.transparency.lease is not None:
            await asyncio.to_thread(self.transparency.lease.release)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await jetstream.close(self.hub_nc)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, self.ledger.close)
        self.executor.shutdown(wait=True)
        if self.vault is not None:
            self.vault.close()
        if self.embedded is not None:
            await loop.run_in_executor(None, self.embedded.stop)
        remove_stack(self.data_dir)


async def _feed_outcomes(nc: NATS, outcomes: Sequence[Outcome]) -> None:
    """Put events the hub recorded itself (the registry's) on the ledger feed too, so the
    feed carries every recorded event, as monitors and mirrors expect."""
    entries = [e for o in outcomes if isinstance(o, Recorded) for e in o.entries]
    if entries:
        publisher = jetstream.JetStreamPublisher(nc.jetstream(), max_payload=nc.max_payload)
        await publisher.publish_all(feed_publications(entries))


def key_path(data_dir: Path, member: MemberConfig) -> Path:
    return member.private_key_file or data_dir / "keys" / f"{to_token(member.code)}.pem"


def member_signers(
    config: HubConfig, data_dir: Path, now_ms: int | None = None
) -> dict[str, Signer]:
    """Private keys the members' adapters here sign with now: for members without a configured
    public key, the newest key of their history (demo keys are made on first run)."""
    signers: dict[str, Signer] = {}
    store = KeyStore(data_dir / "keys")
    now = SystemClock().now_ms() if now_ms is None else now_ms
    for member in config.members:
        path = key_path(data_dir, member)
        if member.public_key is None and member.private_key_file is None:
            signers[member.code] = store.current(member.code, now)
        elif member.public_key is None:
            signers[member.code] = load_or_create_key(path, member.code, demo=True)
        elif path.exists():
            signer = load_key(path, member.code)
            if signer.public_key != member.public_key:
                raise ConfigError(
                    f"{path} does not match the public key configured for {member.code}"
                )
            signers[member.code] = signer
    return signers


def hub_signer(config: HubConfig, data_dir: Path) -> Signer:
    return load_or_create_key(data_dir / "keys" / "hub.pem", config.name, demo=True)


def nats_credentials(
    config: HubConfig, data_dir: Path
) -> tuple[auth.NatsCredentials, dict[str, auth.NatsCredentials]]:
    """The embedded server's users: the hub, and one least-privilege user per adapter."""
    secrets_dir = data_dir / "secrets"
    hub_user = auth.load_or_create(secrets_dir, auth.HUB_USER)
    adapters = {
        m.code: auth.load_or_create(
            secrets_dir, auth.adapter_user(m.code), auth.adapter_inbox_prefix(m.code)
        )
        for m in config.members
    }
    return hub_user, adapters


def member_specs(config: HubConfig, registry: Registry) -> list[MemberSpec]:
    """The configured registry as the ledger's Member aggregates record it: every change of
    members, keys or routes becomes an event, so the registry's history is auditable too."""

    def when(ms: int | None) -> str:
        return iso_ms(ms) if ms else ""

    return [
        MemberSpec(
            m.code,
            m.name,
            m.kind,
            keys=tuple(
                KeySpec(
                    k.key_id,
                    base64.b64encode(k.public_key).decode(),
                    when(k.valid_from_ms),
                    when(k.valid_until_ms),
                    when(k.revoked_from_ms),
                )
                for k in m.keys
            ),
            routes=tuple(
                RouteSpec(r.recipients, tuple(sorted(x.value for x in r.kinds)))
                for r in config.routes
                if fnmatch.fnmatchcase(m.code, r.senders)
            ),
        )
        for m in registry.members
    ]


def build_registry(
    config: HubConfig, signers: dict[str, Signer], data_dir: Path | None = None
) -> Registry:
    """Members with every key they ever had here and its validity (rotation, revocation)."""
    store = KeyStore(data_dir / "keys") if data_dir is not None else None
    members = []
    for m in config.members:
        keys: tuple[MemberKey, ...]
        if store is not None and m.public_key is None and m.private_key_file is None:
            keys = tuple(
                MemberKey(
                    r.key_id, r.public_key, r.valid_from_ms, r.valid_until_ms, r.revoked_from_ms
                )
                for r in store.records(m.code)
            )
        else:
            public_key = m.public_key or signers[m.code].public_key
            keys = (MemberKey(key_id(m.code, public_key), public_key),)
        members.append(Member(m.code, m.name, m.kind, keys))
    routes = [Route(r.senders, r.recipients, r.kinds, r.attributes) for r in config.routes]
    return Registry(members, routes)


async def start_stack(
    config: HubConfig,
    data_dir: Path,
    *,
    run_adapters: bool = True,
    run_followers: bool = True,
    progress: Progress = lambda _line: None,
    pid: int | None = None,
) -> Stack:
    """Start NATS (embedded unless configured), the ledger, the hub and the adapters, and
    (unless `run_followers` is False: `hub.followers`) the Merkle log, its checkpoints and
    proofs, and the read models."""
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, lambda: data_dir.mkdir(parents=True, exist_ok=True))
    embedded: EmbeddedNats | None = None
    nats_url = config.nats_url
    monitor_url = ""
    credentials = nats_credentials(config, data_dir) if not nats_url else None
    tls_files = TlsFiles(config.tls_directory(data_dir))
    nats_tls = client_context(tls_files) if config.nats_tls else None
    if not nats_url:
        assert credentials is not None
        hub_credentials, adapter_credentials = credentials
        embedded = EmbeddedNats(
            store_dir=data_dir / "nats",
            port=config.nats_port,
            monitor_port=config.nats_monitor_port,
            extra_config=auth.authorization_block(hub_credentials, adapter_credentials)
            + (nats_tls_block(tls_files) if nats_tls else ""),
        )
        await loop.run_in_executor(None, embedded.start)
        nats_url, monitor_url = embedded.url, embedded.monitor_url
        if embedded.port != config.nats_port:
            progress(
                f"port {config.nats_port} is taken: embedded NATS uses {embedded.port} instead"
            )
    signers = member_signers(config, data_dir)
    hub_key = hub_signer(config, data_dir)
    registry = build_registry(config, signers, data_dir)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")
    storage = config.storage(data_dir)
    ledger = await loop.run_in_executor(executor, Ledger, storage)
    specs = member_specs(config, registry)
    change_id = "config:" + hashlib.sha256(repr(specs).encode()).hexdigest()[:16]
    registry_outcomes = await loop.run_in_executor(
        executor,
        functools.partial(
            ledger.sync_members,
            specs,
            change_id=change_id,
            received_at=iso_ms(SystemClock().now_ms()),
        ),
    )
    transparency = (
        await open_transparency(config, data_dir, ledger, executor, hub_key)
        if run_followers
        else None
    )
    hub_nc = await jetstream.connect(
        nats_url, "truc-hub", credentials[0] if credentials else None, tls=nats_tls
    )
    js = hub_nc.jetstream()
    await jetstream.ensure_streams(js, config.stream_replicas)
    await jetstream.ensure_hub_consumer(js)
    await _feed_outcomes(hub_nc, registry_outcomes)
    for member in config.members:
        await jetstream.ensure_member_consumers(js, member.code)
        await ensure_bucket(js, member.code)
    codec = ProtobufCodec(hub_key)
    clock = SystemClock()
    vault = await loop.run_in_executor(None, CitizenVault, data_dir / "secrets")
    intake = Intake(registry, codec, clock, privacy=vault)
    service = HubService(
        intake=intake,
        record=ledger.record,
        codec=codec,
        publisher=jetstream.JetStreamPublisher(js, max_payload=hub_nc.max_payload),
        clock=clock,
        executor=executor,
    )
    stack = Stack(
        config=config,
        data_dir=data_dir,
        nats_url=nats_url,
        nats_monitor_url=monitor_url,
        hub_signer=hub_key,
        ledger=ledger,
        executor=executor,
        hub_nc=hub_nc,
        embedded=embedded,
        transparency=transparency,
        intake=intake,
        vault=vault,
    )
    if transparency is not None:
        stack.transparency_task = asyncio.create_task(transparency.run(stack.transparency_stop))
        stack.tasks.append(asyncio.create_task(serve_proofs(hub_nc, transparency)))
    sub = await js.pull_subscribe_bind(durable=subjects.HUB_CONSUMER, stream=subjects.IN_STREAM)

    def _observe(report: BatchReport) -> None:
        if transparency is not None:
            transparency.poke()
        observe_batch(stack.metrics, report)
        for m in report.messages:
            if m.outcome == "rejected":
                log.info(
                    "refused: %s",
                    m.reason,
                    extra={"message_id": m.message_id or None, "member": m.member or None},
                )
        log.debug(
            "batch: %d accepted (%d duplicates), %d refused, %d published",
            report.accepted,
            report.duplicates,
            report.rejected,
            report.published,
        )

    consumer = InboundConsumer(service, _observe)

    async def consume() -> None:
        await jetstream.pull_loop(
            sub,
            consumer.handle,
            stack.hub_stop,
            batch=config.batch_size,
            name="hub",
            auto_ack=False,
        )
        await consumer.drain()

    stack.hub_task = asyncio.create_task(consume())
    if run_followers:
        views = await loop.run_in_executor(executor, Views, ledger)
        stack.projections_task = asyncio.create_task(
            ProjectionsRunner(views, executor).run(stack.hub_stop)
        )
    else:
        progress("followers: not here (run `truc up --role followers` beside this hub)")
    progress(f"hub {hub_key.name} (key {hub_key.key_id}) consuming {subjects.IN_ALL} on {nats_url}")
    progress(f"ledger: {storage.describe()}")
    await start_ops(stack, js, progress)
    if run_adapters:
        await _start_member_adapters(
            stack,
            signers,
            credentials[1] if credentials else None,
            nats_tls,
            tls_files,
            progress,
        )
    write_stack(data_dir, stack.info(pid or os.getpid()))
    return stack


async def _start_member_adapters(
    host: Stack | AdapterGroup,
    signers: dict[str, Signer],
    credentials: dict[str, auth.NatsCredentials] | None,
    nats_tls: ssl.SSLContext | None,
    tls_files: TlsFiles,
    progress: Progress,
) -> None:
    """One adapter per member whose private key is here, with what each kind needs: the
    reference postal service for a postal member (when no operator is configured) and the
    reference register for the population member. Shared by `--role all` and `--role
    adapters`, so both start exactly the same adapters."""
    config, hub_key = host.config, host.hub_signer
    postal_url = config.postal_operator_url
    if not postal_url and any(m.kind == "postal" and m.code in signers for m in config.members):
        host.reference_postal = await start_reference_postal(
            host.data_dir / "postal-reference" / "orders.sqlite3",
            ReferenceSettings(
                step_seconds=config.postal_step_seconds,
                fail_rate=config.postal_fail_rate,
                lose_replies=config.postal_lose_replies,
            ),
            SystemClock().now_ms,
        )
        postal_url = host.reference_postal.url
        progress(f"reference postal service (stands in for the operator's API): gRPC {postal_url}")
    population_member = next((m.code for m in config.members if m.kind == "population"), "")
    for member in config.members:
        if member.code not in signers:
            progress(f"{member.code}: no private key here; its adapter runs elsewhere")
            continue
        member_credentials = credentials[member.code] if credentials else None
        if member.kind == "population":
            await _start_population(
                host, member, signers[member.code], member_credentials, progress
            )
            continue
        handle = await start_adapter(
            member,
            signers[member.code],
            hub_key.public_key,
            host.nats_url,
            host.data_dir,
            credentials=member_credentials,
            hub_name=hub_key.name,
            nats_tls=nats_tls,
            grpc_tls=config.grpc_tls,
            tls_files=tls_files,
            postal_operator_url=postal_url,
            population_member=population_member,
        )
        host.adapters[member.code] = handle
        progress(f"adapter {member.code} ({member.name}): gRPC {handle.address}")


async def _stop_member_adapters(host: Stack | AdapterGroup) -> None:
    """Stop taking gRPC calls, let the pull loops finish and ack, then disconnect."""
    for handle in host.adapters.values():
        if handle.postal is not None:
            await handle.postal[0].stop()
            await handle.postal[1].close()
        await handle.server.stop(grace=2)
        await handle.gateway.stop()
        await jetstream.close(handle.nc)
        handle.mailbox.close()
    host.adapters.clear()
    if host.reference_postal is not None:
        await host.reference_postal.stop()
        host.reference_postal = None
    for population in host.population.values():
        await population.stop()
    host.population.clear()
    if host.register is not None:
        await host.register.stop()
        host.register = None


async def _start_population(
    stack: Stack | AdapterGroup,
    member: MemberConfig,
    signer: Signer,
    credentials: auth.NatsCredentials | None,
    progress: Progress,
) -> None:
    """The population member's adapter, answering from the reference register (started
    with it, once: it is synthetic and stands in for the national population database)."""
    config = stack.config
    if stack.register is None:
        stack.register = await open_register(
            stack.data_dir,
            citizens=config.population_citizens,
            seed=config.population_seed,
            port=config.population_register_port,
        )
        progress(
            f"population register (synthetic, {stack.register.store.count()} citizens; stands"
            f" in for the national database): gRPC {stack.register.address}"
        )
    handle = await start_population_adapter(
        code=member.code,
        name=member.name,
        grpc_port=member.grpc_port,
        signer=signer,
        hub_public_key=stack.hub_signer.public_key,
        nats_url=stack.nats_url,
        register_address=stack.register.address,
        credentials=credentials,
        nats_tls=client_context(TlsFiles(config.tls_directory(stack.data_dir)))
        if config.nats_tls
        else None,
    )
    stack.population[member.code] = handle
    progress(f"adapter {member.code} ({member.name}, population): gRPC {handle.address}")


@dataclass
class AdapterGroup:
    """`truc up --role adapters`: the members' adapters alone, in their own process, talking
    to a hub that runs elsewhere (another process or machine) through NATS only."""

    config: HubConfig
    data_dir: Path
    nats_url: str
    hub_signer: Signer
    adapters: dict[str, AdapterHandle] = field(default_factory=dict)
    reference_postal: ReferencePostal | None = None
    register: RegisterHandle | None = None
    population: dict[str, PopulationHandle] = field(default_factory=dict)

    def info(self, pid: int) -> StackInfo:
        storage = self.config.storage(self.data_dir)
        return StackInfo(
            pid=pid,
            nats_url=self.nats_url,
            nats_monitor_url="",
            ledger=storage.describe(),
            ledger_env=storage.env() if self.config.ledger_backend == "sqlite" else {},
            hub_name=self.hub_signer.name,
            hub_key_id=self.hub_signer.key_id,
            grpc_tls=self.config.grpc_tls,
            tls_dir=str(self.config.tls_directory(self.data_dir)),
            members={
                code: MemberEndpoint(
                    code, a.member.name, a.member.kind, a.address, a.gateway.key_id
                )
                for code, a in self.adapters.items()
            },
            nats_tls=self.config.nats_tls,
            hub_public_key=base64.b64encode(self.hub_signer.public_key).decode(),
        )

    async def stop(self) -> None:
        """Stop accepting gRPC calls, let the pull loops finish and ack, then disconnect."""
        await _stop_member_adapters(self)
        remove_stack(self.data_dir)


async def start_adapters(
    config: HubConfig,
    data_dir: Path,
    *,
    progress: Progress = lambda _line: None,
    pid: int | None = None,
    members: Sequence[str] = (),
) -> AdapterGroup:
    """Start one adapter per member whose private key is here (only `members`, when given),
    against `config.nats_url` (or, when that is empty, the embedded NATS of a hub running on
    the same data directory, with the least-privilege users it provisioned).

    Adapters started for chosen members leave the data directory's `run/stack.json` as it
    is: several such processes run side by side (one per agency, as in production), and
    none of them is the stack the CLI should find."""
    nats_url = role_nats_url(config.nats_url, data_dir, "adapters")
    credentials: dict[str, auth.NatsCredentials] | None = None
    if not config.nats_url:
        credentials = nats_credentials(config, data_dir)[1]
    tls_files = TlsFiles(config.tls_directory(data_dir))
    nats_tls = client_context(tls_files) if config.nats_tls else None
    signers = member_signers(config, data_dir)
    if members:
        unknown = [m for m in members if m not in signers]
        if unknown:
            raise ConfigError(
                f"--member: {', '.join(unknown)} is not a member whose key is here "
                f"(members with keys: {', '.join(sorted(signers)) or 'none'})"
            )
        signers = {code: signer for code, signer in signers.items() if code in members}
    hub_key = hub_signer(config, data_dir)
    group = AdapterGroup(config, data_dir, nats_url, hub_key)
    try:
        await _start_member_adapters(group, signers, credentials, nats_tls, tls_files, progress)
    except BaseException:
        await group.stop()
        raise
    if not members:
        write_stack(data_dir, group.info(pid or os.getpid()))
    return group


async def start_ledger_followers(
    config: HubConfig, data_dir: Path, *, progress: Progress = lambda _line: None
) -> FollowerGroup:
    """`truc up --role followers`: the Merkle log, checkpoints, proofs and read models apart
    from the hub (`hub.followers`), signing with the hub's key and, on the embedded NATS of
    a hub on this data directory, connecting as the hub's NATS user."""
    nats_url = role_nats_url(config.nats_url, data_dir, "followers")  # before any secret
    credentials = nats_credentials(config, data_dir)[0] if not config.nats_url else None
    return await start_followers(
        config, data_dir, nats_url, hub_signer(config, data_dir), credentials, progress=progress
    )


async def start_ops(stack: Stack, js: JetStreamContext, progress: Progress) -> None:
    """The ops side: a collector for the status snapshot, a task keeping the Prometheus
    gauges fresh, and (when configured) the metrics exporter and the web dashboard."""
    config = stack.config
    stack.ops = OpsCollector(
        js,
        hub_name=stack.hub_signer.name,
        ledger=stack.ledger,
        notifications=ledger_notifications(stack.ledger),
        checkpoint=ledger_checkpoint_source(stack.ledger, log_name=stack.hub_signer.name),
        checkpoint_error=lambda: stack.transparency.last_error if stack.transparency else None,
    )
    stack.ops_task = asyncio.create_task(
        refresh_status(stack.metrics, stack.ops.status, stack.ops_stop)
    )
    if config.metrics_port is not None:
        port = choose_port(config.metrics_port)
        loop = asyncio.get_running_loop()
        stack.metrics_exporter = await loop.run_in_executor(
            None, start_exporter, stack.metrics, config.metrics_host, port
        )
        taken = f" ({config.metrics_port} is taken)" if port != config.metrics_port else ""
        progress(f"metrics: {stack.metrics_exporter.url}{taken}")
    if config.dashboard_port is not None:
        port = choose_port(config.dashboard_port)
        server, bound = await start_dashboard(
            config.dashboard_host,
            port,
            stack.ops.summary,
            token=config.dashboard_token or None,
            metrics=stack.metrics.exposition,
        )
        host = config.dashboard_host
        shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        stack.dashboard = server
        stack.dashboard_url = f"http://{f'[{shown}]' if ':' in shown else shown}:{bound}/"
        taken = f" ({config.dashboard_port} is taken)" if port != config.dashboard_port else ""
        progress(f"dashboard: {stack.dashboard_url}{taken}")


def dossier_service(
    gateway: DocumentGateway, client_common_name: str | None
) -> tuple[str, Callable[[grpc.aio.Server], None]]:
    """The DossierService a one-stop system calls on a dossier member's adapter."""
    servicer = DossierServicer(gateway, client_common_name)
    return (
        DOSSIER_SERVICE,
        lambda s: dossier_pb2_grpc.add_DossierServiceServicer_to_server(servicer, s),
    )


async def start_adapter(
    member: MemberConfig,
    signer: Signer,
    hub_public_key: bytes,
    nats_url: str,
    data_dir: Path,
    *,
    credentials: auth.NatsCredentials | None = None,
    hub_name: str = "",
    nats_tls: ssl.SSLContext | None = None,
    grpc_tls: str = "off",
    tls_files: TlsFiles | None = None,
    host: str = "127.0.0.1",
    postal_operator_url: str = "",
    population_member: str = "",
) -> AdapterHandle:
    """One member's document adapter: its own NATS connection (with its own least-privilege
    user when the hub provisions NATS), mailbox and gRPC server."""
    nc = await jetstream.connect(
        nats_url, f"truc-adapter-{to_token(member.code)}", credentials, tls=nats_tls
    )
    mailbox = Mailbox(data_dir / "adapters" / to_token(member.code) / "mailbox.sqlite3")
    gateway = DocumentGateway(
        member=member.code,
        signer=signer,
        hub_public_key=hub_public_key,
        nc=nc,
        mailbox=mailbox,
        clock=SystemClock(),
        hub_name=hub_name,
    )
    await gateway.start()
    server_credentials_ = None
    if grpc_tls != "off":
        assert tls_files is not None
        tls_files.require(tls_files.server_cert, tls_files.server_key, tls_files.ca)
        server_credentials_ = server_credentials(
            cert=tls_files.server_cert.read_bytes(),
            key=tls_files.server_key.read_bytes(),
            client_ca=tls_files.ca.read_bytes() if grpc_tls == "mutual" else None,
        )
    servicer = DocumentExchangeServicer(
        gateway, client_common_name=member.code if grpc_tls == "mutual" else None
    )
    lookups = PopulationLookupServicer(
        gateway,
        population_member,
        client_common_name=member.code if grpc_tls == "mutual" else None,
    )
    services = [
        (
            DOCUMENT_SERVICE,
            lambda s: exchange_pb2_grpc.add_DocumentExchangeServicer_to_server(servicer, s),
        )
    ]
    services.append(
        (
            LOOKUP_SERVICE,
            lambda s: population_pb2_grpc.add_PopulationLookupServicer_to_server(lookups, s),
        )
    )
    if member.kind == "dossier":
        services.append(dossier_service(gateway, member.code if grpc_tls == "mutual" else None))
    server, port = await start_server(
        credentials=server_credentials_,
        host=host,
        port=choose_port(member.grpc_port),
        services=services,
    )
    handle = AdapterHandle(member, gateway, server, port, nc, mailbox)
    if member.kind == "postal":
        if not postal_operator_url:
            raise ConfigError(f"{member.code}: a postal adapter needs [postal] operator_url")
        handle.postal = await start_postal_worker(
            gateway, data_dir, postal_operator_url, to_token(member.code)
        )
    return handle
