"""Look-up payloads on the wire (population.proto): building them, and checking them with
errors that name the field but never echo a number or a name.

The same checks run in the asking adapter (before anything leaves it) and in the hub (which
trusts no adapter), so a bad look-up is refused at the first place that sees it.
"""

from __future__ import annotations

import secrets
from datetime import date

from google.protobuf.message import DecodeError

from adapters.ids import is_uuid
from adapters.pb.truc.v1 import population_pb2
from hub.errors import MalformedMessage
from hub.model import Kind, LookupFacts, Opened, PayloadFacts
from ledger.citizen_id import InvalidCitizenId, check_attributes, check_citizen, parse_citizen_id

NONCE_BYTES = 16
MAX_NAME = 100
MAX_TEXT = 500


def _text(value: str, field: str, limit: int, required: bool = True) -> None:
    if required and not value.strip():
        raise MalformedMessage(field, "is mandatory")
    if len(value) > limit:
        raise MalformedMessage(field, f"at most {limit} characters")


def check_request(request: population_pb2.LookupRequest | population_pb2.VerifyRequest) -> None:
    """Every field of a look-up, as the asker gave it."""
    try:
        check_citizen(request.id_number, request.date_of_birth, today=date.today())
        check_attributes(list(request.attributes))
    except InvalidCitizenId as error:
        raise MalformedMessage(error.field, error.reason) from None
    _text(request.full_name, "full_name", MAX_NAME)
    _text(request.purpose, "purpose", MAX_TEXT)
    _text(request.legal_basis, "legal_basis", MAX_TEXT)
    _text(request.officer, "officer", MAX_NAME)


def request_payload(request: population_pb2.VerifyRequest, wait_until_ms: int = 0) -> bytes:
    """The signed payload of a look-up, with a fresh nonce (see population.proto)."""
    return population_pb2.LookupRequest(
        id_number=request.id_number,
        full_name=" ".join(request.full_name.split()),
        date_of_birth=request.date_of_birth,
        purpose=request.purpose.strip(),
        legal_basis=request.legal_basis.strip(),
        officer=request.officer.strip(),
        attributes=list(request.attributes),
        nonce=secrets.token_bytes(NONCE_BYTES),
        wait_until_ms=wait_until_ms,
    ).SerializeToString(deterministic=True)


def answer_payload(
    request_message_id: str, id_number: str, matched: bool, attributes: dict[str, str]
) -> bytes:
    return population_pb2.LookupAnswer(
        request_message_id=request_message_id,
        id_number=id_number,
        matched=matched,
        attributes=attributes if matched else {},
        nonce=secrets.token_bytes(NONCE_BYTES),
    ).SerializeToString(deterministic=True)


def parse_request(payload: bytes) -> population_pb2.LookupRequest:
    try:
        return population_pb2.LookupRequest.FromString(payload)
    except (DecodeError, RecursionError, ValueError):
        raise MalformedMessage("payload", "not a valid LookupRequest") from None


def parse_answer(payload: bytes) -> population_pb2.LookupAnswer:
    try:
        return population_pb2.LookupAnswer.FromString(payload)
    except (DecodeError, RecursionError, ValueError):
        raise MalformedMessage("payload", "not a valid LookupAnswer") from None


def inspect_lookup(opened: Opened) -> PayloadFacts:
    """The hub's check of a look-up payload (its digest was checked by the caller)."""
    header = opened.header
    if len(header.recipients) != 1:
        raise MalformedMessage("header.recipients", "a look-up goes to exactly one member")
    if header.kind is Kind.LOOKUP:
        request = parse_request(opened.payload)
        check_request(request)
        if len(request.nonce) < NONCE_BYTES:
            raise MalformedMessage("nonce", f"at least {NONCE_BYTES} random bytes")
        if header.document_id != header.message_id:
            raise MalformedMessage("header.document_id", "a look-up's id is its message id")
        return PayloadFacts(
            lookup=LookupFacts(
                id_number=request.id_number,
                officer=request.officer,
                purpose=request.purpose,
                legal_basis=request.legal_basis,
                attributes=tuple(request.attributes),
            )
        )
    answer = parse_answer(opened.payload)
    if not is_uuid(answer.request_message_id):
        raise MalformedMessage("request_message_id", "must be a lowercase UUID")
    if answer.request_message_id != header.document_id:
        raise MalformedMessage("request_message_id", "differs from header.document_id")
    try:
        parse_citizen_id(answer.id_number)
        check_attributes(sorted(answer.attributes))
    except InvalidCitizenId as error:
        raise MalformedMessage(error.field, error.reason) from None
    if not answer.matched and answer.attributes:
        raise MalformedMessage("attributes", "a non-matching answer discloses nothing")
    for name, value in answer.attributes.items():
        _text(value, f"attributes[{name}]", MAX_TEXT, required=False)
    return PayloadFacts(
        lookup=LookupFacts(
            id_number=answer.id_number,
            request_message_id=answer.request_message_id,
            matched=answer.matched,
            disclosed=tuple(sorted(answer.attributes.items())),
        )
    )
