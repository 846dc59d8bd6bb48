"""Validation of an official document against the edXML limits (DOMAIN.md section 2).

Runs twice: in the sending adapter, so an agency learns of a mistake before anything leaves,
and in the hub, which must not trust any adapter. Each failure names the field and the reason.
"""

from __future__ import annotations

import re
from datetime import date

from adapters.pb.truc.v1 import document_pb2 as pb
from hub.errors import MalformedMessage
from ledger.agency import is_valid_code

SUBJECT_MAX = 500
CONTENT_MAX = 500
PLACE_MAX = 150
APPENDIX_MAX = 250
ATTACHMENT_NAME_MAX = 200
SHORT_TEXT_MAX = 500
# Counts, so that no list can make a receiver allocate without bound.
MAX_TO_ORGANS = 500
MAX_ITEMS = 100
EXTENSION_MAX_BYTES = 64 * 1024
_NUMBER = re.compile(r"[0-9]{1,11}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"[0-9+() .\-]{1,30}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_EDXML_ID = re.compile(r"(?P<organ>[0-9A-Z.]+),(?P<date>\d{4}/\d{2}/\d{2}),(?P<code>[^,]{1,100})")


def _max(field: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise MalformedMessage(field, f"at most {limit} characters, got {len(value)}")


_DATE = re.compile(r"([0-9]{4})/([0-9]{2})/([0-9]{2})")


def _date(field: str, value: str) -> None:
    """A real calendar date in yyyy/MM/dd form (checked by `date`, not `strptime`: a
    twentieth of the cost, on every document twice)."""
    match = _DATE.fullmatch(value)
    try:
        if match is None:
            raise ValueError
        date(int(match[1]), int(match[2]), int(match[3]))
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
    _organization("from_organ", doc.from_organ)
    _count("to_organs", len(doc.to_organs), MAX_TO_ORGANS)
    seen: set[str] = set()
    for i, organ in enumerate(doc.to_organs):
        if not is_valid_code(organ.organ_id):
            raise MalformedMessage(f"to_organs[{i}].organ_id", "not an agency code")
        if organ.organ_id in seen:
            raise MalformedMessage(f"to_organs[{i}].organ_id", f"{organ.organ_id} listed twice")
        seen.add(organ.organ_id)
        _organization(f"to_organs[{i}]", organ)
    for name, value in (
        ("signer_info.full_name", doc.signer_info.full_name),
        ("signer_info.position", doc.signer_info.position),
        ("signer_info.competence", doc.signer_info.competence),
        ("code.code_notation", doc.code.code_notation),
        ("code.code_number", doc.code.code_number),
        ("document_type.type_name", doc.document_type.type_name),
        ("document_type.type_detail", doc.document_type.type_detail),
        ("promulgation_info.place", doc.promulgation_info.place),
        ("other_info.sphere_of_promulgation", doc.other_info.sphere_of_promulgation),
        ("other_info.typer_notation", doc.other_info.typer_notation),
        ("other_info.direction", doc.other_info.direction),
    ):
        _max(name, value, SHORT_TEXT_MAX)
    if doc.code.code_number and not _NUMBER.fullmatch(doc.code.code_number):
        raise MalformedMessage("code.code_number", "must be 1 to 11 digits, e.g. 7816")
    if doc.document_type.type < 0:
        raise MalformedMessage("document_type.type", "must not be negative")
    _count("to_places", len(doc.to_places), MAX_ITEMS)
    for i, place in enumerate(doc.to_places):
        _max(f"to_places[{i}]", place, PLACE_MAX)
    _count("other_info.appendixes", len(doc.other_info.appendixes), MAX_ITEMS)
    for i, appendix in enumerate(doc.other_info.appendixes):
        _max(f"other_info.appendixes[{i}]", appendix, APPENDIX_MAX)
    for name, amount in (
        ("other_info.promulgation_amount", doc.other_info.promulgation_amount),
        ("other_info.page_amount", doc.other_info.page_amount),
    ):
        if amount < 0:
            raise MalformedMessage(name, "must not be negative")
    _count("attachments", len(doc.attachments), MAX_ITEMS)
    for i, attachment in enumerate(doc.attachments):
        if not attachment.name:
            raise MalformedMessage(f"attachments[{i}].name", "required")
        _max(f"attachments[{i}].name", attachment.name, ATTACHMENT_NAME_MAX)
        _max(f"attachments[{i}].description", attachment.description, SHORT_TEXT_MAX)
        _max(f"attachments[{i}].content_type", attachment.content_type, 255)
        _max(f"attachments[{i}].content_id", attachment.content_id, 255)
        if attachment.object_name and not _UUID.fullmatch(attachment.object_name):
            raise MalformedMessage(
                f"attachments[{i}].object_name", "must name an uploaded object (a UUID)"
            )
        if attachment.object_name and attachment.content:
            raise MalformedMessage(
                f"attachments[{i}]", "either inline content or a stored object, not both"
            )
    if not 0 <= doc.other_info.priority <= 4:
        raise MalformedMessage("other_info.priority", "must be 0..4")
    if not 0 <= doc.steering_type <= 2:
        raise MalformedMessage("steering_type", "must be 0, 1 or 2")
    if doc.business_type not in (0, 1, 2, 3):
        raise MalformedMessage("business_type", "must be 0 new, 1 revoke, 2 update or 3 replace")
    if doc.business_type != pb.BUSINESS_TYPE_NEW and not doc.refers_to:
        raise MalformedMessage("refers_to", "required for revoke, update and replace")
    if doc.refers_to and not _UUID.fullmatch(doc.refers_to):
        raise MalformedMessage("refers_to", "must be the earlier document's id (a lowercase UUID)")
    if doc.business_type == pb.BUSINESS_TYPE_NEW and doc.refers_to:
        raise MalformedMessage("refers_to", "only revoke, update and replace refer to a document")
    if doc.promulgation_info.promulgation_date:
        _date("promulgation_info.promulgation_date", doc.promulgation_info.promulgation_date)
    if doc.due_date:
        _date("due_date", doc.due_date)
    if doc.edxml_document_id:
        _edxml_id("edxml_document_id", doc.edxml_document_id)
    _count("response_for", len(doc.response_for), MAX_ITEMS)
    for i, response in enumerate(doc.response_for):
        field = f"response_for[{i}]"
        if not is_valid_code(response.organ_id):
            raise MalformedMessage(f"{field}.organ_id", "not an agency code")
        _max(f"{field}.code", response.code, SHORT_TEXT_MAX)
        if response.promulgation_date:
            _date(f"{field}.promulgation_date", response.promulgation_date)
        if response.document_id:
            _edxml_id(f"{field}.document_id", response.document_id)
    _count("edxml_extensions", len(doc.edxml_extensions), MAX_ITEMS)
    for i, extension in enumerate(doc.edxml_extensions):
        _max(f"edxml_extensions[{i}].parent", extension.parent, 200)
        if len(extension.xml.encode()) > EXTENSION_MAX_BYTES:
            raise MalformedMessage(
                f"edxml_extensions[{i}].xml", f"at most {EXTENSION_MAX_BYTES} bytes"
            )


def _edxml_id(field: str, value: str) -> None:
    match = _EDXML_ID.fullmatch(value)
    if match is None or not is_valid_code(match["organ"]):
        raise MalformedMessage(field, "must read OrganId,yyyy/MM/dd,Number/Notation")
    _date(field, match["date"])


def _count(field: str, count: int, limit: int) -> None:
    if count > limit:
        raise MalformedMessage(field, f"at most {limit} entries, got {count}")


def _organization(field: str, organ: pb.Organization) -> None:
    """edXML From/To: names and addresses within limits, contact details shaped as such."""
    for name, value in (
        ("organ_name", organ.organ_name),
        ("organization_in_charge", organ.organization_in_charge),
        ("organ_add", organ.organ_add),
    ):
        _max(f"{field}.{name}", value, SHORT_TEXT_MAX)
    for name, value in (("website", organ.website), ("email", organ.email)):
        _max(f"{field}.{name}", value, 254)
    if organ.email and not _EMAIL.fullmatch(organ.email):
        raise MalformedMessage(f"{field}.email", f"{organ.email!r} is not an e-mail address")
    for name, value in (("telephone", organ.telephone), ("fax", organ.fax)):
        if value and not _PHONE.fullmatch(value):
            raise MalformedMessage(
                f"{field}.{name}", "digits, spaces and + ( ) . - only, at most 30 characters"
            )
