"""Starting the population side for the composition root (hub/bootstrap.py): the reference
register's gRPC server, and the population member's adapter (its own NATS connection, the
responder, and a gRPC server with health and reflection for probes)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import grpc
from nats.aio.client import Client as NATS

from adapters.crypto import Signer
from adapters.grpc_server import start_server
from adapters.nats import auth, jetstream
from adapters.nats.embedded import choose_port
from adapters.population.register import RegisterStore
from adapters.population.register_service import RegisterClient, RegisterHandle, start_register
from adapters.population.responder import PopulationResponder
from hub.ports import SystemClock
from ledger.agency import to_token

__all__ = ["PopulationHandle", "RegisterHandle", "open_register", "start_population_adapter"]


@dataclass
class PopulationHandle:
    code: str
    name: str
    responder: PopulationResponder
    register: RegisterClient
    server: grpc.aio.Server
    port: int
    nc: NATS

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def stop(self) -> None:
        await self.server.stop(grace=1)
        await self.responder.stop()
        await self.register.close()
        await jetstream.close(self.nc)


async def open_register(data_dir: Path, *, citizens: int, seed: int, port: int) -> RegisterHandle:
    """The synthetic reference register (filled on first start) on its own gRPC port."""
    store = RegisterStore(
        data_dir / "population" / "register.sqlite3", citizens=citizens, seed=seed
    )
    return await start_register(store, choose_port(port))


async def start_population_adapter(
    *,
    code: str,
    name: str,
    grpc_port: int,
    signer: Signer,
    hub_public_key: bytes,
    nats_url: str,
    register_address: str,
    credentials: auth.NatsCredentials | None = None,
    nats_tls: ssl.SSLContext | None = None,
) -> PopulationHandle:
    nc = await jetstream.connect(
        nats_url, f"truc-adapter-{to_token(code)}", credentials, tls=nats_tls
    )
    register = RegisterClient(register_address)
    responder = PopulationResponder(
        member=code,
        signer=signer,
        hub_public_key=hub_public_key,
        nc=nc,
        verify=register.verify,
        clock=SystemClock(),
    )
    await responder.start()
    server, port = await start_server(host="127.0.0.1", port=choose_port(grpc_port), services=[])
    return PopulationHandle(code, name, responder, register, server, port, nc)
