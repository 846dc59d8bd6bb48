"""Reading an edXML package into a Truc Document, defensively.

The package comes from outside (an agency's software, a file): it is bounded in size, depth
and element count before anything else looks at it, parsed with defusedxml (no DTD, no
entity, no external reference, so no billion laughs and no XXE), and every value is checked
as it is read. Anything wrong raises EdxmlError naming the element; nothing else escapes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, ParseError, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from adapters.edxml import schema as s
from adapters.edxml.errors import EdxmlError
from adapters.pb.truc.v1 import document_pb2 as pb

# Inline packages travel in one gRPC request and one envelope (8 MiB): base64 attachments
# included, a package may be 7 MiB.
MAX_EDXML_BYTES = 7 * 1024 * 1024
MAX_DEPTH = 32
MAX_ELEMENTS = 20_000
MAX_TEXT = 4096


@dataclass(frozen=True)
class ParsedPackage:
    document: pb.Document
    # Agency codes of the To elements, in order: the recipients.
    recipients: tuple[str, ...]
    # TraceHeaderList/Bussiness/DocumentId: the edXML id of the document a revoke, update or
    # replace refers to ("" for a new document).
    refers_to_edxml_id: str


def parse_edxml(data: bytes) -> ParsedPackage:
    """Parse and check one package; raise EdxmlError for anything wrong."""
    root = _load(data)
    if root.tag != s.q("edXML"):
        raise EdxmlError("edXML", f"the root element must be edXML in namespace {s.NS}")
    reader = _Reader()
    envelope = reader.children(root, s.ROOT, {"edXMLEnvelope": 1, "AttachmentEncoded": 1})
    if "edXMLEnvelope" not in envelope:
        raise EdxmlError("edXML/edXMLEnvelope", "required")
    parts = reader.children(envelope["edXMLEnvelope"][0], s.ENVELOPE, {"edXMLHeader": 1})
    if "edXMLHeader" not in parts:
        raise EdxmlError(f"{s.ENVELOPE}/edXMLHeader", "required")
    header = reader.children(parts["edXMLHeader"][0], s.HEADER, {"MessageHeader": 1})
    if "MessageHeader" not in header:
        raise EdxmlError(f"{s.HEADER}/MessageHeader", "required")
    reader.message_header(header["MessageHeader"][0])
    reader.business(parts["edXMLHeader"][0])
    if "AttachmentEncoded" in envelope:
        reader.attachments(envelope["AttachmentEncoded"][0])
    doc = reader.doc
    return ParsedPackage(
        document=doc,
        recipients=tuple(organ.organ_id for organ in doc.to_organs),
        refers_to_edxml_id=reader.refers_to,
    )


def _load(data: bytes) -> Element:
    if not isinstance(data, bytes | bytearray):
        raise EdxmlError("edxml", "the package must be bytes")
    if len(data) > MAX_EDXML_BYTES:
        raise EdxmlError(
            "edxml", f"the package is {len(data)} bytes; at most {MAX_EDXML_BYTES} are accepted"
        )
    if not data.strip():
        raise EdxmlError("edxml", "the package is empty")
    try:
        root: Element = fromstring(
            bytes(data), forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as error:
        raise EdxmlError(
            "edxml", f"DTDs, entities and external references are refused ({type(error).__name__})"
        ) from None
    except ParseError as error:
        raise EdxmlError("edxml", f"not well-formed XML: {error}") from None
    except LookupError as error:  # found by tests/fuzz/fuzz_edxml.py
        raise EdxmlError("edxml", f"the XML declaration names an encoding: {error}") from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise EdxmlError("edxml", f"not readable XML: {type(error).__name__}") from None
    bounded(root)
    return root


def bounded(root: Element) -> None:
    """Depth and size bounds, checked without recursion."""
    count = 0
    stack: list[tuple[Element, int]] = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise EdxmlError("edxml", f"elements nest deeper than {MAX_DEPTH} levels")
        if count > MAX_ELEMENTS:
            raise EdxmlError("edxml", f"more than {MAX_ELEMENTS} elements")
        stack.extend((child, depth + 1) for child in element)


def _local(tag: Any) -> str | None:
    """The local name of an element in the edXML namespace; None for anything else."""
    if not isinstance(tag, str):
        return None  # a comment or processing instruction
    prefix = f"{{{s.NS}}}"
    return tag[len(prefix) :] if tag.startswith(prefix) else None


class _Reader:
    def __init__(self) -> None:
        self.doc = pb.Document()
        self.refers_to = ""

    # -- generic --------------------------------------------------------------------------

    def keep(self, parent: str, index: int, element: Element) -> None:
        """Carry an element Truc does not model, to write it back in its place."""
        element.tail = None
        self.doc.edxml_extensions.append(
            pb.EdxmlExtension(parent=parent, index=index, xml=tostring(element, "unicode"))
        )

    def children(
        self, element: Element, path: str, known: dict[str, int]
    ) -> dict[str, list[Element]]:
        """Known children by local name (at most `known[name]` of each, 0 for any number);
        everything else is kept as an extension of `path`."""
        found: dict[str, list[Element]] = {}
        for index, child in enumerate(element):
            name = _local(child.tag)
            if name is not None and name in known:
                found.setdefault(name, []).append(child)
                limit = known[name]
                if limit and len(found[name]) > limit:
                    raise EdxmlError(f"{path}/{name}", f"appears more than {limit} time(s)")
            else:
                self.keep(path, index, child)
        return found

    def struct(
        self, element: Element, path: str, target: Any, fields: Sequence[tuple[str, str]]
    ) -> None:
        known = dict.fromkeys((name for name, _ in fields), 1)
        found = self.children(element, path, known)
        for name, field in fields:
            if name in found:
                _assign(target, field, found[name][0], f"{path}/{name}")

    # -- MessageHeader --------------------------------------------------------------------

    def message_header(self, element: Element) -> None:
        path, doc = s.MESSAGE_HEADER, self.doc
        known = {name: 1 for name in s.MESSAGE_HEADER_ORDER}
        known["To"] = known["ResponseFor"] = 0
        found = self.children(element, path, known)
        if "From" not in found:
            raise EdxmlError(f"{path}/From", "required")
        self.struct(found["From"][0], f"{path}/From", doc.from_organ, s.ORGAN)
        if "To" not in found:
            raise EdxmlError(f"{path}/To", "at least one recipient is required")
        for i, to in enumerate(found["To"]):
            self.struct(to, f"{path}/To#{i}", doc.to_organs.add(), s.ORGAN)
        for name, target, fields in (
            ("Code", doc.code, s.CODE),
            ("PromulgationInfo", doc.promulgation_info, s.PROMULGATION),
            ("DocumentType", doc.document_type, s.DOCUMENT_TYPE),
            ("SignerInfo", doc.signer_info, s.SIGNER),
        ):
            if name in found:
                self.struct(found[name][0], f"{path}/{name}", target, fields)
        for name, field in (
            ("Subject", "subject"),
            ("Content", "content"),
            ("DueDate", "due_date"),
            ("SteeringType", "steering_type"),
            ("DocumentId", "edxml_document_id"),
        ):
            if name in found:
                _assign(doc, field, found[name][0], f"{path}/{name}")
        if "ToPlaces" in found:
            places = self.children(found["ToPlaces"][0], f"{path}/ToPlaces", {"Place": 0})
            doc.to_places.extend(
                _text(p, f"{path}/ToPlaces/Place") for p in places.get("Place", [])
            )
        if "OtherInfo" in found:
            self.other_info(found["OtherInfo"][0], f"{path}/OtherInfo")
        for i, response in enumerate(found.get("ResponseFor", [])):
            self.struct(response, f"{path}/ResponseFor#{i}", doc.response_for.add(), s.RESPONSE_FOR)

    def other_info(self, element: Element, path: str) -> None:
        target = self.doc.other_info
        known = dict.fromkeys((name for name, _ in s.OTHER_INFO), 1)
        known["Appendixes"] = 1
        found = self.children(element, path, known)
        for name, field in s.OTHER_INFO:
            if name in found:
                _assign(target, field, found[name][0], f"{path}/{name}")
        if "Appendixes" in found:
            appendixes = self.children(
                found["Appendixes"][0], f"{path}/Appendixes", {"Appendix": 0}
            )
            target.appendixes.extend(
                _text(a, f"{path}/Appendixes/Appendix") for a in appendixes.get("Appendix", [])
            )

    def business(self, header: Element) -> None:
        """Read TraceHeaderList/Bussiness (kept whole as an extension too): the business type
        and the earlier document it refers to."""
        trace = header.find(s.q("TraceHeaderList"))
        business = trace.find(s.q("Bussiness")) if trace is not None else None
        if business is None:
            return
        path = f"{s.HEADER}/TraceHeaderList/Bussiness"
        kind = business.find(s.q(s.BUSINESS_TYPE))
        if kind is not None:
            value = _int(kind, f"{path}/{s.BUSINESS_TYPE}")
            if value not in (0, 1, 2, 3):
                raise EdxmlError(
                    f"{path}/{s.BUSINESS_TYPE}", "must be 0 new, 1 revoke, 2 update or 3 replace"
                )
            self.doc.business_type = value  # type: ignore[assignment]
        earlier = business.find(s.q(s.BUSINESS_DOCUMENT_ID))
        if earlier is not None:
            self.refers_to = _text(earlier, f"{path}/{s.BUSINESS_DOCUMENT_ID}")

    def attachments(self, element: Element) -> None:
        found = self.children(element, s.ATTACHMENTS, {"Attachment": 0})
        for i, attachment in enumerate(found.get("Attachment", [])):
            path = f"{s.ATTACHMENTS}/Attachment#{i}"
            fields = [*s.ATTACHMENT, ("ContentTransferEncoded", "")]
            known = dict.fromkeys((name for name, _ in fields), 1)
            parts = self.children(attachment, path, known)
            target = self.doc.attachments.add()
            for name, field in s.ATTACHMENT:
                if name in parts:
                    _assign(target, field, parts[name][0], f"{path}/{name}")
            if "ContentTransferEncoded" in parts:
                target.content = _base64(
                    parts["ContentTransferEncoded"][0], f"{path}/ContentTransferEncoded"
                )


# -- values ------------------------------------------------------------------------------------


def _text(element: Element, path: str, limit: int = MAX_TEXT) -> str:
    if len(element):
        raise EdxmlError(path, "must hold text, not elements")
    text = element.text or ""
    if len(text) > limit:
        raise EdxmlError(path, f"at most {limit} characters, got {len(text)}")
    return text


def _int(element: Element, path: str) -> int:
    text = _text(element, path, 20).strip()
    if not text:
        return 0
    if not (text.isascii() and text.lstrip("-").isdigit()):
        raise EdxmlError(path, f"{text!r} is not a whole number")
    value = int(text)
    if not -(2**31) <= value < 2**31:
        raise EdxmlError(path, f"{value} is out of range")
    return value


def _assign(target: Any, field: str, element: Element, path: str) -> None:
    descriptor = target.DESCRIPTOR.fields_by_name[field]
    if descriptor.cpp_type == descriptor.CPPTYPE_STRING:
        setattr(target, field, _text(element, path))
    else:
        setattr(target, field, _int(element, path))


def _base64(element: Element, path: str) -> bytes:
    text = "".join(_text(element, path, MAX_EDXML_BYTES).split())
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise EdxmlError(path, "not valid base64") from None
