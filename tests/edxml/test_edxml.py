"""edXML packages (QCVN 102:2016): read every MessageHeader field, carry what Truc does not
model, write it all back, and refuse hostile input with a clear reason."""

from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.document.validation import validate_document
from adapters.edxml import MAX_EDXML_BYTES, EdxmlError, parse_edxml, write_edxml
from adapters.edxml.reader import MAX_DEPTH
from adapters.pb.truc.v1 import document_pb2 as pb
from hub.errors import MalformedMessage
from tests.edxml.support import sample, tree
from tests.support import G15, G22, H49

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def test_every_message_header_field_is_read() -> None:
    package = parse_edxml(sample())
    doc = package.document
    assert package.recipients == (H49, G15)
    assert (doc.from_organ.organ_id, doc.from_organ.organ_name) == (G22, "Văn phòng Chính phủ")
    assert doc.from_organ.email == "vpcp@chinhphu.vn" and doc.from_organ.fax == "080.44130"
    assert [o.organ_name for o in doc.to_organs] == ["UBND tỉnh Quảng Ninh", "Bộ Tư pháp"]
    assert (doc.code.code_number, doc.code.code_notation) == ("7816", "VPCP-TTĐT")
    assert doc.promulgation_info.promulgation_date == "2018/09/20"
    assert (doc.document_type.type, doc.document_type.type_name) == (1, "Công văn")
    assert doc.subject.startswith("Về việc triển khai") and doc.content
    assert doc.signer_info.competence == "KT. BỘ TRƯỞNG, CHỦ NHIỆM"
    assert doc.due_date == "2018/10/15"
    assert list(doc.to_places) == ["Như trên", "Lưu: VT, TTĐT"]
    other = doc.other_info
    assert (other.priority, other.promulgation_amount, other.page_amount) == (1, 95, 2)
    assert list(other.appendixes) == ["Phụ lục I: Danh sách cơ quan"]
    assert doc.response_for[0].document_id == "000.00.00.G15,2018/09/01,15/BTP-CNTT"
    assert doc.steering_type == 1
    assert doc.edxml_document_id == "000.00.00.G22,2018/09/20,7816/VPCP-TTĐT"
    assert doc.business_type == pb.BUSINESS_TYPE_NEW and package.refers_to_edxml_id == ""
    [attachment] = doc.attachments
    assert attachment.name == "7816-VPCP-TTDT.pdf" and attachment.content_type == "application/pdf"
    assert attachment.content.startswith(b"%PDF-1.7")
    validate_document(doc)


def test_unknown_elements_are_carried_with_their_place() -> None:
    doc = parse_edxml(sample()).document
    kept = {(e.parent.rsplit("/", 1)[-1], e.index) for e in doc.edxml_extensions}
    assert kept == {
        ("From", 8),  # OrganLevel
        ("MessageHeader", 15),  # SecurityClassification
        ("edXMLHeader", 1),  # TraceHeaderList (also read for the business type)
        ("edXMLHeader", 2),  # the XMLDSig Signature
        ("edXMLEnvelope", 1),  # edXMLBody with its manifest
    }


def test_a_package_written_back_keeps_every_field() -> None:
    original = sample()
    written = write_edxml(parse_edxml(original).document)
    assert tree(written) == tree(original)
    # And again: writing is stable.
    assert tree(write_edxml(parse_edxml(written).document)) == tree(original)


def test_a_document_that_never_was_edxml_gets_a_manifest_and_a_business_type() -> None:
    doc = pb.Document(
        subject="Thông báo",
        from_organ=pb.Organization(organ_id=G22),
        to_organs=[pb.Organization(organ_id=H49)],
        business_type=pb.BUSINESS_TYPE_UPDATE,
        attachments=[pb.Attachment(name="tb.pdf", content=b"%PDF")],
    )
    package = parse_edxml(write_edxml(doc))
    assert package.document.business_type == pb.BUSINESS_TYPE_UPDATE
    assert package.document.attachments[0].content == b"%PDF"
    assert package.document.subject == "Thông báo" and package.recipients == (H49,)


