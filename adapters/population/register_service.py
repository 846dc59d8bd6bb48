"""The reference register's own gRPC service (PopulationRegister), and its client.

The population adapter talks to the register only through this service, as it would talk
to the real national database's interface: swapping the synthetic register for a bridge to
the real one changes an address, not the adapter.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc

from adapters.grpc_server import start_server
from adapters.pb.truc.v1 import population_pb2, population_pb2_grpc
from adapters.population.register import RegisterStore

REGISTER_SERVICE = population_pb2.DESCRIPTOR.services_by_name["PopulationRegister"].full_name


class PopulationRegisterServicer(population_pb2_grpc.PopulationRegisterServicer):
    def __init__(self, store: RegisterStore) -> None:
        self._store = store

    async def Verify(
        self, request: population_pb2.RegisterVerifyRequest, context: grpc.aio.ServicerContext
    ) -> population_pb2.RegisterVerifyResponse:
        matched, attributes = await asyncio.get_running_loop().run_in_executor(
            None,
            self._store.verify,
            request.id_number,
            request.full_name,
            request.date_of_birth,
            list(request.attributes),
        )
        return population_pb2.RegisterVerifyResponse(matched=matched, attributes=attributes)


@dataclass
class RegisterHandle:
    store: RegisterStore
    server: grpc.aio.Server
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def stop(self) -> None:
        await self.server.stop(grace=1)
        self.store.close()


async def start_register(store: RegisterStore, port: int = 0) -> RegisterHandle:
    servicer = PopulationRegisterServicer(store)
    server, bound = await start_server(
        host="127.0.0.1",
        port=port,
        services=[
            (
                REGISTER_SERVICE,
                lambda s: population_pb2_grpc.add_PopulationRegisterServicer_to_server(servicer, s),
            )
        ],
    )
    return RegisterHandle(store, server, bound)


class RegisterClient:
    """The population adapter's view of the register: one call, with a deadline."""

    def __init__(self, address: str, timeout: float = 5.0) -> None:
        self._channel = grpc.aio.insecure_channel(address)
        self._stub = population_pb2_grpc.PopulationRegisterStub(self._channel)
        self._timeout = timeout

    async def verify(
        self, id_number: str, full_name: str, date_of_birth: str, attributes: list[str]
    ) -> tuple[bool, dict[str, str]]:
        reply = await self._stub.Verify(
            population_pb2.RegisterVerifyRequest(
                id_number=id_number,
                full_name=full_name,
                date_of_birth=date_of_birth,
                attributes=attributes,
            ),
            timeout=self._timeout,
        )
        return reply.matched, dict(reply.attributes)

    async def close(self) -> None:
        await self._channel.close()
