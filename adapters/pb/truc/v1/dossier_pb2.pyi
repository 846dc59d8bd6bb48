from adapters.pb.truc.v1 import postal_pb2 as _postal_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DossierEvent(_message.Message):
    __slots__ = ("code", "at", "officer", "note", "received", "accepted", "not_accepted", "processing", "supplement_requested", "supplement_supplied", "obligation_recorded", "obligation_paid", "withdrawn", "stopped", "finished", "apologized", "result_returned", "transferred")
    CODE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    OFFICER_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    NOT_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_FIELD_NUMBER: _ClassVar[int]
    SUPPLEMENT_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    SUPPLEMENT_SUPPLIED_FIELD_NUMBER: _ClassVar[int]
    OBLIGATION_RECORDED_FIELD_NUMBER: _ClassVar[int]
    OBLIGATION_PAID_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_FIELD_NUMBER: _ClassVar[int]
    STOPPED_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    APOLOGIZED_FIELD_NUMBER: _ClassVar[int]
    RESULT_RETURNED_FIELD_NUMBER: _ClassVar[int]
    TRANSFERRED_FIELD_NUMBER: _ClassVar[int]
    code: str
    at: str
    officer: str
    note: str
    received: DossierReceived
    accepted: Reason
    not_accepted: Reason
    processing: Reason
    supplement_requested: SupplementRequest
    supplement_supplied: Papers
    obligation_recorded: Obligation
    obligation_paid: Reason
    withdrawn: Reason
    stopped: Reason
    finished: Reason
    apologized: Apology
    result_returned: Reason
    transferred: Transfer
    def __init__(self, code: _Optional[str] = ..., at: _Optional[str] = ..., officer: _Optional[str] = ..., note: _Optional[str] = ..., received: _Optional[_Union[DossierReceived, _Mapping]] = ..., accepted: _Optional[_Union[Reason, _Mapping]] = ..., not_accepted: _Optional[_Union[Reason, _Mapping]] = ..., processing: _Optional[_Union[Reason, _Mapping]] = ..., supplement_requested: _Optional[_Union[SupplementRequest, _Mapping]] = ..., supplement_supplied: _Optional[_Union[Papers, _Mapping]] = ..., obligation_recorded: _Optional[_Union[Obligation, _Mapping]] = ..., obligation_paid: _Optional[_Union[Reason, _Mapping]] = ..., withdrawn: _Optional[_Union[Reason, _Mapping]] = ..., stopped: _Optional[_Union[Reason, _Mapping]] = ..., finished: _Optional[_Union[Reason, _Mapping]] = ..., apologized: _Optional[_Union[Apology, _Mapping]] = ..., result_returned: _Optional[_Union[Reason, _Mapping]] = ..., transferred: _Optional[_Union[Transfer, _Mapping]] = ...) -> None: ...

class DossierReceived(_message.Message):
    __slots__ = ("procedure_code", "procedure_name", "owner", "summary", "channel", "working_days", "status", "documents", "fees")
    PROCEDURE_CODE_FIELD_NUMBER: _ClassVar[int]
    PROCEDURE_NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    WORKING_DAYS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    FEES_FIELD_NUMBER: _ClassVar[int]
    procedure_code: str
    procedure_name: str
    owner: str
    summary: str
    channel: int
    working_days: int
    status: int
    documents: _containers.RepeatedCompositeFieldContainer[Paper]
    fees: _containers.RepeatedCompositeFieldContainer[Fee]
    def __init__(self, procedure_code: _Optional[str] = ..., procedure_name: _Optional[str] = ..., owner: _Optional[str] = ..., summary: _Optional[str] = ..., channel: _Optional[int] = ..., working_days: _Optional[int] = ..., status: _Optional[int] = ..., documents: _Optional[_Iterable[_Union[Paper, _Mapping]]] = ..., fees: _Optional[_Iterable[_Union[Fee, _Mapping]]] = ...) -> None: ...

class Paper(_message.Message):
    __slots__ = ("name", "sha256", "size")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    name: str
    sha256: bytes
    size: int
    def __init__(self, name: _Optional[str] = ..., sha256: _Optional[bytes] = ..., size: _Optional[int] = ...) -> None: ...

class Papers(_message.Message):
    __slots__ = ("documents",)
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    documents: _containers.RepeatedCompositeFieldContainer[Paper]
    def __init__(self, documents: _Optional[_Iterable[_Union[Paper, _Mapping]]] = ...) -> None: ...

class Fee(_message.Message):
    __slots__ = ("name", "amount")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    amount: int
    def __init__(self, name: _Optional[str] = ..., amount: _Optional[int] = ...) -> None: ...

class Reason(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class SupplementRequest(_message.Message):
    __slots__ = ("papers",)
    PAPERS_FIELD_NUMBER: _ClassVar[int]
    papers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, papers: _Optional[_Iterable[str]] = ...) -> None: ...

