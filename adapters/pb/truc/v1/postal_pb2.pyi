from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_KIND_UNSPECIFIED: _ClassVar[OrderKind]
    ORDER_KIND_PICKUP: _ClassVar[OrderKind]
    ORDER_KIND_DELIVERY: _ClassVar[OrderKind]

class OrderState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATE_NOT_USED: _ClassVar[OrderState]
    ORDER_STATE_REGISTERED: _ClassVar[OrderState]
    ORDER_STATE_COLLECTING: _ClassVar[OrderState]
    ORDER_STATE_DELIVERED: _ClassVar[OrderState]
    ORDER_STATE_CANCELLED: _ClassVar[OrderState]
ORDER_KIND_UNSPECIFIED: OrderKind
ORDER_KIND_PICKUP: OrderKind
ORDER_KIND_DELIVERY: OrderKind
ORDER_STATE_NOT_USED: OrderState
ORDER_STATE_REGISTERED: OrderState
ORDER_STATE_COLLECTING: OrderState
ORDER_STATE_DELIVERED: OrderState
ORDER_STATE_CANCELLED: OrderState

class Address(_message.Message):
    __slots__ = ("name", "phone", "province", "district", "commune", "street")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    PROVINCE_FIELD_NUMBER: _ClassVar[int]
    DISTRICT_FIELD_NUMBER: _ClassVar[int]
    COMMUNE_FIELD_NUMBER: _ClassVar[int]
    STREET_FIELD_NUMBER: _ClassVar[int]
    name: str
    phone: str
    province: str
    district: str
    commune: str
    street: str
    def __init__(self, name: _Optional[str] = ..., phone: _Optional[str] = ..., province: _Optional[str] = ..., district: _Optional[str] = ..., commune: _Optional[str] = ..., street: _Optional[str] = ...) -> None: ...

class PostalOrder(_message.Message):
    __slots__ = ("order_id", "kind", "dossier_code", "customer_code", "cod_amount", "sender", "receiver", "weight_grams", "note", "operator")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DOSSIER_CODE_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_CODE_FIELD_NUMBER: _ClassVar[int]
    COD_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_GRAMS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    kind: OrderKind
    dossier_code: str
    customer_code: str
    cod_amount: int
    sender: Address
    receiver: Address
    weight_grams: int
    note: str
    operator: str
    def __init__(self, order_id: _Optional[str] = ..., kind: _Optional[_Union[OrderKind, str]] = ..., dossier_code: _Optional[str] = ..., customer_code: _Optional[str] = ..., cod_amount: _Optional[int] = ..., sender: _Optional[_Union[Address, _Mapping]] = ..., receiver: _Optional[_Union[Address, _Mapping]] = ..., weight_grams: _Optional[int] = ..., note: _Optional[str] = ..., operator: _Optional[str] = ...) -> None: ...

class PostalTracking(_message.Message):
    __slots__ = ("order_id", "dossier_code", "state", "at", "note", "operator_order_number", "sequence")
    ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    DOSSIER_CODE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ORDER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    order_id: str
    dossier_code: str
    state: OrderState
    at: str
    note: str
    operator_order_number: str
    sequence: int
    def __init__(self, order_id: _Optional[str] = ..., dossier_code: _Optional[str] = ..., state: _Optional[_Union[OrderState, str]] = ..., at: _Optional[str] = ..., note: _Optional[str] = ..., operator_order_number: _Optional[str] = ..., sequence: _Optional[int] = ...) -> None: ...

class PostalMessage(_message.Message):
    __slots__ = ("order", "tracking")
    ORDER_FIELD_NUMBER: _ClassVar[int]
    TRACKING_FIELD_NUMBER: _ClassVar[int]
    order: PostalOrder
    tracking: PostalTracking
    def __init__(self, order: _Optional[_Union[PostalOrder, _Mapping]] = ..., tracking: _Optional[_Union[PostalTracking, _Mapping]] = ...) -> None: ...

class CreateOrderRequest(_message.Message):
    __slots__ = ("idempotency_key", "order")
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    order: PostalOrder
    def __init__(self, idempotency_key: _Optional[str] = ..., order: _Optional[_Union[PostalOrder, _Mapping]] = ...) -> None: ...

class GetOrderRequest(_message.Message):
    __slots__ = ("order_number", "idempotency_key")
    ORDER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    order_number: str
    idempotency_key: str
    def __init__(self, order_number: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class OperatorOrder(_message.Message):
    __slots__ = ("order_number", "idempotency_key", "kind", "state", "dossier_code", "created_at_ms")
    ORDER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DOSSIER_CODE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    order_number: str
    idempotency_key: str
    kind: OrderKind
    state: OrderState
    dossier_code: str
    created_at_ms: int
    def __init__(self, order_number: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., kind: _Optional[_Union[OrderKind, str]] = ..., state: _Optional[_Union[OrderState, str]] = ..., dossier_code: _Optional[str] = ..., created_at_ms: _Optional[int] = ...) -> None: ...

class TrackingRequest(_message.Message):
    __slots__ = ("after_sequence", "limit")
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    after_sequence: int
    limit: int
    def __init__(self, after_sequence: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class TrackingEvent(_message.Message):
    __slots__ = ("sequence", "order_number", "idempotency_key", "state", "at_ms", "note")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ORDER_NUMBER_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    AT_MS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    order_number: str
    idempotency_key: str
    state: OrderState
    at_ms: int
    note: str
    def __init__(self, sequence: _Optional[int] = ..., order_number: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., state: _Optional[_Union[OrderState, str]] = ..., at_ms: _Optional[int] = ..., note: _Optional[str] = ...) -> None: ...

class TrackingEvents(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[TrackingEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[TrackingEvent, _Mapping]]] = ...) -> None: ...
