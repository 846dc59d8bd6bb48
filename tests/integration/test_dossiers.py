"""The issue's end-to-end test: a dossier received at a commune, transferred to the province,
supplement requested and supplied, finished, its result returned by post, on real parts (a
nats-server, the hub, the SQLite ledger, the adapters' gRPC over loopback, the reference
postal service over gRPC with a lost reply injected)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import pytest_asyncio

from adapters.nats.embedded import EmbeddedNats
from adapters.pb.truc.v1 import dossier_pb2, dossier_pb2_grpc, postal_pb2
from hub.bootstrap import Stack, start_stack
from hub.config import HubConfig, parse_config
from hub.model import Kind
from ledger.dossier import Dossier, dossier_aggregate_id
from ledger.refusal import refusal_aggregate_id
from tests.support import POST, eventually

COMMUNE, PROVINCE = "000.01.01.H49", "000.00.01.H49"
CODE = "000.01.01.H49-260428-0001"


def dossier_config(nats_url: str, **postal: object) -> HubConfig:
    return parse_config(
        {
            "hub": {"name": "truc.test", "nats_url": nats_url},
            "ledger": {"backend": "sqlite"},
            "members": [
                {"code": COMMUNE, "name": "UBND phường Hồng Gai", "kind": "dossier"},
                {"code": PROVINCE, "name": "Trung tâm PVHCC Quảng Ninh", "kind": "dossier"},
                {"code": POST, "name": "Bưu điện Việt Nam", "kind": "postal"},
            ],
            "routes": [
                {"senders": "000.*", "recipients": "000.*", "kinds": ["dossier"]},
                {"senders": "000.*", "recipients": POST, "kinds": ["postal"]},
                {"senders": POST, "recipients": "000.*", "kinds": ["postal"]},
            ],
            "postal": {"step_seconds": 0.2, **postal},
            "transparency": {"every_leaves": 1000, "every_seconds": 5},
        },
        "<dossier test>",
    )


@pytest_asyncio.fixture
async def dossier_stack(nats_server: EmbeddedNats, tmp_path: Path) -> AsyncIterator[Stack]:
    # The operator's first reply is lost after it stored the order: the retry must not
    # create a second one.
    running = await start_stack(dossier_config(nats_server.url, lose_replies=1), tmp_path / "d")
    try:
        yield running
    finally:
        await running.stop()


def stub(stack: Stack, member: str) -> dossier_pb2_grpc.DossierServiceStub:
    return dossier_pb2_grpc.DossierServiceStub(
        grpc.aio.insecure_channel(stack.adapters[member].address)
    )


def paper(name: str) -> dossier_pb2.Paper:
    content = f"scan of {name}".encode()
    return dossier_pb2.Paper(name=name, sha256=hashlib.sha256(content).digest(), size=len(content))


def request(at: str, message_id: str = "", **action: object) -> dossier_pb2.DossierRequest:
    event = dossier_pb2.DossierEvent(code=CODE, at=at, officer="Trần Thị B", **action)  # type: ignore[arg-type]
    return dossier_pb2.DossierRequest(event=event, wait_for_receipt=True, message_id=message_id)


async def refused(call: object, code: grpc.StatusCode, reason: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call  # type: ignore[misc]
    assert raised.value.code() == code, raised.value.details()
    assert reason in (raised.value.details() or "")


async def test_a_dossier_goes_commune_to_province_and_its_result_home_by_post(
    dossier_stack: Stack,
) -> None:
    stack = dossier_stack
    commune, province = stub(stack, COMMUNE), stub(stack, PROVINCE)
    # Received at the commune on Tuesday 28/4/2026, three working days: 30/4 and 1/5 are
    # holidays and 2-3/5 a weekend, so the result is due on Tuesday 5/5.
    received = await commune.Receive(
        request(
            "20260428090000",
            received=dossier_pb2.DossierReceived(
                procedure_code="1.001234.000.00.00.H49",
                procedure_name="Cấp giấy phép xây dựng",
                owner="Nguyễn Văn A",
                channel=1,
                working_days=3,
                documents=[paper("don_de_nghi.pdf")],
                fees=[dossier_pb2.Fee(name="Lệ phí", amount=50_000)],
            ),
        ),
        timeout=20,
    )
    assert received.recorded and received.ledger_position > 0
    assert stack.ledger.dossier(CODE).due_date == "2026-05-05"

    await commune.Transfer(
        request(
            "20260428100000",
            transferred=dossier_pb2.Transfer(to_agency=PROVINCE, reason="thẩm quyền tỉnh"),
        ),
        timeout=20,
    )

    async def inbox(s: dossier_pb2_grpc.DossierServiceStub) -> list[dossier_pb2.DossierInboxItem]:
        return [
            i async for i in s.Inbox(dossier_pb2.DossierInboxRequest(include_acknowledged=True))
        ]

    items = await eventually(lambda: inbox(province), what="the transfer at the province")
    assert items[0].sender == COMMUNE and items[0].event.transferred.to_agency == PROVINCE
    await province.AckInbox(dossier_pb2.DossierAckInboxRequest(delivery_id=items[0].delivery_id))

    # The commune, no longer the holder, cannot act; the refusal is recorded in the ledger.
    wrong = str(uuid.uuid4())
    await refused(
        commune.Act(request("20260429080000", wrong, processing=dossier_pb2.Reason()), timeout=20),
        grpc.StatusCode.PERMISSION_DENIED,
        "not_the_holder",
    )
    assert stack.ledger.repository.get(refusal_aggregate_id(wrong)).reason_code == "not_the_holder"

    await province.RequestSupplement(
        request(
            "20260429090000",
            supplement_requested=dossier_pb2.SupplementRequest(papers=["bản vẽ thiết kế"]),
        ),
        timeout=20,
    )
    assert stack.ledger.dossier(CODE).paused_since == "2026-04-29"
    # The citizen brings the papers on Tuesday 5/5: two working days waited (4/5, 5/5).
    await province.SupplySupplement(
        request(
            "20260505090000",
            supplement_supplied=dossier_pb2.Papers(documents=[paper("ban_ve.pdf")]),
        ),
        timeout=20,
    )
    dossier = stack.ledger.dossier(CODE)
    assert (dossier.paused_working_days, dossier.due_date) == (2, "2026-05-07")

    # An illegal transition: a supplement supplied again while processing.
    again = str(uuid.uuid4())
    await refused(
        province.SupplySupplement(
            request("20260506090000", again, supplement_supplied=dossier_pb2.Papers()),
            timeout=20,
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "illegal_transition",
    )
    assert stack.ledger.repository.get(refusal_aggregate_id(again)).reason_code == (
        "illegal_transition"
    )

    # Finished on 7/5: on time only because the clock stopped during the supplement.
    await province.Act(request("20260507150000", finished=dossier_pb2.Reason()), timeout=20)
    assert stack.ledger.dossier(CODE).verdict == "on_time"

    # The commune that received it has the result delivered by post.
    order_id = f"{CODE}:result"
    await commune.OrderPostal(
        dossier_pb2.PostalOrderRequest(
            order=postal_pb2.PostalOrder(
                order_id=order_id,
                kind=postal_pb2.ORDER_KIND_DELIVERY,
                dossier_code=CODE,
                customer_code="QN-HONGGAI",
                receiver=postal_pb2.Address(
                    name="Nguyễn Văn A", phone="0912345678", province="Quảng Ninh"
                ),
                operator=POST,
            ),
            wait_for_receipt=True,
        ),
        timeout=20,
    )
    await eventually(
        lambda: stack.ledger.dossier(CODE).status == 10, within=30, what="the result delivered"
    )
    dossier = stack.ledger.dossier(CODE)
    assert dossier.orders[order_id]["state"] == 3
    # The lost reply was retried with the same idempotency key: one order at the operator.
    reference = stack.reference_postal
    assert reference is not None
    assert reference.service.store.count() == 1 and reference.service.create_calls >= 2
    postal = stack.adapters[POST].postal
    assert postal is not None and postal[0].failures >= 1
    # The postal service heard of its order only, not of the dossier's other acts.
    kinds = [r.kind for r in stack.adapters[POST].mailbox.inbox(include_acknowledged=True)]
    assert kinds == ["postal"]
    # Every act is on the Dossier aggregate, in order.
    names = [type(e).__qualname__ for _, e in stack.ledger.history(Dossier.create_id(CODE))]
    assert names[:3] == ["Dossier.Received", "Dossier.Transferred", "Dossier.StatusChanged"]
    assert "Dossier.ClockPaused" in names and "Dossier.ClockResumed" in names
    assert names[-2:] == ["Dossier.PostalTracked", "Dossier.StatusChanged"]

    # The commune heard of the tracking, the province of every act after the transfer.
    # The ledger records the delivery before the commune's adapter has it: wait for it.
    async def delivered_tracking() -> bool:
        items = await inbox(commune)
        return 3 in {i.postal.tracking.state for i in items if i.WhichOneof("body") == "postal"}

    await eventually(delivered_tracking, what="the delivered tracking at the commune")
    trace = await province.Get(dossier_pb2.GetDossierRequest(code=CODE))
    assert [e.event.WhichOneof("action") for e in trace.entries][:2] == [
        "transferred",
        "supplement_requested",
    ]


async def test_bad_dossier_input_is_refused_before_it_leaves(dossier_stack: Stack) -> None:
    commune = stub(dossier_stack, COMMUNE)
    cases = [
        (
            request(
                "2026-04-28", received=dossier_pb2.DossierReceived(procedure_code="p", channel=1)
            ),
            "event.at",
        ),
        (
            request(
                "20260428090000",
                received=dossier_pb2.DossierReceived(procedure_code="p", channel=7),
            ),
            "received.channel",
        ),
        (request("20260428090000", processing=dossier_pb2.Reason()), "event.action: Receive takes"),
    ]
    for req, reason in cases:
        await refused(commune.Receive(req, timeout=10), grpc.StatusCode.INVALID_ARGUMENT, reason)
    bad_code = dossier_pb2.DossierRequest(
        event=dossier_pb2.DossierEvent(code="H49-2026", finished=dossier_pb2.Reason())
    )
    await refused(commune.Act(bad_code, timeout=10), grpc.StatusCode.INVALID_ARGUMENT, "code")
    await refused(
        commune.Act(request("20260428090000", finished=dossier_pb2.Reason()), timeout=20),
        grpc.StatusCode.NOT_FOUND,
        "unknown_dossier",
    )


async def test_a_message_id_given_again_to_another_act_is_refused(dossier_stack: Stack) -> None:
    commune = stub(dossier_stack, COMMUNE)
    message_id = str(uuid.uuid4())
    receive = request(
        "20260428090000",
        message_id,
        received=dossier_pb2.DossierReceived(
            procedure_code="1.001234.000.00.00.H49", owner="Nguyễn Văn A", channel=1
        ),
    )
    first = await commune.Receive(receive, timeout=20)
    assert (await commune.Receive(receive, timeout=20)).message_id == first.message_id
    other = request("20260428100000", message_id, processing=dossier_pb2.Reason(text="xử lý"))
    await refused(
        commune.Act(other, timeout=20),
        grpc.StatusCode.ALREADY_EXISTS,
        f"message_id: {message_id} was already used for another message",
    )


async def test_a_member_the_policy_does_not_let_send_dossiers_cannot_open_one(
    dossier_stack: Stack,
) -> None:
    gateway = dossier_stack.adapters[POST].gateway
    event = dossier_pb2.DossierEvent(
        code="BCCI.VNPOST-260428-0001",
        received=dossier_pb2.DossierReceived(procedure_code="p", channel=1),
    )
    sent = await gateway.send(
        kind=Kind.DOSSIER,
        recipients=[],
        document_id=str(dossier_aggregate_id(event.code)),
        payload=event.SerializeToString(deterministic=True),
    )
    receipt = await gateway.wait_receipt(sent, 20)
    assert receipt is not None and not receipt.accepted
    assert receipt.reject_code == "route_not_allowed"
    assert receipt.reject_reason.startswith("header.sender: BCCI.VNPOST may not send dossier")
    refusal = dossier_stack.ledger.repository.get(refusal_aggregate_id(sent))
    assert refusal.reason_code == "route_not_allowed"
