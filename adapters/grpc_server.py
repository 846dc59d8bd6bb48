"""Every gRPC server Truc runs gets health checking and server reflection, so stock tools
(grpcurl, grpc_health_probe) and other languages' clients can find and call the services."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class ServerStartError(Exception):
    """A gRPC server could not bind its address."""


async def start_server(
    *,
    host: str,
    port: int,
    services: Sequence[tuple[str, Callable[[grpc.aio.Server], None]]],
    credentials: grpc.ServerCredentials | None = None,
) -> tuple[grpc.aio.Server, int]:
    """Start a server with `services` (full name, registration function); return it and its port."""
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ]
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for _, register in services:
        register(server)
    names = [name for name, _ in services]
    reflection.enable_server_reflection(
        [
            *names,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ],
        server,
    )
    try:
        address = f"{host}:{port}"
        bound = (
            server.add_secure_port(address, credentials)
            if credentials is not None
            else server.add_insecure_port(address)
        )
    except RuntimeError as error:
        raise ServerStartError(f"cannot listen on {host}:{port}: {error}") from error
    if bound == 0:
        raise ServerStartError(f"cannot listen on {host}:{port}")
    await server.start()
    for name in names:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    return server, bound


def server_credentials(
    *, cert: bytes, key: bytes, client_ca: bytes | None
) -> grpc.ServerCredentials:
    """TLS for a gRPC server; with `client_ca`, clients must present a certificate it signed."""
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )
