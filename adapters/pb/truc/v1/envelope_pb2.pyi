from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MessageKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_KIND_UNSPECIFIED: _ClassVar[MessageKind]
    MESSAGE_KIND_DOCUMENT: _ClassVar[MessageKind]
    MESSAGE_KIND_STATUS: _ClassVar[MessageKind]
    MESSAGE_KIND_DELIVERY: _ClassVar[MessageKind]
    MESSAGE_KIND_DOSSIER: _ClassVar[MessageKind]
    MESSAGE_KIND_POSTAL: _ClassVar[MessageKind]
    MESSAGE_KIND_LOOKUP: _ClassVar[MessageKind]
    MESSAGE_KIND_LOOKUP_ANSWER: _ClassVar[MessageKind]
MESSAGE_KIND_UNSPECIFIED: MessageKind
MESSAGE_KIND_DOCUMENT: MessageKind
MESSAGE_KIND_STATUS: MessageKind
MESSAGE_KIND_DELIVERY: MessageKind
MESSAGE_KIND_DOSSIER: MessageKind
MESSAGE_KIND_POSTAL: MessageKind
MESSAGE_KIND_LOOKUP: MessageKind
MESSAGE_KIND_LOOKUP_ANSWER: MessageKind

class EnvelopeHeader(_message.Message):
    __slots__ = ("version", "message_id", "kind", "sender", "recipients", "document_id", "signed_at_ms", "key_id", "payload_sha256", "payload_size", "attachments")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_SHA256_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_SIZE_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    version: int
    message_id: str
    kind: MessageKind
    sender: str
    recipients: _containers.RepeatedScalarFieldContainer[str]
    document_id: str
    signed_at_ms: int
    key_id: str
    payload_sha256: bytes
    payload_size: int
    attachments: _containers.RepeatedCompositeFieldContainer[AttachmentDigest]
    def __init__(self, version: _Optional[int] = ..., message_id: _Optional[str] = ..., kind: _Optional[_Union[MessageKind, str]] = ..., sender: _Optional[str] = ..., recipients: _Optional[_Iterable[str]] = ..., document_id: _Optional[str] = ..., signed_at_ms: _Optional[int] = ..., key_id: _Optional[str] = ..., payload_sha256: _Optional[bytes] = ..., payload_size: _Optional[int] = ..., attachments: _Optional[_Iterable[_Union[AttachmentDigest, _Mapping]]] = ...) -> None: ...

class AttachmentDigest(_message.Message):
    __slots__ = ("name", "sha256", "size")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    name: str
    sha256: bytes
    size: int
    def __init__(self, name: _Optional[str] = ..., sha256: _Optional[bytes] = ..., size: _Optional[int] = ...) -> None: ...

class Envelope(_message.Message):
    __slots__ = ("header", "signature", "payload", "sealed")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SEALED_FIELD_NUMBER: _ClassVar[int]
    header: bytes
    signature: bytes
    payload: bytes
    sealed: bytes
    def __init__(self, header: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., payload: _Optional[bytes] = ..., sealed: _Optional[bytes] = ...) -> None: ...

class EnvelopeTreeHead(_message.Message):
    __slots__ = ("version", "sender", "key_id", "tree_size", "root_hash")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    ROOT_HASH_FIELD_NUMBER: _ClassVar[int]
    version: int
    sender: str
    key_id: str
    tree_size: int
    root_hash: bytes
    def __init__(self, version: _Optional[int] = ..., sender: _Optional[str] = ..., key_id: _Optional[str] = ..., tree_size: _Optional[int] = ..., root_hash: _Optional[bytes] = ...) -> None: ...

class HubStamp(_message.Message):
    __slots__ = ("version", "message_id", "recipient", "ledger_position", "received_at_ms", "header_sha256", "sender_public_key", "hub_key_id")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    LEDGER_POSITION_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    HEADER_SHA256_FIELD_NUMBER: _ClassVar[int]
    SENDER_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    HUB_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    version: int
    message_id: str
    recipient: str
    ledger_position: int
    received_at_ms: int
    header_sha256: bytes
    sender_public_key: bytes
    hub_key_id: str
    def __init__(self, version: _Optional[int] = ..., message_id: _Optional[str] = ..., recipient: _Optional[str] = ..., ledger_position: _Optional[int] = ..., received_at_ms: _Optional[int] = ..., header_sha256: _Optional[bytes] = ..., sender_public_key: _Optional[bytes] = ..., hub_key_id: _Optional[str] = ...) -> None: ...

