"""TLS on NATS and mutual TLS between agency systems and their adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import nats
import pytest
import pytest_asyncio
from typer.testing import CliRunner

from adapters.pb.truc.v1 import document_pb2, exchange_pb2, exchange_pb2_grpc
from adapters.tls import TlsFiles, create_all
from hub.bootstrap import Stack, start_stack
from hub.cli.main import app
from tests.support import G15, G22, H49, POST, eventually, make_config

TLS = {"nats": True, "grpc": "mutual"}


@pytest_asyncio.fixture
async def tls_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    data = tmp_path / "data"
    create_all(TlsFiles(data / "certs"), [G22, G15, H49, POST], ["127.0.0.1", "localhost"])
    running = await start_stack(make_config("", tls=TLS), data)
    try:
        yield running
    finally:
        await running.stop()


def _stub(
    stack: Stack, adapter: str, as_member: str | None
) -> exchange_pb2_grpc.DocumentExchangeStub:
    files = TlsFiles(stack.data_dir / "certs")
    if as_member is None:
        credentials = grpc.ssl_channel_credentials(root_certificates=files.ca.read_bytes())
    else:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=files.ca.read_bytes(),
            private_key=files.client_key(as_member).read_bytes(),
            certificate_chain=files.client_cert(as_member).read_bytes(),
        )
    channel = grpc.aio.secure_channel(stack.adapters[adapter].address, credentials)
    return exchange_pb2_grpc.DocumentExchangeStub(channel)


def _request() -> exchange_pb2.SendDocumentRequest:
    return exchange_pb2.SendDocumentRequest(
        recipients=[H49], document=document_pb2.Document(subject="Qua TLS"), wait_for_receipt=True
    )


async def test_the_members_own_agency_system_sends_over_mutual_tls(tls_stack: Stack) -> None:
    sent = await _stub(tls_stack, G22, G22).SendDocument(_request(), timeout=20)
    assert sent.recorded
    await eventually(lambda: tls_stack.adapters[H49].mailbox.inbox(), what="delivery over TLS NATS")


async def test_another_members_certificate_is_refused(tls_stack: Stack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await _stub(tls_stack, G22, H49).SendDocument(_request(), timeout=10)
    assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.value.details() == f"client certificate CN {H49} is not {G22}"


async def test_no_client_certificate_no_connection(tls_stack: Stack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await _stub(tls_stack, G22, None).SendDocument(_request(), timeout=10)
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_plaintext_nats_clients_are_refused(tls_stack: Stack) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the server demands TLS
        await nats.connect(tls_stack.nats_url, allow_reconnect=False, connect_timeout=2)


def test_truc_certs_writes_a_ca_server_and_client_certificates(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["certs", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    files = TlsFiles(tmp_path / "certs")
    for path in (files.ca, files.server_cert, files.client_cert(G22), files.client_cert(POST)):
        assert path.exists() and str(path) in result.stdout
    assert oct(files.server_key.stat().st_mode)[-3:] == "600"
