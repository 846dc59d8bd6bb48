"""Members' signatures, checked offline for the auditor: the protobuf-aware half of the audit.

The ledger keeps, in each event caused by a member's message, the exact EnvelopeHeader bytes
the member signed and its Ed25519 signature (base64). ``ledger.audit`` finds those claims
but may not parse protobuf or do crypto; this module does, with the same rules the hub
applied on intake: the key is looked up by (sender, key id) and must have been valid, and
not revoked, at the header's ``signed_at_ms`` (``hub.registry``), and the signature covers
``truc.v1/envelope\\n`` + header bytes. On top, the header must say what the event says:
the same signer and the same message id, so a valid signature cannot be pasted onto
another member's event. Where the member sealed several messages together, the ledger keeps,
in the signature's place, the serialised ``TreeInclusion`` (the signed head of the tree of
headers and this header's inclusion proof): each tree head is checked once per process.

``build_checker`` is a module-level function so the audit's worker processes can import it.

Speed: verifying Ed25519 is most of an audit's time. The checker uses
``adapters.crypto.verify_raw``, libsodium through PyNaCl (about twice as fast as OpenSSL here),
the very function the hub judges intake with. ``build_openssl_checker`` checks with OpenSSL
instead, to compare the two; libsodium is, if anything, the stricter (it refuses small-order
keys and non-canonical signatures).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from google.protobuf.message import DecodeError

from adapters.crypto import verify_raw
from adapters.envelope import TreeHeads, check_sealed_bytes
from adapters.pb.truc.v1 import envelope_pb2
from hub.errors import MalformedMessage
from hub.registry import Member, MemberKey, Registry, RegistryError
from ledger.audit import MemberRecord, SignedClaim

__all__ = ["MemberSignatureChecker", "build_checker", "build_openssl_checker"]


def _registry(members: Sequence[MemberRecord]) -> Registry:
    return Registry(
        (
            Member(
                code=m.code,
                name=m.name,
                kind=m.kind,
                keys=tuple(
                    MemberKey(
                        key_id=k.key_id,
                        public_key=k.public_key,
                        valid_from_ms=k.valid_from_ms,
                        valid_until_ms=k.valid_until_ms,
                        revoked_from_ms=k.revoked_from_ms,
                    )
                    for k in m.keys
                ),
            )
            for m in members
        ),
        (),
    )


VerifyFn = Callable[[bytes, bytes, bytes], bool]
"""``(public key, message, signature) -> bool``"""


def _openssl_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """OpenSSL's Ed25519 (through ``cryptography``), for comparison with libsodium."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _decode(text: str, field: str) -> bytes | str:
    """Bytes, or the reason they cannot be had."""
    if not text:
        return f"{field} is empty"
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return f"{field} is not base64"


class MemberSignatureChecker:
    """Checks one event's member signature; returns None when valid, else the reason."""

    def __init__(self, members: Sequence[MemberRecord], *, prefer_sodium: bool = True) -> None:
        self._registry = _registry(members)
        self._verify: VerifyFn = verify_raw if prefer_sodium else _openssl_verify
        # Headers sealed together share one signed tree head: checked once per process.
        self._heads = TreeHeads(
            lambda key, context, data, signature: self._verify(key, context + data, signature)
        )

    def __call__(self, claim: SignedClaim) -> str | None:
        header_bytes = _decode(claim.header_b64, "header_b64")
        if isinstance(header_bytes, str):
            return header_bytes
        signature = _decode(claim.signature_b64, "signature_b64")
        if isinstance(signature, str):
            return signature
        header = envelope_pb2.EnvelopeHeader()
        try:
            header.ParseFromString(header_bytes)
        except (DecodeError, RecursionError, ValueError):
            return "header_b64 is not an EnvelopeHeader"
        if claim.signer is not None and header.sender != claim.signer:
            return (
                f"the event names {claim.signer or 'nobody'} as the signer, but the signed "
                f"header is from {header.sender}"
            )
        if claim.message_id is not None and header.message_id != claim.message_id:
            return (
                f"the event is about message {claim.message_id}, but the signed header is "
                f"message {header.message_id}"
            )
        try:
            key = self._registry.key(header.sender, header.key_id, header.signed_at_ms)
        except RegistryError as error:
            return f"signed at {header.signed_at_ms} ms: {error.reason}"
        try:
            check_sealed_bytes(
                header_bytes,
                signature,
                public_key=key.public_key,
                sender=header.sender,
                key_id=header.key_id,
                heads=self._heads,
            )
        except MalformedMessage as error:
            return f"the signature does not verify with key {key.key_id} of {header.sender}" + (
                "" if error.field == "envelope.signature" else f" ({error})"
            )
        return None


def build_checker(members: Sequence[MemberRecord]) -> MemberSignatureChecker:
    """The ``SignatureCheckerFactory`` for ``ledger.audit.verify_bundle``."""
    return MemberSignatureChecker(members)


def build_openssl_checker(members: Sequence[MemberRecord]) -> MemberSignatureChecker:
    """Like ``build_checker`` but with OpenSSL through ``cryptography`` (to compare)."""
    return MemberSignatureChecker(members, prefer_sodium=False)