class RoutedEnvelope(_message.Message):
    __slots__ = ("envelope", "stamp", "hub_signature", "stamps")
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    STAMP_FIELD_NUMBER: _ClassVar[int]
    HUB_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    STAMPS_FIELD_NUMBER: _ClassVar[int]
    envelope: bytes
    stamp: bytes
    hub_signature: bytes
    stamps: TreeInclusion
    def __init__(self, envelope: _Optional[bytes] = ..., stamp: _Optional[bytes] = ..., hub_signature: _Optional[bytes] = ..., stamps: _Optional[_Union[TreeInclusion, _Mapping]] = ...) -> None: ...

class StampTreeHead(_message.Message):
    __slots__ = ("version", "recipient", "tree_size", "root_hash", "hub_key_id")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    TREE_SIZE_FIELD_NUMBER: _ClassVar[int]
    ROOT_HASH_FIELD_NUMBER: _ClassVar[int]
    HUB_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    version: int
    recipient: str
    tree_size: int
    root_hash: bytes
    hub_key_id: str
    def __init__(self, version: _Optional[int] = ..., recipient: _Optional[str] = ..., tree_size: _Optional[int] = ..., root_hash: _Optional[bytes] = ..., hub_key_id: _Optional[str] = ...) -> None: ...

class TreeInclusion(_message.Message):
    __slots__ = ("head", "signature", "leaf_index", "audit_path")
    HEAD_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    LEAF_INDEX_FIELD_NUMBER: _ClassVar[int]
    AUDIT_PATH_FIELD_NUMBER: _ClassVar[int]
    head: bytes
    signature: bytes
    leaf_index: int
    audit_path: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, head: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., leaf_index: _Optional[int] = ..., audit_path: _Optional[_Iterable[bytes]] = ...) -> None: ...

class Bundle(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, items: _Optional[_Iterable[bytes]] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("version", "message_id", "document_id", "accepted", "ledger_position", "recorded_at_ms", "reject_code", "reject_reason", "delivered_to")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    LEDGER_POSITION_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    REJECT_CODE_FIELD_NUMBER: _ClassVar[int]
    REJECT_REASON_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_TO_FIELD_NUMBER: _ClassVar[int]
    version: int
    message_id: str
    document_id: str
    accepted: bool
    ledger_position: int
    recorded_at_ms: int
    reject_code: str
    reject_reason: str
    delivered_to: str
    def __init__(self, version: _Optional[int] = ..., message_id: _Optional[str] = ..., document_id: _Optional[str] = ..., accepted: _Optional[bool] = ..., ledger_position: _Optional[int] = ..., recorded_at_ms: _Optional[int] = ..., reject_code: _Optional[str] = ..., reject_reason: _Optional[str] = ..., delivered_to: _Optional[str] = ...) -> None: ...

class SignedReceipt(_message.Message):
    __slots__ = ("receipt", "hub_signature", "receipts")
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    HUB_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    receipt: bytes
    hub_signature: bytes
    receipts: bytes
    def __init__(self, receipt: _Optional[bytes] = ..., hub_signature: _Optional[bytes] = ..., receipts: _Optional[bytes] = ...) -> None: ...

class ReceiptBatch(_message.Message):
    __slots__ = ("receipts",)
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    receipts: _containers.RepeatedCompositeFieldContainer[Receipt]
    def __init__(self, receipts: _Optional[_Iterable[_Union[Receipt, _Mapping]]] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("message_id", "delivered_at_ms", "items")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    delivered_at_ms: int
    items: _containers.RepeatedCompositeFieldContainer[DeliveredItem]
    def __init__(self, message_id: _Optional[str] = ..., delivered_at_ms: _Optional[int] = ..., items: _Optional[_Iterable[_Union[DeliveredItem, _Mapping]]] = ...) -> None: ...

class DeliveredItem(_message.Message):
    __slots__ = ("document_id", "message_id")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    message_id: str
    def __init__(self, document_id: _Optional[str] = ..., message_id: _Optional[str] = ...) -> None: ...
