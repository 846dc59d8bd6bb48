"""edXML limits on an official document (DOMAIN.md section 2): each failure names its field."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.document.validation import (
    APPENDIX_MAX,
    ATTACHMENT_NAME_MAX,
    CONTENT_MAX,
    PLACE_MAX,
    SHORT_TEXT_MAX,
    SUBJECT_MAX,
    validate_document,
)
from adapters.pb.truc.v1 import document_pb2 as pb
from hub.errors import MalformedMessage
from tests.support import G15, G22, H49

Mutation = Callable[[pb.Document], None]


def _valid() -> pb.Document:
    """A document that fills every field the rules look at, each within its limit."""
    return pb.Document(
        from_organ=pb.Organization(organ_id=G22, organ_name="Văn phòng Chính phủ"),
        to_organs=[pb.Organization(organ_id=H49), pb.Organization(organ_id=G15)],
        code=pb.DocumentCode(code_number="7816", code_notation="VPCP-TTĐT"),
        promulgation_info=pb.PromulgationInfo(place="Hà Nội", promulgation_date="2018/09/20"),
        document_type=pb.DocumentType(type=1, type_name="Công văn"),
        subject="Về việc triển khai trục liên thông văn bản quốc gia",
        content="Nội dung",
        signer_info=pb.SignerInfo(
            competence="TL. BỘ TRƯỞNG", position="Chánh Văn phòng", full_name="Nguyễn Văn A"
        ),
        to_places=["Như trên", "Lưu: VT"],
        other_info=pb.OtherInfo(priority=1, appendixes=["Phụ lục I"]),
        steering_type=1,
        edxml_document_id="000.00.00.G22,2018/09/20,7816/VPCP-TTĐT",
        attachments=[pb.Attachment(name="qd.pdf", content=b"%PDF")],
    )


def _with(mutate: Mutation) -> pb.Document:
    doc = _valid()
    mutate(doc)
    return doc


def _refusal(doc: pb.Document) -> MalformedMessage:
    with pytest.raises(MalformedMessage) as error:
        validate_document(doc)
    return error.value


def test_a_complete_valid_document_passes() -> None:
    validate_document(_valid())


def test_a_document_with_only_a_subject_passes() -> None:
    validate_document(pb.Document(subject="Công văn"))


# -- lengths: exactly at the limit passes, one more character names the field ------------


def _set_subject(text: str) -> Mutation:
    return lambda d: setattr(d, "subject", text)


def _set_content(text: str) -> Mutation:
    return lambda d: setattr(d, "content", text)


def _set_place(text: str) -> Mutation:
    return lambda d: d.to_places.append(text)


def _set_appendix(text: str) -> Mutation:
    return lambda d: d.other_info.appendixes.append(text)


def _set_attachment_name(text: str) -> Mutation:
    return lambda d: d.attachments.append(pb.Attachment(name=text))


LIMITS = [
    # (setter, limit, field the error must name)
    (_set_subject, SUBJECT_MAX, "subject"),
    (_set_content, CONTENT_MAX, "content"),
    (_set_place, PLACE_MAX, "to_places[2]"),
    (_set_appendix, APPENDIX_MAX, "other_info.appendixes[1]"),
    (_set_attachment_name, ATTACHMENT_NAME_MAX, "attachments[1].name"),
]


def test_limits_are_the_published_edxml_ones() -> None:
    assert (SUBJECT_MAX, CONTENT_MAX, PLACE_MAX, APPENDIX_MAX, ATTACHMENT_NAME_MAX) == (
        500,
        500,
        150,
        250,
        200,
    )


@pytest.mark.parametrize(("setter", "limit", "field"), LIMITS)
def test_text_at_the_limit_passes(
    setter: Callable[[str], Mutation], limit: int, field: str
) -> None:
    validate_document(_with(setter("ạ" * limit)))


@pytest.mark.parametrize(("setter", "limit", "field"), LIMITS)
def test_text_over_the_limit_names_the_field_and_the_length(
    setter: Callable[[str], Mutation], limit: int, field: str
) -> None:
    error = _refusal(_with(setter("ạ" * (limit + 1))))
    assert error.field == field
    assert error.reason == f"at most {limit} characters, got {limit + 1}"
    assert str(error) == f"{field}: at most {limit} characters, got {limit + 1}"


def test_limits_count_characters_not_utf8_bytes() -> None:
    subject = "Đ" * SUBJECT_MAX
    assert len(subject.encode()) > SUBJECT_MAX
    validate_document(_with(_set_subject(subject)))


@pytest.mark.parametrize(
    ("field", "mutate"),
    [
        ("from_organ.organ_name", lambda d, v: setattr(d.from_organ, "organ_name", v)),
        ("signer_info.full_name", lambda d, v: setattr(d.signer_info, "full_name", v)),
        ("signer_info.position", lambda d, v: setattr(d.signer_info, "position", v)),
        ("signer_info.competence", lambda d, v: setattr(d.signer_info, "competence", v)),
        ("code.code_notation", lambda d, v: setattr(d.code, "code_notation", v)),
        ("document_type.type_name", lambda d, v: setattr(d.document_type, "type_name", v)),
    ],
)
def test_short_text_fields_are_limited_to_500_characters(
    field: str, mutate: Callable[[pb.Document, str], None]
) -> None:
    assert SHORT_TEXT_MAX == 500
    validate_document(_with(lambda d: mutate(d, "x" * 500)))
    error = _refusal(_with(lambda d: mutate(d, "x" * 501)))
    assert error.field == field


@pytest.mark.parametrize("subject", ["", " ", "\t\n  "])
def test_a_blank_subject_is_required(subject: str) -> None:
    error = _refusal(_with(_set_subject(subject)))
    assert (error.field, error.reason) == ("subject", "required")


def test_an_attachment_without_a_name_is_refused() -> None:
    error = _refusal(_with(lambda d: d.attachments.append(pb.Attachment(content=b"x"))))
    assert (error.field, error.reason) == ("attachments[1].name", "required")


@given(st.text(min_size=1, max_size=SUBJECT_MAX).filter(str.strip))
def test_any_non_blank_subject_up_to_500_characters_passes(subject: str) -> None:
    validate_document(pb.Document(subject=subject))


@given(st.text(min_size=SUBJECT_MAX + 1, max_size=SUBJECT_MAX + 50).filter(str.strip))
def test_any_subject_over_500_characters_is_refused(subject: str) -> None:
    assert _refusal(pb.Document(subject=subject)).field == "subject"


# -- numbers and enumerations -------------------------------------------------------------


@pytest.mark.parametrize("priority", [0, 1, 2, 3, 4])
def test_priorities_0_to_4_pass(priority: int) -> None:
    validate_document(_with(lambda d: setattr(d.other_info, "priority", priority)))


@pytest.mark.parametrize("priority", [-1, 5, 99])
def test_priority_outside_0_to_4_is_refused(priority: int) -> None:
    error = _refusal(_with(lambda d: setattr(d.other_info, "priority", priority)))
    assert error.field == "other_info.priority"


@pytest.mark.parametrize("steering", [0, 1, 2])
def test_steering_types_0_to_2_pass(steering: int) -> None:
    validate_document(_with(lambda d: setattr(d, "steering_type", steering)))


@pytest.mark.parametrize("steering", [-1, 3])
def test_steering_type_outside_0_to_2_is_refused(steering: int) -> None:
    assert _refusal(_with(lambda d: setattr(d, "steering_type", steering))).field == "steering_type"


@pytest.mark.parametrize("business_type", [4, 99, -1])
def test_unknown_business_type_is_refused(business_type: int) -> None:
    error = _refusal(_with(lambda d: setattr(d, "business_type", business_type)))
    assert error.field == "business_type"


@pytest.mark.parametrize(
    "business_type", [pb.BUSINESS_TYPE_REVOKE, pb.BUSINESS_TYPE_UPDATE, pb.BUSINESS_TYPE_REPLACE]
)
def test_revoke_update_and_replace_require_refers_to(
    business_type: pb.BusinessType,
) -> None:
    error = _refusal(_with(lambda d: setattr(d, "business_type", business_type)))
    assert error.field == "refers_to"

    def with_reference(d: pb.Document) -> None:
        d.business_type = business_type
        d.refers_to = "6f1c1f9e-3c1b-4f57-9a55-0d7f3b1f2a10"

    validate_document(_with(with_reference))


def test_a_new_document_needs_no_refers_to() -> None:
    validate_document(_with(lambda d: setattr(d, "business_type", pb.BUSINESS_TYPE_NEW)))


# -- dates and identifiers ----------------------------------------------------------------


@pytest.mark.parametrize("date", ["2018/09/20", "2024/02/29", "2025/12/31"])
def test_promulgation_dates_in_yyyy_mm_dd_pass(date: str) -> None:
    validate_document(_with(lambda d: setattr(d.promulgation_info, "promulgation_date", date)))


@pytest.mark.parametrize(
    "date",
    ["20/09/2018", "2018-09-20", "2018/13/01", "2018/02/30", "2023/02/29", "18/09/20", "tomorrow"],
)
def test_promulgation_date_not_in_yyyy_mm_dd_is_refused(date: str) -> None:
    error = _refusal(_with(lambda d: setattr(d.promulgation_info, "promulgation_date", date)))
    assert error.field == "promulgation_info.promulgation_date"
    assert "yyyy/MM/dd" in error.reason


@pytest.mark.parametrize("date", ["2018/9/20", "2018/09/ 2"])
def test_promulgation_date_needs_two_digit_month_and_day(date: str) -> None:
    error = _refusal(_with(lambda d: setattr(d.promulgation_info, "promulgation_date", date)))
    assert error.field == "promulgation_info.promulgation_date"


@pytest.mark.parametrize(
    "document_id",
    [
        "000.00.00.G22,2018/09/20,7816/VPCP-TTĐT",
        "H55.242,2025/07/01,15/QĐ-UBND",
        "000.00.00.G09,2025/01/02,09/2025/QĐ-TTg",
    ],
)
def test_edxml_document_ids_pass(document_id: str) -> None:
    validate_document(_with(lambda d: setattr(d, "edxml_document_id", document_id)))


@pytest.mark.parametrize(
    "document_id",
    [
        "000.00.00.G22",
        "000.00.00.G22,2018/09/20",
        "000.00.00.G22,2018/09/20,",
        "000.00.00.g22,2018/09/20,7816/VPCP-TTĐT",
        "000..00.G22,2018/09/20,7816/VPCP-TTĐT",
        "000.00.00.G22,20/09/2018,7816/VPCP-TTĐT",
        "000.00.00.G22,2018/9/20,7816/VPCP-TTĐT",
        "000.00.00.G22,2018/02/30,7816/VPCP-TTĐT",
        "000.00.00.G22,2018/09/20,7816/VPCP,TTĐT",
        "000.00.00.G22,2018/09/20," + "7" * 101,
        " 000.00.00.G22,2018/09/20,7816/VPCP-TTĐT",
    ],
)
def test_malformed_edxml_document_id_is_refused(document_id: str) -> None:
    error = _refusal(_with(lambda d: setattr(d, "edxml_document_id", document_id)))
    assert error.field == "edxml_document_id"


def test_from_organ_must_carry_an_agency_code() -> None:
    error = _refusal(_with(lambda d: setattr(d.from_organ, "organ_id", "Văn phòng")))
    assert error.field == "from_organ.organ_id"


def test_a_duplicate_recipient_organ_is_refused_naming_its_position() -> None:
    error = _refusal(_with(lambda d: d.to_organs.append(pb.Organization(organ_id=H49))))
    assert error.field == "to_organs[2].organ_id"
    assert H49 in error.reason
    assert "twice" in error.reason


def test_a_recipient_organ_must_carry_an_agency_code() -> None:
    error = _refusal(_with(lambda d: d.to_organs.append(pb.Organization(organ_id="not a code"))))
    assert error.field == "to_organs[2].organ_id"


# -- every other MessageHeader field ------------------------------------------------------


def _set(path: str, value: object) -> Mutation:
    def mutate(d: pb.Document) -> None:
        target: object = d
        *parents, last = path.split(".")
        for name in parents:
            target = getattr(target, name)
        setattr(target, last, value)

    return mutate


BAD_FIELDS = [
    # (mutation, field the error must name, words of the reason)
    (_set("from_organ.organ_add", "x" * 501), "from_organ.organ_add", "at most 500"),
    (
        _set("from_organ.organization_in_charge", "x" * 501),
        "from_organ.organization_in_charge",
        "500",
    ),
    (_set("from_organ.email", "vanthu-at-chinhphu.vn"), "from_organ.email", "not an e-mail"),
    (_set("from_organ.telephone", "080-4x"), "from_organ.telephone", "digits"),
    (_set("from_organ.fax", "9" * 31), "from_organ.fax", "30 characters"),
    (_set("from_organ.website", "w" * 255), "from_organ.website", "at most 254"),
    (_set("code.code_number", "78a"), "code.code_number", "digits"),
    (_set("code.code_number", "1" * 12), "code.code_number", "11 digits"),
    (_set("promulgation_info.place", "p" * 501), "promulgation_info.place", "500"),
    (_set("document_type.type", -1), "document_type.type", "negative"),
    (_set("document_type.type_detail", "t" * 501), "document_type.type_detail", "500"),
    (_set("due_date", "2026-12-01"), "due_date", "yyyy/MM/dd"),
    (_set("other_info.promulgation_amount", -3), "other_info.promulgation_amount", "negative"),
    (_set("other_info.page_amount", -1), "other_info.page_amount", "negative"),
    (_set("other_info.direction", "d" * 501), "other_info.direction", "500"),
    (_set("refers_to", "d1"), "refers_to", "UUID"),
    (
        lambda d: d.to_organs[0].__setattr__("email", "no-at-sign"),
        "to_organs[0].email",
        "e-mail",
    ),
    (
        lambda d: d.response_for.append(pb.ResponseFor(organ_id="nope")),
        "response_for[0].organ_id",
        "agency code",
    ),
    (
        lambda d: d.response_for.append(
            pb.ResponseFor(organ_id=G15, promulgation_date="2018/02/30")
        ),
        "response_for[0].promulgation_date",
        "yyyy/MM/dd",
    ),
    (
        lambda d: d.response_for.append(pb.ResponseFor(organ_id=G15, document_id="7816")),
        "response_for[0].document_id",
        "OrganId,yyyy/MM/dd,Number/Notation",
    ),
    (
        lambda d: d.to_places.extend(["Lưu"] * 101),
        "to_places",
        "at most 100 entries",
    ),
    (
        lambda d: d.attachments.append(pb.Attachment(name="a.pdf", description="x" * 501)),
        "attachments[1].description",
        "500",
    ),
    (
        lambda d: d.edxml_extensions.append(pb.EdxmlExtension(parent="edXML", xml="<a/>" * 20000)),
        "edxml_extensions[0].xml",
        "bytes",
    ),
]


@pytest.mark.parametrize(("mutate", "field", "words"), BAD_FIELDS)
def test_every_header_field_is_checked_and_named(mutate: Mutation, field: str, words: str) -> None:
    error = _refusal(_with(mutate))
    assert error.field == field
    assert words in error.reason


def test_contact_details_and_answers_in_their_usual_forms_pass() -> None:
    def fill(d: pb.Document) -> None:
        d.from_organ.email = "vpcp@chinhphu.vn"
        d.from_organ.telephone = "+84 (24) 3825.8261"
        d.from_organ.fax = "024-3823-2761"
        d.due_date = "2026/12/31"
        d.other_info.promulgation_amount = 10
        d.response_for.append(
            pb.ResponseFor(
                organ_id=G15,
                code="15/QĐ-BTP",
                promulgation_date="2026/11/01",
                document_id="000.00.00.G15,2026/11/01,15/QĐ-BTP",
            )
        )

    validate_document(_with(fill))


def test_a_new_document_refers_to_nothing() -> None:
    error = _refusal(
        _set("refers_to", "6f1c1f9e-3c1b-4f57-9a55-0d7f3b1f2a10")(_valid())
        or _with(_set("refers_to", "6f1c1f9e-3c1b-4f57-9a55-0d7f3b1f2a10"))
    )
    assert error.field == "refers_to" and "only revoke" in error.reason
