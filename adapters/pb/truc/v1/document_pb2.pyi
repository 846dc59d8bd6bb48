from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BusinessType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUSINESS_TYPE_NEW: _ClassVar[BusinessType]
    BUSINESS_TYPE_REVOKE: _ClassVar[BusinessType]
    BUSINESS_TYPE_UPDATE: _ClassVar[BusinessType]
    BUSINESS_TYPE_REPLACE: _ClassVar[BusinessType]
BUSINESS_TYPE_NEW: BusinessType
BUSINESS_TYPE_REVOKE: BusinessType
BUSINESS_TYPE_UPDATE: BusinessType
BUSINESS_TYPE_REPLACE: BusinessType

class Organization(_message.Message):
    __slots__ = ("organ_id", "organization_in_charge", "organ_name", "organ_add", "email", "telephone", "fax", "website")
    ORGAN_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_IN_CHARGE_FIELD_NUMBER: _ClassVar[int]
    ORGAN_NAME_FIELD_NUMBER: _ClassVar[int]
    ORGAN_ADD_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    TELEPHONE_FIELD_NUMBER: _ClassVar[int]
    FAX_FIELD_NUMBER: _ClassVar[int]
    WEBSITE_FIELD_NUMBER: _ClassVar[int]
    organ_id: str
    organization_in_charge: str
    organ_name: str
    organ_add: str
    email: str
    telephone: str
    fax: str
    website: str
    def __init__(self, organ_id: _Optional[str] = ..., organization_in_charge: _Optional[str] = ..., organ_name: _Optional[str] = ..., organ_add: _Optional[str] = ..., email: _Optional[str] = ..., telephone: _Optional[str] = ..., fax: _Optional[str] = ..., website: _Optional[str] = ...) -> None: ...

class DocumentCode(_message.Message):
    __slots__ = ("code_number", "code_notation")
    CODE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CODE_NOTATION_FIELD_NUMBER: _ClassVar[int]
    code_number: str
    code_notation: str
    def __init__(self, code_number: _Optional[str] = ..., code_notation: _Optional[str] = ...) -> None: ...

class PromulgationInfo(_message.Message):
    __slots__ = ("place", "promulgation_date")
    PLACE_FIELD_NUMBER: _ClassVar[int]
    PROMULGATION_DATE_FIELD_NUMBER: _ClassVar[int]
    place: str
    promulgation_date: str
    def __init__(self, place: _Optional[str] = ..., promulgation_date: _Optional[str] = ...) -> None: ...

class DocumentType(_message.Message):
    __slots__ = ("type", "type_detail", "type_name")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TYPE_DETAIL_FIELD_NUMBER: _ClassVar[int]
    TYPE_NAME_FIELD_NUMBER: _ClassVar[int]
    type: int
    type_detail: str
    type_name: str
    def __init__(self, type: _Optional[int] = ..., type_detail: _Optional[str] = ..., type_name: _Optional[str] = ...) -> None: ...

class SignerInfo(_message.Message):
    __slots__ = ("competence", "position", "full_name")
    COMPETENCE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    FULL_NAME_FIELD_NUMBER: _ClassVar[int]
    competence: str
    position: str
    full_name: str
    def __init__(self, competence: _Optional[str] = ..., position: _Optional[str] = ..., full_name: _Optional[str] = ...) -> None: ...

class OtherInfo(_message.Message):
    __slots__ = ("priority", "sphere_of_promulgation", "typer_notation", "promulgation_amount", "page_amount", "direction", "appendixes")
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    SPHERE_OF_PROMULGATION_FIELD_NUMBER: _ClassVar[int]
    TYPER_NOTATION_FIELD_NUMBER: _ClassVar[int]
    PROMULGATION_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PAGE_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    APPENDIXES_FIELD_NUMBER: _ClassVar[int]
    priority: int
    sphere_of_promulgation: str
    typer_notation: str
    promulgation_amount: int
    page_amount: int
    direction: str
    appendixes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, priority: _Optional[int] = ..., sphere_of_promulgation: _Optional[str] = ..., typer_notation: _Optional[str] = ..., promulgation_amount: _Optional[int] = ..., page_amount: _Optional[int] = ..., direction: _Optional[str] = ..., appendixes: _Optional[_Iterable[str]] = ...) -> None: ...

class ResponseFor(_message.Message):
    __slots__ = ("organ_id", "code", "promulgation_date", "document_id")
    ORGAN_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    PROMULGATION_DATE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    organ_id: str
    code: str
    promulgation_date: str
    document_id: str
    def __init__(self, organ_id: _Optional[str] = ..., code: _Optional[str] = ..., promulgation_date: _Optional[str] = ..., document_id: _Optional[str] = ...) -> None: ...

