"""Validation of an official document against the edXML limits (DOMAIN.md section 2).

Runs twice: in the sending adapter, so an agency learns of a mistake before anything leaves,
and in the hub, which must not trust any adapter. Each failure names the field and the reason.
"""

from __future__ import annotations

import re
from datetime import datetime

from adapters.pb.truc.v1 import document_pb2 as pb
from hub.errors import MalformedMessage
from ledger.agency import is_valid_code

SUBJECT_MAX = 500
CONTENT_MAX = 500
PLACE_MAX = 150
APPENDIX_MAX = 250
ATTACHMENT_NAME_MAX = 200
SHORT_TEXT_MAX = 500
_EDXML_ID = re.compile(r"(?P<organ>[0-9A-Z.]+),(?P<date>\d{4}/\d{2}/\d{2}),(?P<code>[^,]{1,100})")


def _max(field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise MalformedMessage(field, f"at most {limit} characters, got {len(value)}")


_DATE = re.compile(r"[0-9]{4}/[0-9]{2}/[0-9]{2}")


def _date(field: str, value: str) -> None:
    if not _DATE.fullmatch(value):
        raise MalformedMessage(field, f"{value!r} is not a date in yyyy/MM/dd form")
    try:
        datetime.strptime(value, "%Y/%m/%d")
    except ValueError:
        raise MalformedMessage(field, f"{value!r} is not a date in yyyy/MM/dd form") from None


def validate_document(doc: pb.Document) -> None:
    """Raise MalformedMessage for the first rule `doc` breaks."""
    if not doc.subject.strip():
        raise MalformedMessage("subject", "required")
    _max("subject", doc.subject, SUBJECT_MAX)
    _max("content", doc.content, CONTENT_MAX)
    if doc.from_organ.organ_id and not is_valid_code(doc.from_organ.organ_id):
        raise MalformedMessage("from_organ.organ_id", "not an agency code")
    seen: set[str] = set()
    for i, organ in enumerate(doc.to_organs):
        if not is_valid_code(organ.organ_id):
            raise MalformedMessage(f"to_organs[{i}].organ_id", "not an agency code")
        if organ.organ_id in seen:
            raise MalformedMessage(f"to_organs[{i}].organ_id", f"{organ.organ_id} listed twice")
        seen.add(organ.organ_id)
    for name, value in (
        ("from_organ.organ_name", doc.from_organ.organ_name),
        ("signer_info.full_name", doc.signer_info.full_name),
        ("signer_info.position", doc.signer_info.position),
        ("signer_info.competence", doc.signer_info.competence),
        ("code.code_notation", doc.code.code_notation),
        ("code.code_number", doc.code.code_number),
        ("document_type.type_name", doc.document_type.type_name),
    ):
        _max(name, value, SHORT_TEXT_MAX)
    for i, place in enumerate(doc.to_places):
        _max(f"to_places[{i}]", place, PLACE_MAX)
    for i, appendix in enumerate(doc.other_info.appendixes):
        _max(f"other_info.appendixes[{i}]", appendix, APPENDIX_MAX)
    for i, attachment in enumerate(doc.attachments):
        if not attachment.name:
            raise MalformedMessage(f"attachments[{i}].name", "required")
        _max(f"attachments[{i}].name", attachment.name, ATTACHMENT_NAME_MAX)
    if not 0 <= doc.other_info.priority <= 4:
        raise MalformedMessage("other_info.priority", "must be 0..4")
    if not 0 <= doc.steering_type <= 2:
        raise MalformedMessage("steering_type", "must be 0, 1 or 2")
    if doc.business_type not in (0, 1, 2, 3):
        raise MalformedMessage("business_type", "must be 0 new, 1 revoke, 2 update or 3 replace")
    if doc.business_type != pb.BUSINESS_TYPE_NEW and not doc.refers_to:
        raise MalformedMessage("refers_to", "required for revoke, update and replace")
    if doc.promulgation_info.promulgation_date:
        _date("promulgation_info.promulgation_date", doc.promulgation_info.promulgation_date)
    if doc.edxml_document_id:
        match = _EDXML_ID.fullmatch(doc.edxml_document_id)
        if match is None or not is_valid_code(match["organ"]):
            raise MalformedMessage(
                "edxml_document_id", "must read OrganId,yyyy/MM/dd,Number/Notation"
            )
        _date("edxml_document_id", match["date"])
