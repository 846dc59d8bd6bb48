"""Writing a Truc Document as an edXML package (QCVN 102:2016).

Known fields go out in the standard's order; elements that came in opaquely (extensions) go
back at the position they had among their parent's children. A document that did not come
from edXML gets a generated TraceHeaderList (business type) and edXMLManifest (one Reference
per attachment).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any
from xml.etree.ElementTree import Element, SubElement, indent, register_namespace, tostring

from defusedxml.ElementTree import fromstring

from adapters.edxml import schema as s
from adapters.edxml.errors import EdxmlError
from adapters.edxml.reader import bounded
from adapters.pb.truc.v1 import document_pb2 as pb

XMLDSIG_NS = "http://www.w3.org/2000/09/xmldsig#"


def write_edxml(doc: pb.Document) -> bytes:
    """The package for `doc`, as UTF-8 bytes with an XML declaration."""
    writer = _Writer(doc)
    root = Element(s.q("edXML"))
    envelope = SubElement(root, s.q("edXMLEnvelope"))
    header = SubElement(envelope, s.q("edXMLHeader"))
    writer.message_header(SubElement(header, s.q("MessageHeader")))
    if not writer.has_extension(s.HEADER, "TraceHeaderList"):
        writer.trace_headers(header)
    writer.place(header, s.HEADER)
    if not writer.has_extension(s.ENVELOPE, "edXMLBody"):
        writer.manifest(SubElement(envelope, s.q("edXMLBody")))
    writer.place(envelope, s.ENVELOPE)
    if doc.attachments:
        writer.attachments(SubElement(root, s.q("AttachmentEncoded")))
    writer.place(root, s.ROOT)
    # The prefixes the standard's samples use (ElementTree keeps them in a process-wide map;
    # setting them again is harmless).
    register_namespace("edXML", s.NS)
    register_namespace("ds", XMLDSIG_NS)
    indent(root)
    body = tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()


def _put(parent: Element, name: str, value: str | int, *, always: bool = False) -> None:
    if value or always:
        SubElement(parent, s.q(name)).text = str(value)


class _Writer:
    def __init__(self, doc: pb.Document) -> None:
        self.doc = doc
        self.extensions: dict[str, list[pb.EdxmlExtension]] = {}
        for extension in doc.edxml_extensions:
            self.extensions.setdefault(extension.parent, []).append(extension)

    def has_extension(self, parent: str, local: str) -> bool:
        return any(
            _parse_extension(e).tag in (s.q(local), local) for e in self.extensions.get(parent, [])
        )

    def place(self, element: Element, path: str) -> None:
        """Put back the extensions of `path` at the positions they were read from."""
        for extension in sorted(self.extensions.get(path, []), key=lambda e: e.index):
            element.insert(min(extension.index, len(element)), _parse_extension(extension))

    def struct(
        self,
        parent: Element,
        name: str,
        path: str,
        source: Any,
        fields: Sequence[tuple[str, str]],
        *,
        then: Callable[[Element], None] | None = None,
    ) -> Element:
        """A flat structure, `then` adding what follows its fields, then its extensions."""
        element = SubElement(parent, s.q(name))
        for local, field in fields:
            _put(element, local, getattr(source, field), always=local in s.ALWAYS_WRITTEN)
        if then is not None:
            then(element)
        self.place(element, path)
        return element

    def message_header(self, element: Element) -> None:
        doc, path = self.doc, s.MESSAGE_HEADER
        self.struct(element, "From", f"{path}/From", doc.from_organ, s.ORGAN)
        for i, organ in enumerate(doc.to_organs):
            self.struct(element, "To", f"{path}/To#{i}", organ, s.ORGAN)
        if doc.HasField("code"):
            self.struct(element, "Code", f"{path}/Code", doc.code, s.CODE)
        if doc.HasField("promulgation_info"):
            self.struct(
                element,
                "PromulgationInfo",
                f"{path}/PromulgationInfo",
                doc.promulgation_info,
                s.PROMULGATION,
            )
        self.struct(
            element, "DocumentType", f"{path}/DocumentType", doc.document_type, s.DOCUMENT_TYPE
        )
        _put(element, "Subject", doc.subject, always=True)
        _put(element, "Content", doc.content)
        if doc.HasField("signer_info"):
            self.struct(element, "SignerInfo", f"{path}/SignerInfo", doc.signer_info, s.SIGNER)
        _put(element, "DueDate", doc.due_date)
        if doc.to_places:
            places = SubElement(element, s.q("ToPlaces"))
            for place in doc.to_places:
                _put(places, "Place", place, always=True)
            self.place(places, f"{path}/ToPlaces")

        def appendixes(other: Element) -> None:
            if doc.other_info.appendixes:
                listed = SubElement(other, s.q("Appendixes"))
                for appendix in doc.other_info.appendixes:
                    _put(listed, "Appendix", appendix, always=True)
                self.place(listed, f"{path}/OtherInfo/Appendixes")

        self.struct(
            element,
            "OtherInfo",
            f"{path}/OtherInfo",
            doc.other_info,
            s.OTHER_INFO,
            then=appendixes,
        )
        for i, response in enumerate(doc.response_for):
            self.struct(element, "ResponseFor", f"{path}/ResponseFor#{i}", response, s.RESPONSE_FOR)
        _put(element, "SteeringType", doc.steering_type, always=True)
        _put(element, "DocumentId", doc.edxml_document_id)
        self.place(element, path)

    def trace_headers(self, header: Element) -> None:
        trace = SubElement(header, s.q("TraceHeaderList"))
        business = SubElement(trace, s.q("Bussiness"))
        _put(business, s.BUSINESS_TYPE, int(self.doc.business_type), always=True)
        _put(business, s.BUSINESS_DOCUMENT_ID, self.doc.edxml_document_id)

    def manifest(self, body: Element) -> None:
        manifest = SubElement(body, s.q("edXMLManifest"))
        for i, attachment in enumerate(self.doc.attachments):
            reference = SubElement(manifest, s.q("Reference"))
            _put(reference, "ContentId", attachment.content_id or f"cid:{i + 1}", always=True)
            _put(reference, "AttachmentName", attachment.name, always=True)
            _put(reference, "Description", attachment.description)
            _put(reference, "ContentType", attachment.content_type)

    def attachments(self, element: Element) -> None:
        for i, attachment in enumerate(self.doc.attachments):

            def content(item: Element, data: bytes = attachment.content) -> None:
                encoded = SubElement(item, s.q("ContentTransferEncoded"))
                encoded.text = base64.b64encode(data).decode()

            path = f"{s.ATTACHMENTS}/Attachment#{i}"
            self.struct(element, "Attachment", path, attachment, s.ATTACHMENT, then=content)
        self.place(element, s.ATTACHMENTS)


def _parse_extension(extension: pb.EdxmlExtension) -> Element:
    """An extension element back from its text. It came from another member: parse it as
    defensively as a whole package."""
    try:
        element: Element = fromstring(
            extension.xml.encode(), forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except Exception as error:  # defusedxml's, expat's or a ValueError: all the same here
        raise EdxmlError(
            f"edxml_extensions ({extension.parent})", f"not a well-formed element: {error}"
        ) from None
    bounded(element)  # writing it back recurses: no deeper than a package may be
    return element