class Attachment(_message.Message):
    __slots__ = ("content_id", "name", "description", "content_type", "content", "object_name", "size", "sha256")
    CONTENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    OBJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    content_id: str
    name: str
    description: str
    content_type: str
    content: bytes
    object_name: str
    size: int
    sha256: bytes
    def __init__(self, content_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., content_type: _Optional[str] = ..., content: _Optional[bytes] = ..., object_name: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[bytes] = ...) -> None: ...

class Document(_message.Message):
    __slots__ = ("from_organ", "to_organs", "code", "promulgation_info", "document_type", "subject", "content", "signer_info", "due_date", "to_places", "other_info", "response_for", "steering_type", "edxml_document_id", "business_type", "refers_to", "attachments", "edxml_extensions")
    FROM_ORGAN_FIELD_NUMBER: _ClassVar[int]
    TO_ORGANS_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    PROMULGATION_INFO_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SIGNER_INFO_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_PLACES_FIELD_NUMBER: _ClassVar[int]
    OTHER_INFO_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FOR_FIELD_NUMBER: _ClassVar[int]
    STEERING_TYPE_FIELD_NUMBER: _ClassVar[int]
    EDXML_DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_TYPE_FIELD_NUMBER: _ClassVar[int]
    REFERS_TO_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    EDXML_EXTENSIONS_FIELD_NUMBER: _ClassVar[int]
    from_organ: Organization
    to_organs: _containers.RepeatedCompositeFieldContainer[Organization]
    code: DocumentCode
    promulgation_info: PromulgationInfo
    document_type: DocumentType
    subject: str
    content: str
    signer_info: SignerInfo
    due_date: str
    to_places: _containers.RepeatedScalarFieldContainer[str]
    other_info: OtherInfo
    response_for: _containers.RepeatedCompositeFieldContainer[ResponseFor]
    steering_type: int
    edxml_document_id: str
    business_type: BusinessType
    refers_to: str
    attachments: _containers.RepeatedCompositeFieldContainer[Attachment]
    edxml_extensions: _containers.RepeatedCompositeFieldContainer[EdxmlExtension]
    def __init__(self, from_organ: _Optional[_Union[Organization, _Mapping]] = ..., to_organs: _Optional[_Iterable[_Union[Organization, _Mapping]]] = ..., code: _Optional[_Union[DocumentCode, _Mapping]] = ..., promulgation_info: _Optional[_Union[PromulgationInfo, _Mapping]] = ..., document_type: _Optional[_Union[DocumentType, _Mapping]] = ..., subject: _Optional[str] = ..., content: _Optional[str] = ..., signer_info: _Optional[_Union[SignerInfo, _Mapping]] = ..., due_date: _Optional[str] = ..., to_places: _Optional[_Iterable[str]] = ..., other_info: _Optional[_Union[OtherInfo, _Mapping]] = ..., response_for: _Optional[_Iterable[_Union[ResponseFor, _Mapping]]] = ..., steering_type: _Optional[int] = ..., edxml_document_id: _Optional[str] = ..., business_type: _Optional[_Union[BusinessType, str]] = ..., refers_to: _Optional[str] = ..., attachments: _Optional[_Iterable[_Union[Attachment, _Mapping]]] = ..., edxml_extensions: _Optional[_Iterable[_Union[EdxmlExtension, _Mapping]]] = ...) -> None: ...

class EdxmlExtension(_message.Message):
    __slots__ = ("parent", "index", "xml")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    XML_FIELD_NUMBER: _ClassVar[int]
    parent: str
    index: int
    xml: str
    def __init__(self, parent: _Optional[str] = ..., index: _Optional[int] = ..., xml: _Optional[str] = ...) -> None: ...

class StaffInfo(_message.Message):
    __slots__ = ("department", "staff", "email", "mobile")
    DEPARTMENT_FIELD_NUMBER: _ClassVar[int]
    STAFF_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    MOBILE_FIELD_NUMBER: _ClassVar[int]
    department: str
    staff: str
    email: str
    mobile: str
    def __init__(self, department: _Optional[str] = ..., staff: _Optional[str] = ..., email: _Optional[str] = ..., mobile: _Optional[str] = ...) -> None: ...

class StatusUpdate(_message.Message):
    __slots__ = ("document_id", "status_code", "description", "staff", "timestamp_ms")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STAFF_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    status_code: str
    description: str
    staff: StaffInfo
    timestamp_ms: int
    def __init__(self, document_id: _Optional[str] = ..., status_code: _Optional[str] = ..., description: _Optional[str] = ..., staff: _Optional[_Union[StaffInfo, _Mapping]] = ..., timestamp_ms: _Optional[int] = ...) -> None: ...
