from adapters.pb.truc.v1 import document_pb2 as _document_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AttachmentChunk(_message.Message):
    __slots__ = ("name", "content_type", "description", "data")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    content_type: str
    description: str
    data: bytes
    def __init__(self, name: _Optional[str] = ..., content_type: _Optional[str] = ..., description: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class StoredAttachment(_message.Message):
    __slots__ = ("object_name", "size", "sha256")
    OBJECT_NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    object_name: str
    size: int
    sha256: bytes
    def __init__(self, object_name: _Optional[str] = ..., size: _Optional[int] = ..., sha256: _Optional[bytes] = ...) -> None: ...

class DownloadAttachmentRequest(_message.Message):
    __slots__ = ("document_id", "index")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    index: int
    def __init__(self, document_id: _Optional[str] = ..., index: _Optional[int] = ...) -> None: ...

class SendEdxmlRequest(_message.Message):
    __slots__ = ("edxml", "wait_for_receipt", "document_id", "message_id")
    EDXML_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_RECEIPT_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    edxml: bytes
    wait_for_receipt: bool
    document_id: str
    message_id: str
    def __init__(self, edxml: _Optional[bytes] = ..., wait_for_receipt: _Optional[bool] = ..., document_id: _Optional[str] = ..., message_id: _Optional[str] = ...) -> None: ...

class EdxmlPackage(_message.Message):
    __slots__ = ("document_id", "edxml")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    EDXML_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    edxml: bytes
    def __init__(self, document_id: _Optional[str] = ..., edxml: _Optional[bytes] = ...) -> None: ...

class GetReceiptRequest(_message.Message):
    __slots__ = ("message_id",)
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    def __init__(self, message_id: _Optional[str] = ...) -> None: ...

class ReceiptRecord(_message.Message):
    __slots__ = ("message_id", "document_id", "ledger_position", "accepted", "reject_code", "reject_reason", "tlog_proof", "proof_pending")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    LEDGER_POSITION_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECT_CODE_FIELD_NUMBER: _ClassVar[int]
    REJECT_REASON_FIELD_NUMBER: _ClassVar[int]
    TLOG_PROOF_FIELD_NUMBER: _ClassVar[int]
    PROOF_PENDING_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    document_id: str
    ledger_position: int
    accepted: bool
    reject_code: str
    reject_reason: str
    tlog_proof: str
    proof_pending: bool
    def __init__(self, message_id: _Optional[str] = ..., document_id: _Optional[str] = ..., ledger_position: _Optional[int] = ..., accepted: _Optional[bool] = ..., reject_code: _Optional[str] = ..., reject_reason: _Optional[str] = ..., tlog_proof: _Optional[str] = ..., proof_pending: _Optional[bool] = ...) -> None: ...

class SendDocumentRequest(_message.Message):
    __slots__ = ("recipients", "document", "wait_for_receipt", "document_id", "message_id")
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_RECEIPT_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    recipients: _containers.RepeatedScalarFieldContainer[str]
    document: _document_pb2.Document
    wait_for_receipt: bool
    document_id: str
    message_id: str
    def __init__(self, recipients: _Optional[_Iterable[str]] = ..., document: _Optional[_Union[_document_pb2.Document, _Mapping]] = ..., wait_for_receipt: _Optional[bool] = ..., document_id: _Optional[str] = ..., message_id: _Optional[str] = ...) -> None: ...

class SendDocumentResponse(_message.Message):
    __slots__ = ("document_id", "message_id", "ledger_position", "recorded")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LEDGER_POSITION_FIELD_NUMBER: _ClassVar[int]
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    message_id: str
    ledger_position: int
    recorded: bool
    def __init__(self, document_id: _Optional[str] = ..., message_id: _Optional[str] = ..., ledger_position: _Optional[int] = ..., recorded: _Optional[bool] = ...) -> None: ...

class SendDocumentResult(_message.Message):
    __slots__ = ("index", "sent", "error")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    index: int
    sent: SendDocumentResponse
    error: SendDocumentError
    def __init__(self, index: _Optional[int] = ..., sent: _Optional[_Union[SendDocumentResponse, _Mapping]] = ..., error: _Optional[_Union[SendDocumentError, _Mapping]] = ...) -> None: ...

class SendDocumentError(_message.Message):
    __slots__ = ("code", "field", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    field: str
    message: str
    def __init__(self, code: _Optional[int] = ..., field: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class SendDocumentBatchRequest(_message.Message):
    __slots__ = ("documents",)
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    documents: _containers.RepeatedCompositeFieldContainer[SendDocumentRequest]
    def __init__(self, documents: _Optional[_Iterable[_Union[SendDocumentRequest, _Mapping]]] = ...) -> None: ...

class SendDocumentBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SendDocumentResult]
    def __init__(self, results: _Optional[_Iterable[_Union[SendDocumentResult, _Mapping]]] = ...) -> None: ...

class InboxRequest(_message.Message):
    __slots__ = ("include_acknowledged", "follow", "max_items")
    INCLUDE_ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    MAX_ITEMS_FIELD_NUMBER: _ClassVar[int]
    include_acknowledged: bool
    follow: bool
    max_items: int
    def __init__(self, include_acknowledged: _Optional[bool] = ..., follow: _Optional[bool] = ..., max_items: _Optional[int] = ...) -> None: ...

class InboxBatch(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[InboxItem]
    def __init__(self, items: _Optional[_Iterable[_Union[InboxItem, _Mapping]]] = ...) -> None: ...

class InboxItem(_message.Message):
    __slots__ = ("delivery_id", "message_id", "kind", "document_id", "sender", "ledger_position", "received_at_ms", "acknowledged", "document", "status", "delivered_message_id", "routed_envelope", "attachment_problems")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    LEDGER_POSITION_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ROUTED_ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENT_PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    delivery_id: int
    message_id: str
    kind: str
    document_id: str
    sender: str
    ledger_position: int
    received_at_ms: int
    acknowledged: bool
    document: _document_pb2.Document
    status: _document_pb2.StatusUpdate
    delivered_message_id: str
    routed_envelope: bytes
    attachment_problems: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, delivery_id: _Optional[int] = ..., message_id: _Optional[str] = ..., kind: _Optional[str] = ..., document_id: _Optional[str] = ..., sender: _Optional[str] = ..., ledger_position: _Optional[int] = ..., received_at_ms: _Optional[int] = ..., acknowledged: _Optional[bool] = ..., document: _Optional[_Union[_document_pb2.Document, _Mapping]] = ..., status: _Optional[_Union[_document_pb2.StatusUpdate, _Mapping]] = ..., delivered_message_id: _Optional[str] = ..., routed_envelope: _Optional[bytes] = ..., attachment_problems: _Optional[_Iterable[str]] = ...) -> None: ...

class AckInboxRequest(_message.Message):
    __slots__ = ("delivery_id", "delivery_ids")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_IDS_FIELD_NUMBER: _ClassVar[int]
    delivery_id: int
    delivery_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, delivery_id: _Optional[int] = ..., delivery_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class AckInboxResponse(_message.Message):
    __slots__ = ("already_acknowledged", "acknowledged_ids", "already_acknowledged_ids", "unknown_ids")
    ALREADY_ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_IDS_FIELD_NUMBER: _ClassVar[int]
    ALREADY_ACKNOWLEDGED_IDS_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_IDS_FIELD_NUMBER: _ClassVar[int]
    already_acknowledged: bool
    acknowledged_ids: _containers.RepeatedScalarFieldContainer[int]
    already_acknowledged_ids: _containers.RepeatedScalarFieldContainer[int]
    unknown_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, already_acknowledged: _Optional[bool] = ..., acknowledged_ids: _Optional[_Iterable[int]] = ..., already_acknowledged_ids: _Optional[_Iterable[int]] = ..., unknown_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class UpdateStatusRequest(_message.Message):
    __slots__ = ("document_id", "status_code", "description", "staff", "wait_for_receipt")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    STAFF_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_RECEIPT_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    status_code: str
    description: str
    staff: _document_pb2.StaffInfo
    wait_for_receipt: bool
    def __init__(self, document_id: _Optional[str] = ..., status_code: _Optional[str] = ..., description: _Optional[str] = ..., staff: _Optional[_Union[_document_pb2.StaffInfo, _Mapping]] = ..., wait_for_receipt: _Optional[bool] = ...) -> None: ...

class UpdateStatusResponse(_message.Message):
    __slots__ = ("message_id", "ledger_position", "recorded")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LEDGER_POSITION_FIELD_NUMBER: _ClassVar[int]
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    ledger_position: int
    recorded: bool
    def __init__(self, message_id: _Optional[str] = ..., ledger_position: _Optional[int] = ..., recorded: _Optional[bool] = ...) -> None: ...

class GetDocumentRequest(_message.Message):
    __slots__ = ("document_id",)
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    def __init__(self, document_id: _Optional[str] = ...) -> None: ...

class StatusRecord(_message.Message):
    __slots__ = ("from_member", "status_code", "description", "timestamp_ms")
    FROM_MEMBER_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    from_member: str
    status_code: str
    description: str
    timestamp_ms: int
    def __init__(self, from_member: _Optional[str] = ..., status_code: _Optional[str] = ..., description: _Optional[str] = ..., timestamp_ms: _Optional[int] = ...) -> None: ...

class DocumentRecord(_message.Message):
    __slots__ = ("document_id", "sender", "recipients", "document", "statuses", "direction")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    sender: str
    recipients: _containers.RepeatedScalarFieldContainer[str]
    document: _document_pb2.Document
    statuses: _containers.RepeatedCompositeFieldContainer[StatusRecord]
    direction: str
    def __init__(self, document_id: _Optional[str] = ..., sender: _Optional[str] = ..., recipients: _Optional[_Iterable[str]] = ..., document: _Optional[_Union[_document_pb2.Document, _Mapping]] = ..., statuses: _Optional[_Iterable[_Union[StatusRecord, _Mapping]]] = ..., direction: _Optional[str] = ...) -> None: ...
