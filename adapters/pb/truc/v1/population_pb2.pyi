from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class VerifyRequest(_message.Message):
    __slots__ = ("id_number", "full_name", "date_of_birth", "purpose", "legal_basis", "officer", "attributes", "timeout_ms")
    ID_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FULL_NAME_FIELD_NUMBER: _ClassVar[int]
    DATE_OF_BIRTH_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    OFFICER_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    id_number: str
    full_name: str
    date_of_birth: str
    purpose: str
    legal_basis: str
    officer: str
    attributes: _containers.RepeatedScalarFieldContainer[str]
    timeout_ms: int
    def __init__(self, id_number: _Optional[str] = ..., full_name: _Optional[str] = ..., date_of_birth: _Optional[str] = ..., purpose: _Optional[str] = ..., legal_basis: _Optional[str] = ..., officer: _Optional[str] = ..., attributes: _Optional[_Iterable[str]] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class VerifyResponse(_message.Message):
    __slots__ = ("lookup_id", "matched", "attributes", "answered_by", "ledger_position")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LOOKUP_ID_FIELD_NUMBER: _ClassVar[int]
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_BY_FIELD_NUMBER: _ClassVar[int]
    LEDGER_POSITION_FIELD_NUMBER: _ClassVar[int]
    lookup_id: str
    matched: bool
    attributes: _containers.ScalarMap[str, str]
    answered_by: str
    ledger_position: int
    def __init__(self, lookup_id: _Optional[str] = ..., matched: _Optional[bool] = ..., attributes: _Optional[_Mapping[str, str]] = ..., answered_by: _Optional[str] = ..., ledger_position: _Optional[int] = ...) -> None: ...

class LookupRequest(_message.Message):
    __slots__ = ("id_number", "full_name", "date_of_birth", "purpose", "legal_basis", "officer", "attributes", "nonce", "wait_until_ms")
    ID_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FULL_NAME_FIELD_NUMBER: _ClassVar[int]
    DATE_OF_BIRTH_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    OFFICER_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    WAIT_UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    id_number: str
    full_name: str
    date_of_birth: str
    purpose: str
    legal_basis: str
    officer: str
    attributes: _containers.RepeatedScalarFieldContainer[str]
    nonce: bytes
    wait_until_ms: int
    def __init__(self, id_number: _Optional[str] = ..., full_name: _Optional[str] = ..., date_of_birth: _Optional[str] = ..., purpose: _Optional[str] = ..., legal_basis: _Optional[str] = ..., officer: _Optional[str] = ..., attributes: _Optional[_Iterable[str]] = ..., nonce: _Optional[bytes] = ..., wait_until_ms: _Optional[int] = ...) -> None: ...

class LookupAnswer(_message.Message):
    __slots__ = ("request_message_id", "id_number", "matched", "attributes", "nonce")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUEST_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    ID_NUMBER_FIELD_NUMBER: _ClassVar[int]
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    request_message_id: str
    id_number: str
    matched: bool
    attributes: _containers.ScalarMap[str, str]
    nonce: bytes
    def __init__(self, request_message_id: _Optional[str] = ..., id_number: _Optional[str] = ..., matched: _Optional[bool] = ..., attributes: _Optional[_Mapping[str, str]] = ..., nonce: _Optional[bytes] = ...) -> None: ...

class RegisterVerifyRequest(_message.Message):
    __slots__ = ("id_number", "full_name", "date_of_birth", "attributes")
    ID_NUMBER_FIELD_NUMBER: _ClassVar[int]
    FULL_NAME_FIELD_NUMBER: _ClassVar[int]
    DATE_OF_BIRTH_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    id_number: str
    full_name: str
    date_of_birth: str
    attributes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id_number: _Optional[str] = ..., full_name: _Optional[str] = ..., date_of_birth: _Optional[str] = ..., attributes: _Optional[_Iterable[str]] = ...) -> None: ...

class RegisterVerifyResponse(_message.Message):
    __slots__ = ("matched", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    matched: bool
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, matched: _Optional[bool] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...
