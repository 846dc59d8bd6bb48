"""Dossier and postal messages as ledger commands: the acting member is the signed sender.

The codec has checked the payload (adapters/dossier/payload.py) into a `DossierAct`; here the
hub says who did it (the header's sender, whose signature it verified) and when it saw it.
The Dossier aggregate then decides whether the act is allowed.
"""

from __future__ import annotations

import base64

from hub.model import DossierAct, Opened
from ledger.commands import (
    DossierCommand,
    RecordDossierApology,
    RecordDossierReceived,
    RecordDossierStatus,
    RecordDossierTransfer,
    RecordPostalOrder,
    RecordPostalTracking,
)


def dossier_command(opened: Opened, act: DossierAct, received_at: str) -> DossierCommand:
    header = opened.header
    common = {
        "message_id": header.message_id,
        "code": act.code,
        "received_at": received_at,
        # Kept so an auditor can check the member's signature offline (ledger.audit).
        "header_b64": base64.b64encode(opened.header_bytes).decode(),
        "signature_b64": base64.b64encode(opened.signature).decode(),
    }
    by = header.sender
    if act.action == "received":
        return RecordDossierReceived(
            procedure_code=act.procedure_code,
            receiver=by,
            channel=act.channel,
            due_date="",
            owner=act.owner,
            summary=act.summary,
            working_days=act.working_days,
            at=act.at,
            status=act.status,
            documents=act.documents,
            fees=act.fees,
            **common,
        )
    if act.action == "transfer":
        return RecordDossierTransfer(
            from_agency=by, to_agency=act.to_agency, reason=act.note, at=act.at, **common
        )
    if act.action == "apology":
        return RecordDossierApology(
            by=by, new_appointment=act.new_appointment, reason=act.note, at=act.at, **common
        )
    if act.action == "postal_order":
        return RecordPostalOrder(
            order_id=act.order_id,
            order_kind=act.order_kind,
            ordered_by=by,
            operator=act.operator,
            **common,
        )
    if act.action == "postal_tracking":
        return RecordPostalTracking(
            order_id=act.order_id, state=act.state, note=act.note, by=by, at=act.at, **common
        )
    return RecordDossierStatus(
        status=act.status,
        by=by,
        note=act.note,
        at=act.at,
        documents=act.documents,
        amount=act.amount,
        **common,
    )
