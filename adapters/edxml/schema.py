"""The part of QCVN 102:2016 that Truc models: element names, their order, and which
Document field each fills (DOMAIN.md section 2). The reader and the writer share this table,
so what one understands the other writes back, in the standard's order.
"""

from __future__ import annotations

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"

# Paths of the containers (parent of extensions), "/"-joined local names from the root.
ROOT = "edXML"
ENVELOPE = "edXML/edXMLEnvelope"
HEADER = "edXML/edXMLEnvelope/edXMLHeader"
MESSAGE_HEADER = "edXML/edXMLEnvelope/edXMLHeader/MessageHeader"
ATTACHMENTS = "edXML/AttachmentEncoded"

# (element, Document sub-message field) for flat structures: element -> proto field.
ORGAN = (
    ("OrganId", "organ_id"),
    ("OrganizationInCharge", "organization_in_charge"),
    ("OrganName", "organ_name"),
    ("OrganAdd", "organ_add"),
    ("Email", "email"),
    ("Telephone", "telephone"),
    ("Fax", "fax"),
    ("Website", "website"),
)
CODE = (("CodeNumber", "code_number"), ("CodeNotation", "code_notation"))
PROMULGATION = (("Place", "place"), ("PromulgationDate", "promulgation_date"))
DOCUMENT_TYPE = (("Type", "type"), ("TypeDetail", "type_detail"), ("TypeName", "type_name"))
SIGNER = (("Competence", "competence"), ("Position", "position"), ("FullName", "full_name"))
OTHER_INFO = (
    ("Priority", "priority"),
    ("SphereOfPromulgation", "sphere_of_promulgation"),
    ("TyperNotation", "typer_notation"),
    ("PromulgationAmount", "promulgation_amount"),
    ("PageAmount", "page_amount"),
    ("Direction", "direction"),
)
RESPONSE_FOR = (
    ("OrganId", "organ_id"),
    ("Code", "code"),
    ("PromulgationDate", "promulgation_date"),
    ("DocumentId", "document_id"),
)
ATTACHMENT = (
    ("ContentId", "content_id"),
    ("AttachmentName", "name"),
    ("Description", "description"),
    ("ContentType", "content_type"),
)
# Integer fields written even when zero (0 is a meaningful value there).
ALWAYS_WRITTEN = frozenset({"Type", "Priority"})

# MessageHeader children in the standard's order.
MESSAGE_HEADER_ORDER = (
    "From",
    "To",
    "Code",
    "PromulgationInfo",
    "DocumentType",
    "Subject",
    "Content",
    "SignerInfo",
    "DueDate",
    "ToPlaces",
    "OtherInfo",
    "ResponseFor",
    "SteeringType",
    "DocumentId",
)
# TraceHeaderList/Bussiness: the business type and the earlier document it refers to.
BUSINESS_TYPE = "BussinessDocType"
BUSINESS_DOCUMENT_ID = "DocumentId"


def q(local: str) -> str:
    """A tag in the edXML namespace, as ElementTree spells it."""
    return f"{{{NS}}}{local}"