class Obligation(_message.Message):
    __slots__ = ("amount", "description")
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    amount: int
    description: str
    def __init__(self, amount: _Optional[int] = ..., description: _Optional[str] = ...) -> None: ...

class Apology(_message.Message):
    __slots__ = ("new_appointment", "reason")
    NEW_APPOINTMENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    new_appointment: str
    reason: str
    def __init__(self, new_appointment: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Transfer(_message.Message):
    __slots__ = ("to_agency", "reason")
    TO_AGENCY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    to_agency: str
    reason: str
    def __init__(self, to_agency: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DossierRequest(_message.Message):
    __slots__ = ("event", "wait_for_receipt", "message_id")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_RECEIPT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    event: DossierEvent
    wait_for_receipt: bool
    message_id: str
    def __init__(self, event: _Optional[_Union[DossierEvent, _Mapping]] = ..., wait_for_receipt: _Optional[bool] = ..., message_id: _Optional[str] = ...) -> None: ...

class PostalOrderRequest(_message.Message):
    __slots__ = ("order", "wait_for_receipt", "message_id")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_RECEIPT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    order: _postal_pb2.PostalOrder
    wait_for_receipt: bool
    message_id: str
    def __init__(self, order: _Optional[_Union[_postal_pb2.PostalOrder, _Mapping]] = ..., wait_for_receipt: _Optional[bool] = ..., message_id: _Optional[str] = ...) -> None: ...

class DossierAck(_message.Message):
    __slots__ = ("message_id", "ledger_position", "recorded")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LEDGER_POSITION_FIELD_NUMBER: _ClassVar[int]
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    ledger_position: int
    recorded: bool
    def __init__(self, message_id: _Optional[str] = ..., ledger_position: _Optional[int] = ..., recorded: _Optional[bool] = ...) -> None: ...

class GetDossierRequest(_message.Message):
    __slots__ = ("code",)
    CODE_FIELD_NUMBER: _ClassVar[int]
    code: str
    def __init__(self, code: _Optional[str] = ...) -> None: ...

class DossierTraceEntry(_message.Message):
    __slots__ = ("ledger_position", "message_id", "from_member", "event", "postal")
    LEDGER_POSITION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_MEMBER_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    POSTAL_FIELD_NUMBER: _ClassVar[int]
    ledger_position: int
    message_id: str
    from_member: str
    event: DossierEvent
    postal: _postal_pb2.PostalMessage
    def __init__(self, ledger_position: _Optional[int] = ..., message_id: _Optional[str] = ..., from_member: _Optional[str] = ..., event: _Optional[_Union[DossierEvent, _Mapping]] = ..., postal: _Optional[_Union[_postal_pb2.PostalMessage, _Mapping]] = ...) -> None: ...

class DossierTrace(_message.Message):
    __slots__ = ("code", "entries")
    CODE_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    code: str
    entries: _containers.RepeatedCompositeFieldContainer[DossierTraceEntry]
    def __init__(self, code: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[DossierTraceEntry, _Mapping]]] = ...) -> None: ...

class DossierInboxRequest(_message.Message):
    __slots__ = ("include_acknowledged", "follow")
    INCLUDE_ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    include_acknowledged: bool
    follow: bool
    def __init__(self, include_acknowledged: _Optional[bool] = ..., follow: _Optional[bool] = ...) -> None: ...

class DossierInboxItem(_message.Message):
    __slots__ = ("delivery_id", "message_id", "sender", "ledger_position", "received_at_ms", "acknowledged", "event", "postal", "routed_envelope")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    LEDGER_POSITION_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    POSTAL_FIELD_NUMBER: _ClassVar[int]
    ROUTED_ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    delivery_id: int
    message_id: str
    sender: str
    ledger_position: int
    received_at_ms: int
    acknowledged: bool
    event: DossierEvent
    postal: _postal_pb2.PostalMessage
    routed_envelope: bytes
    def __init__(self, delivery_id: _Optional[int] = ..., message_id: _Optional[str] = ..., sender: _Optional[str] = ..., ledger_position: _Optional[int] = ..., received_at_ms: _Optional[int] = ..., acknowledged: _Optional[bool] = ..., event: _Optional[_Union[DossierEvent, _Mapping]] = ..., postal: _Optional[_Union[_postal_pb2.PostalMessage, _Mapping]] = ..., routed_envelope: _Optional[bytes] = ...) -> None: ...

class DossierAckInboxRequest(_message.Message):
    __slots__ = ("delivery_id",)
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    delivery_id: int
    def __init__(self, delivery_id: _Optional[int] = ...) -> None: ...

class DossierAckInboxResponse(_message.Message):
    __slots__ = ("already_acknowledged",)
    ALREADY_ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    already_acknowledged: bool
    def __init__(self, already_acknowledged: _Optional[bool] = ...) -> None: ...