def _package(message_header: str, extra: str = "") -> bytes:
    return (
        f'<edXML xmlns="{NS}"><edXMLEnvelope><edXMLHeader><MessageHeader>'
        f"{message_header}</MessageHeader>{extra}</edXMLHeader></edXMLEnvelope></edXML>"
    ).encode()


MINIMAL = (
    f"<From><OrganId>{G22}</OrganId></From><To><OrganId>{H49}</OrganId></To><Subject>x</Subject>"
)


def test_a_revocation_names_the_earlier_document() -> None:
    business = (
        "<TraceHeaderList><Bussiness><BussinessDocType>1</BussinessDocType>"
        f"<DocumentId>{G22},2018/09/20,7816/VPCP-TTĐT</DocumentId></Bussiness></TraceHeaderList>"
    )
    package = parse_edxml(_package(MINIMAL, business))
    assert package.document.business_type == pb.BUSINESS_TYPE_REVOKE
    assert package.refers_to_edxml_id == f"{G22},2018/09/20,7816/VPCP-TTĐT"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&lol3;</edXML>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&secret;</edXML>"""
DTD_ONLY = b'<?xml version="1.0"?><!DOCTYPE edXML SYSTEM "http://example.com/x.dtd"><edXML/>'


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (BILLION_LAUGHS, "edxml", "DTDs, entities and external references are refused"),
        (XXE, "edxml", "DTDs, entities and external references are refused"),
        (DTD_ONLY, "edxml", "refused"),
        (b"<edXML><unclosed></edXML>", "edxml", "not well-formed XML"),
        (b"", "edxml", "empty"),
        (b"\xff\xfe garbage", "edxml", "not well-formed"),
        # Found by tests/fuzz/fuzz_edxml.py: an unknown encoding escaped as a LookupError.
        (b'<?xml version="1.0" encoding="UTF-E8"?><edXML/>', "edxml", "encoding"),
        (b"<edXML/>", "edXML", "namespace"),
        (f'<edXML xmlns="{NS}"/>'.encode(), "edXML/edXMLEnvelope", "required"),
        (_package(""), "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From", "required"),
        (
            _package(f"<From><OrganId>{G22}</OrganId></From>"),
            "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To",
            "at least one",
        ),
        (
            _package(MINIMAL + "<SteeringType>một</SteeringType>"),
            "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/SteeringType",
            "not a whole number",
        ),
        (
            _package(MINIMAL + "<Subject>y</Subject>"),
            "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Subject",
            "more than 1",
        ),
        (
            _package(MINIMAL.replace("<Subject>x", "<Subject><b>x</b>")),
            "edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Subject",
            "text, not elements",
        ),
        (
            _package(
                MINIMAL,
                "<TraceHeaderList><Bussiness><BussinessDocType>7"
                "</BussinessDocType></Bussiness></TraceHeaderList>",
            ),
            "edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/Bussiness/BussinessDocType",
            "0 new, 1 revoke",
        ),
        (
            _package(MINIMAL).replace(
                b"</edXMLEnvelope>",
                b"</edXMLEnvelope><AttachmentEncoded><Attachment><AttachmentName>a"
                b"</AttachmentName><ContentTransferEncoded>***</ContentTransferEncoded>"
                b"</Attachment></AttachmentEncoded>",
            ),
            "edXML/AttachmentEncoded/Attachment#0/ContentTransferEncoded",
            "not valid base64",
        ),
    ],
)
def test_bad_packages_are_refused_naming_the_element(data: bytes, field: str, words: str) -> None:
    with pytest.raises(EdxmlError) as refused:
        parse_edxml(data)
    assert refused.value.field == field
    assert words in refused.value.reason


def test_oversized_and_deeply_nested_packages_are_refused_before_parsing_on() -> None:
    huge = _package(MINIMAL + "<Content>" + "x" * MAX_EDXML_BYTES + "</Content>")
    with pytest.raises(EdxmlError, match=f"at most {MAX_EDXML_BYTES} are accepted"):
        parse_edxml(huge)
    deep = _package(MINIMAL + "<a>" * (MAX_DEPTH + 1) + "</a>" * (MAX_DEPTH + 1))
    with pytest.raises(EdxmlError, match="deeper than"):
        parse_edxml(deep)
    wide = _package(MINIMAL + "<a/>" * 30_000)
    with pytest.raises(EdxmlError, match="more than 20000 elements"):
        parse_edxml(wide)


def test_an_extension_nested_too_deep_is_refused_on_export() -> None:
    """A sender may put anything in a Document's extensions; the recipient's adapter must
    not recurse without bound writing it back."""
    doc = parse_edxml(sample()).document
    doc.edxml_extensions.add(parent="edXML", index=0, xml="<a>" * 5000 + "</a>" * 5000)
    with pytest.raises(EdxmlError, match="deeper than"):
        write_edxml(doc)


def test_an_extension_that_is_not_xml_is_refused_on_export() -> None:
    doc = parse_edxml(sample()).document
    doc.edxml_extensions.add(
        parent="edXML", index=0, xml="<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>"
    )
    with pytest.raises(EdxmlError, match="not a well-formed element"):
        write_edxml(doc)


# -- fuzzing: nothing but EdxmlError ever comes out --------------------------------------------


def _only_clear_errors(data: bytes) -> None:
    try:
        package = parse_edxml(data)
    except EdxmlError as error:
        assert error.field and error.reason
        return
    # Whatever parses is a Document that validation judges with its own clear error, and
    # that can be written back.
    try:
        validate_document(package.document)
    except MalformedMessage as error:
        assert error.field and error.reason
    write_edxml(package.document)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=2048))
def test_any_bytes_give_a_package_or_a_clear_error(data: bytes) -> None:
    _only_clear_errors(data)


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(min_value=0), st.binary(max_size=8), st.integers(0, 16)),
        min_size=1,
        max_size=6,
    )
)
def test_a_damaged_sample_gives_a_package_or_a_clear_error(
    edits: list[tuple[int, bytes, int]],
) -> None:
    data = bytearray(sample())
    for position, insert, delete in edits:
        at = position % (len(data) + 1)
        data[at : at + delete] = insert
    _only_clear_errors(bytes(data))


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cn")), max_size=40)


@FUZZ
@given(subject=TEXT, content=TEXT, place=TEXT, notation=TEXT, number=st.integers(0, 10**6))
def test_any_values_survive_a_round_trip(
    subject: str, content: str, place: str, notation: str, number: int
) -> None:
    doc = parse_edxml(sample()).document
    doc.subject, doc.content = subject, content
    doc.to_places.append(place)
    doc.code.code_notation, doc.code.code_number = notation, str(number)
    again = parse_edxml(write_edxml(doc)).document
    # Whitespace at the ends of a value is the one thing XML tools do not keep.
    assert again.subject == subject and again.content == content
    assert list(again.to_places)[-1] == place
    assert (again.code.code_notation, again.code.code_number) == (notation, str(number))


def test_base64_with_line_breaks_is_read() -> None:
    encoded = base64.encodebytes(b"x" * 200).decode()  # wrapped at 76 characters
    data = _package(MINIMAL).replace(
        b"</edXMLEnvelope>",
        f"</edXMLEnvelope><AttachmentEncoded><Attachment><AttachmentName>a</AttachmentName>"
        f"<ContentTransferEncoded>{encoded}</ContentTransferEncoded></Attachment>"
        f"</AttachmentEncoded>".encode(),
    )
    assert parse_edxml(data).document.attachments[0].content == b"x" * 200
