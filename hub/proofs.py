"""Serving receipts' inclusion proofs to adapters over NATS request/reply.

A member may only have proofs for events it takes part in (as sender, recipient or
reporter): a proof carries the event's canonical bytes, and those are nobody else's business.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from hub import subjects
from hub.transparency import TransparencyLog
from ledger.agency import from_token
from ledger.errors import InvalidAgencyCode, LedgerError
from ledger.leaf import decode_leaf
from ledger.note import TlogProof

log = logging.getLogger("truc.proofs")
_PARTY_FIELDS = ("sender", "recipient", "reporter", "claimed_sender")


def parties(state: bytes) -> set[str]:
    """Members an event concerns, from its stored state."""
    try:
        fields: dict[str, Any] = json.loads(state)
    except ValueError:
        return set()
    found = {str(fields[k]) for k in _PARTY_FIELDS if isinstance(fields.get(k), str)}
    recipients = fields.get("recipients")
    if isinstance(recipients, list):
        found |= {str(r) for r in recipients}
    return found


async def answer(transparency: TransparencyLog, member: str, request: bytes) -> dict[str, Any]:
    try:
        position = int(json.loads(request)["position"])
    except (ValueError, KeyError, TypeError):
        return {"error": 'position: a JSON object {"position": N} is required'}
    if position <= 0:
        return {"error": "position: must be positive"}
    try:
        proof = await transparency.receipt_proof(position)
    except LedgerError as error:
        return {"position": position, "error": f"ledger: {error}"}
    if proof is None:
        return {"position": position, "proof": None}
    leaf = decode_leaf(TlogProof.parse(proof).extra)
    if member not in parties(leaf.state):
        return {"position": position, "error": f"position: {member} takes no part in that event"}
    return {"position": position, "proof": proof}


async def serve_proofs(nc: NATS, transparency: TransparencyLog) -> None:
    """Answer proof requests until cancelled (several hubs share the queue group)."""

    async def handle(msg: Msg) -> None:
        try:
            member = from_token(msg.subject.rsplit(".", 1)[-1])
        except InvalidAgencyCode:
            return
        reply = await answer(transparency, member, msg.data)
        await msg.respond(json.dumps(reply).encode())

    sub = await nc.subscribe(subjects.PROOF_ALL, queue="hub-proofs", cb=handle)
    try:
        await nc.flush()
        await asyncio.Event().wait()
    finally:
        await sub.unsubscribe()
