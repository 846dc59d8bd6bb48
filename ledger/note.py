r"""C2SP signed notes, checkpoints, cosignatures and tlog proofs, with crypto injected.

The ledger is a pure domain layer, so this module never imports a crypto library: signing
is a ``Callable[[bytes], bytes]`` and verification a ``Callable[[bytes, bytes], bool]``
supplied by the adapters (which wrap ``cryptography``'s exceptions into ``False``). What
stays here is everything that must be byte-exact and is easy to get subtly wrong: key ids,
vkey/skey encodings, note framing, checkpoint and proof text, and the verification policy.

Specifications implemented, as understood from their text:

* https://c2sp.org/signed-note - a note is UTF-8 text ending in a newline, then a blank line,
  then one or more lines ``— <name> base64(key id || signature)``; the text is separated
  from the signatures by the *last* blank line. No ASCII control characters except newline.
  Key names are non-empty without Unicode spaces or ``+``. Key id = SHA-256(name || 0x0A ||
  type || public key)[:4]. Signatures from unknown (name, key id) pairs are ignored; a
  known signature that fails to verify rejects the whole note; a note with no verified
  known signature is rejected. Limits: ``MAX_NOTE_SIZE`` bytes and ``MAX_SIGNATURES``
  lines (the spec requires accepting at least 16).
* Verifier keys ``name+hex8(key id)+base64(type || public key)`` and signer keys
  ``PRIVATE+KEY+name+hex8(key id)+base64(type || seed)`` in the form used by Go's
  golang.org/x/mod/sumdb/note. Only type 0x01 (Ed25519) and 0x04 (Ed25519 cosignature/v1)
  are accepted, each with a 32-byte key; hex key ids must be lowercase (fail closed).
* https://c2sp.org/tlog-checkpoint - origin line (non-empty), tree size in ASCII decimal
  without leading zeros, base64 of the 32-byte root, then optional non-empty extension
  lines. Sizes above 2**63 - 1 are refused.
* https://c2sp.org/tlog-cosignature (Ed25519, type 0x04) - the signed message is
  ``cosignature/v1\ntime <unix seconds>\n`` followed by the checkpoint note text; the
  signature is an 8-byte big-endian timestamp (at most 2**63 - 1) then the 64-byte Ed25519
  signature. The ML-DSA-44 subtree format (type 0x06) is not implemented.
* https://c2sp.org/tlog-proof (``c2sp.org/tlog-proof@v1``) - header line, optional
  ``extra <base64>`` line (omitted when there is no extra data, so an empty ``extra`` is
  refused), ``index <decimal>``, zero or more base64 SHA-256 inclusion proof hashes from the
  leaf's sibling upward, an empty line, then the signed checkpoint note verbatim.

Every parser is strict (canonical base64, canonical decimals, exact lengths) and every
failure raises a ``NoteError`` subclass; verification returns a value or raises, never
``False``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ledger.errors import LedgerError
from ledger.merkle import HASH_SIZE, MAX_TREE_SIZE, verify_inclusion

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "COSIGNATURE_V1_HEADER",
    "MAX_NOTE_SIZE",
    "MAX_PROOF_HASHES",
    "MAX_SIGNATURES",
    "MAX_TIMESTAMP",
    "TLOG_PROOF_HEADER",
    "BadSignatureError",
    "Checkpoint",
    "MalformedCheckpointError",
    "MalformedKeyError",
    "MalformedNoteError",
    "MalformedProofError",
    "NoKnownSignatureError",
    "NoteError",
    "NoteSignature",
    "OpenedCheckpoint",
    "OriginMismatchError",
    "ParsedNote",
    "QuorumError",
    "SignFunc",
    "SignerKey",
    "TlogProof",
    "VerifiedNote",
    "Verifier",
    "VerifierKey",
    "VerifyFunc",
    "add_signatures",
    "cosign_note",
    "cosignature_message",
    "cosignature_timestamp",
    "cosignature_verifier",
    "ed25519_verifier",
    "encode_skey",
    "encode_vkey",
    "format_note",
    "is_valid_key_name",
    "key_id",
    "make_cosignature",
    "make_ed25519_signature",
    "open_checkpoint",
    "parse_note",
    "parse_skey",
    "parse_vkey",
    "sign_note",
    "verifier_from_vkey",
    "verifier_map",
    "verify_note",
    "verify_tlog_proof",
]

ALG_ED25519 = 0x01
"""Signature type byte of plain Ed25519 note signatures."""

ALG_COSIGNATURE_V1 = 0x04
"""Signature type byte of timestamped Ed25519 witness cosignatures (cosignature/v1)."""

KEY_ID_SIZE = 4
ED25519_KEY_SIZE = 32
ED25519_SIGNATURE_SIZE = 64
_TIMESTAMP_SIZE = 8

MAX_NOTE_SIZE = 1 << 20
"""Largest note accepted, in UTF-8 bytes: far above any checkpoint, small enough to parse."""

MAX_SIGNATURES = 100
"""Most signature lines accepted in one note (the spec demands at least 16)."""

MAX_TIMESTAMP = 2**63 - 1
"""Largest cosignature timestamp allowed by tlog-cosignature."""

MAX_PROOF_HASHES = 63
"""An inclusion proof in a tree of at most 2**63 - 1 leaves has at most 63 hashes."""

COSIGNATURE_V1_HEADER = "cosignature/v1"
TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1"

_SIG_PREFIX = "\u2014 "  # em dash, space
_SKEY_PREFIX = "PRIVATE+KEY+"
_SUPPORTED_ALGS = frozenset({ALG_ED25519, ALG_COSIGNATURE_V1})
_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_FORBIDDEN_CHAR = re.compile(r"[\x00-\x09\x0b-\x1f]")  # ASCII controls except newline
_MAX_DECIMAL_DIGITS = 19  # len(str(2**63 - 1))

SignFunc = Callable[[bytes], bytes]
"""Signs a message with a key the caller holds; returns the raw signature."""

VerifyFunc = Callable[[bytes, bytes], bool]
"""``(message, signature) -> bool`` for one public key; must not raise on a bad signature."""


# --- errors --------------------------------------------------------------------------------


class NoteError(LedgerError):
    """Root of every signed-note, checkpoint and proof error raised by this module."""


class MalformedNoteError(NoteError, ValueError):
    """A note (or text to sign) breaks the signed-note grammar or limits."""


class MalformedKeyError(NoteError, ValueError):
    """A vkey or skey is malformed, of an unsupported type, or has the wrong key id."""


class MalformedCheckpointError(NoteError, ValueError):
    """A checkpoint body breaks the tlog-checkpoint grammar."""


class MalformedProofError(NoteError, ValueError):
    """A tlog-proof text breaks the tlog-proof@v1 grammar."""


class NoKnownSignatureError(NoteError):
    """No signature from a trusted key (or from the required key) is on the note."""


class BadSignatureError(NoteError):
    """A signature from a trusted key does not verify: the note is rejected outright."""


class QuorumError(NoteError):
    """Fewer trusted witnesses cosigned the checkpoint than the policy requires."""


class OriginMismatchError(NoteError):
    """The checkpoint belongs to another log than the one expected."""


# --- small helpers -------------------------------------------------------------------------


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64decode(text: str, what: str, error: type[NoteError]) -> bytes:
    """Strict standard base64: padded, alphabet only, canonical trailing bits.

    Non-canonical encodings would let one signature or hash have several spellings,
    which breaks byte-for-byte comparison of notes and proofs.
    """
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except ValueError as exc:  # binascii.Error and UnicodeEncodeError are ValueErrors
        raise error(f"{what} is not valid base64") from exc
    if _b64encode(raw) != text:
        raise error(f"{what} is not canonical base64")
    return raw


def _parse_decimal(text: str, what: str, error: type[NoteError], maximum: int) -> int:
    """ASCII decimal without leading zeros, bounded before conversion."""
    if len(text) > _MAX_DECIMAL_DIGITS or not _DECIMAL.fullmatch(text):
        raise error(f"{what} {text!r} is not a canonical decimal")
    value = int(text)
    if value > maximum:
        raise error(f"{what} {value} exceeds {maximum}")
    return value


def _first_bad_char(text: str) -> str | None:
    """A character a note may not contain (ASCII control other than newline), if any."""
    found = _FORBIDDEN_CHAR.search(text)
    return None if found is None else found.group()


def _utf8(text: str, what: str, error: type[NoteError]) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates
        raise error(f"{what} is not valid UTF-8") from exc


def _check_note_text(text: str) -> bytes:
    """Validate the text of a note before signing it; return its UTF-8 bytes."""
    if not isinstance(text, str):
        raise MalformedNoteError(f"note text must be str, got {type(text).__name__}")
    raw = _utf8(text, "note text", MalformedNoteError)
    if not text.endswith("\n"):
        raise MalformedNoteError("note text must end with a newline")
    if len(raw) > MAX_NOTE_SIZE:
        raise MalformedNoteError(f"note text exceeds {MAX_NOTE_SIZE} bytes")
    bad = _first_bad_char(text)
    if bad is not None:
        raise MalformedNoteError(f"note text contains control character {bad!r}")
    return raw


def is_valid_key_name(name: str) -> bool:
    """Whether ``name`` can appear in a signature line and a vkey (non-empty, no space/+)."""
    return (
        isinstance(name, str)
        and name != ""
        and "+" not in name
        and not any(char.isspace() or char < " " for char in name)
    )


def _check_key_name(name: str, error: type[NoteError]) -> None:
    if not is_valid_key_name(name):
        raise error(f"invalid key name {name!r}")


def _check_key_id(value: bytes, error: type[NoteError]) -> None:
    if not isinstance(value, bytes) or len(value) != KEY_ID_SIZE:
        raise error(f"key id must be {KEY_ID_SIZE} bytes")


# --- keys ----------------------------------------------------------------------------------


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """SHA-256(name || 0x0A || alg || public key)[:4]: the id carried in signature lines.

    Binding name and type into the id lets one key serve several types unambiguously.
    """
    _check_key_name(name, MalformedKeyError)
    if isinstance(alg, bool) or not isinstance(alg, int) or not 0 <= alg <= 0xFF:
        raise MalformedKeyError(f"signature type must be a byte, got {alg!r}")
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key).digest()
    return digest[:KEY_ID_SIZE]


def _check_key_material(alg: int, key: bytes, error: type[NoteError]) -> None:
    if alg not in _SUPPORTED_ALGS:
        raise error(f"unsupported signature type 0x{alg:02x}")
    if not isinstance(key, bytes) or len(key) != ED25519_KEY_SIZE:
        raise error(f"Ed25519 key material must be {ED25519_KEY_SIZE} bytes")


def _parse_hex_key_id(text: str) -> bytes:
    if not _HEX_KEY_ID.fullmatch(text):
        raise MalformedKeyError(f"key id {text!r} is not 8 lowercase hex digits")
    return bytes.fromhex(text)


@dataclass(frozen=True)
class VerifierKey:
    """A parsed vkey: who signs (name), with which key id, type and public key."""

    name: str
    key_id: bytes
    alg: int
    public_key: bytes

    def encode(self) -> str:
        """The vkey text form."""
        return encode_vkey(self.name, self.alg, self.public_key)


@dataclass(frozen=True)
class SignerKey:
    """A parsed skey. The seed is secret: it is kept out of ``repr``."""

    name: str
    key_id: bytes
    alg: int
    seed: bytes = field(repr=False)


def encode_vkey(name: str, alg: int, public_key: bytes) -> str:
    """``name+hex(key id)+base64(alg || public key)``, the form witnesses and clients share."""
    _check_key_material(alg, public_key, MalformedKeyError)
    return f"{name}+{key_id(name, alg, public_key).hex()}+{_b64encode(bytes([alg]) + public_key)}"


def parse_vkey(vkey: str) -> VerifierKey:
    """Parse a vkey, refusing unknown types and a key id that does not match the key."""
    if not isinstance(vkey, str):
        raise MalformedKeyError("vkey must be str")
    parts = vkey.split("+", 2)  # base64 may itself contain '+'; names and ids cannot
    if len(parts) != 3:
        raise MalformedKeyError("vkey must be name+keyid+key")
    name, hex_id, encoded = parts
    _check_key_name(name, MalformedKeyError)
    declared = _parse_hex_key_id(hex_id)
    raw = _b64decode(encoded, "vkey key", MalformedKeyError)
    if len(raw) < 1:
        raise MalformedKeyError("vkey key is empty")
    alg, public_key = raw[0], raw[1:]
    _check_key_material(alg, public_key, MalformedKeyError)
    if key_id(name, alg, public_key) != declared:
        raise MalformedKeyError("vkey key id does not match its name and key")
    return VerifierKey(name=name, key_id=declared, alg=alg, public_key=public_key)


def encode_skey(name: str, alg: int, seed: bytes, public_key: bytes) -> str:
    """``PRIVATE+KEY+name+hex(key id)+base64(alg || seed)``; the id derives from the public key."""
    _check_key_material(alg, seed, MalformedKeyError)
    _check_key_material(alg, public_key, MalformedKeyError)
    return (
        f"{_SKEY_PREFIX}{name}+{key_id(name, alg, public_key).hex()}+"
        f"{_b64encode(bytes([alg]) + seed)}"
    )


def parse_skey(skey: str, derive_public_key: Callable[[bytes], bytes] | None = None) -> SignerKey:
    """Parse an skey, checking its key id only if ``derive_public_key`` is given.

    The domain cannot derive a public key from a seed without crypto, so the caller
    injects the derivation; pass it whenever possible.
    """
    if not isinstance(skey, str) or not skey.startswith(_SKEY_PREFIX):
        raise MalformedKeyError("skey must start with PRIVATE+KEY+")
    parts = skey[len(_SKEY_PREFIX) :].split("+", 2)  # base64 may itself contain '+'
    if len(parts) != 3:
        raise MalformedKeyError("skey must be PRIVATE+KEY+name+keyid+key")
    name, hex_id, encoded = parts
    _check_key_name(name, MalformedKeyError)
    declared = _parse_hex_key_id(hex_id)
    raw = _b64decode(encoded, "skey key", MalformedKeyError)
    if len(raw) < 1:
        raise MalformedKeyError("skey key is empty")
    alg, seed = raw[0], raw[1:]
    _check_key_material(alg, seed, MalformedKeyError)
    if derive_public_key is not None and key_id(name, alg, derive_public_key(seed)) != declared:
        raise MalformedKeyError("skey key id does not match its name and key")
    return SignerKey(name=name, key_id=declared, alg=alg, seed=seed)


# --- verifiers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Verifier:
    """A trusted key: signature lines with exactly this (name, key id) are checked by it."""

    name: str
    key_id: bytes
    verify: VerifyFunc = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_key_name(self.name, MalformedKeyError)
        _check_key_id(self.key_id, MalformedKeyError)


def ed25519_verifier(name: str, public_key: bytes, verify: VerifyFunc) -> Verifier:
    """Verifier for plain Ed25519 note signatures (type 0x01) made with ``public_key``."""
    _check_key_material(ALG_ED25519, public_key, MalformedKeyError)

    def check(message: bytes, signature: bytes) -> bool:
        return len(signature) == ED25519_SIGNATURE_SIZE and verify(message, signature)

    return Verifier(name=name, key_id=key_id(name, ALG_ED25519, public_key), verify=check)


def cosignature_message(text: bytes, timestamp: int) -> bytes:
    """The bytes a cosignature/v1 signs: header, time line, then the checkpoint text."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise MalformedNoteError("cosignature timestamp must be an int")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise MalformedNoteError(f"cosignature timestamp {timestamp} outside [0, 2**63-1]")
    return f"{COSIGNATURE_V1_HEADER}\ntime {timestamp}\n".encode("ascii") + text


def cosignature_verifier(name: str, public_key: bytes, verify: VerifyFunc) -> Verifier:
    """Verifier for cosignature/v1 lines (type 0x04) of the witness holding ``public_key``.

    ``verify`` is the plain Ed25519 check; this wrapper splits off the timestamp and
    rebuilds the timestamped message, so adapters need only one Ed25519 primitive.
    """
    _check_key_material(ALG_COSIGNATURE_V1, public_key, MalformedKeyError)

    def check(message: bytes, signature: bytes) -> bool:
        if len(signature) != _TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE:
            return False
        timestamp = int.from_bytes(signature[:_TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        return verify(cosignature_message(message, timestamp), signature[_TIMESTAMP_SIZE:])

    return Verifier(name=name, key_id=key_id(name, ALG_COSIGNATURE_V1, public_key), verify=check)


def verifier_from_vkey(vkey: str, make_verify: Callable[[bytes], VerifyFunc]) -> Verifier:
    """Verifier for a vkey of either supported type; ``make_verify`` binds a public key."""
    parsed = parse_vkey(vkey)
    build = ed25519_verifier if parsed.alg == ALG_ED25519 else cosignature_verifier
    return build(parsed.name, parsed.public_key, make_verify(parsed.public_key))


def verifier_map(verifiers: Iterable[Verifier]) -> dict[tuple[str, bytes], Verifier]:
    """Index verifiers by (name, key id) for ``verify_note``, refusing ambiguous duplicates."""
    indexed: dict[tuple[str, bytes], Verifier] = {}
    for verifier in verifiers:
        key = (verifier.name, verifier.key_id)
        if key in indexed:
            raise MalformedKeyError(f"two trusted keys share name and id {verifier.name!r}")
        indexed[key] = verifier
    return indexed


# --- notes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, 4-byte key id and the signature bytes after the id."""

    name: str
    key_id: bytes
    signature: bytes

    def __post_init__(self) -> None:
        _check_key_name(self.name, MalformedNoteError)
        _check_key_id(self.key_id, MalformedNoteError)
        if not isinstance(self.signature, bytes) or not self.signature:
            raise MalformedNoteError("signature must be non-empty bytes")

    def line(self) -> str:
        """The signature line, without its newline."""
        return f"{_SIG_PREFIX}{self.name} {_b64encode(self.key_id + self.signature)}"


@dataclass(frozen=True)
class ParsedNote:
    """A structurally valid note whose signatures have NOT been checked: do not trust it."""

    text: str
    signatures: tuple[NoteSignature, ...]


@dataclass(frozen=True)
class VerifiedNote:
    """A note with at least one verified trusted signature.

    ``signatures`` are the verified ones; ``unverified`` are lines from unknown keys,
    kept (deduplicated) so that a relay can pass on cosignatures it cannot check.
    """

    text: str
    signatures: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(_SIG_PREFIX):
        raise MalformedNoteError("signature line must start with an em dash and a space")
    name, space, encoded = line[len(_SIG_PREFIX) :].partition(" ")
    if not space or not encoded:
        raise MalformedNoteError("signature line must be '— name signature'")
    if not is_valid_key_name(name):
        raise MalformedNoteError(f"invalid key name {name!r} in signature line")
    raw = _b64decode(encoded, "signature", MalformedNoteError)
    if len(raw) <= KEY_ID_SIZE:
        raise MalformedNoteError("signature too short to hold a key id and a signature")
    return NoteSignature(name=name, key_id=raw[:KEY_ID_SIZE], signature=raw[KEY_ID_SIZE:])


def _decode_note(note: str | bytes) -> str:
    if isinstance(note, bytes):
        if len(note) > MAX_NOTE_SIZE:
            raise MalformedNoteError(f"note exceeds {MAX_NOTE_SIZE} bytes")
        try:
            return note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedNoteError("note is not valid UTF-8") from exc
    if not isinstance(note, str):
        raise MalformedNoteError(f"note must be str or bytes, got {type(note).__name__}")
    if len(_utf8(note, "note", MalformedNoteError)) > MAX_NOTE_SIZE:
        raise MalformedNoteError(f"note exceeds {MAX_NOTE_SIZE} bytes")
    return note


def parse_note(note: str | bytes) -> ParsedNote:
    """Split a note into text and signature lines, checking grammar and limits only."""
    decoded = _decode_note(note)
    bad = _first_bad_char(decoded)
    if bad is not None:
        raise MalformedNoteError(f"note contains control character {bad!r}")
    split = decoded.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("note has no blank line before its signatures")
    text, block = decoded[: split + 1], decoded[split + 2 :]
    if not block.endswith("\n"):
        raise MalformedNoteError("note must end with a newline-terminated signature line")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(f"note has more than {MAX_SIGNATURES} signatures")
    return ParsedNote(text=text, signatures=tuple(_parse_signature_line(x) for x in lines))


def format_note(text: str, signatures: Sequence[NoteSignature]) -> str:
    """Assemble a note from its text and signatures (at least one), enforcing limits."""
    _check_note_text(text)
    if not signatures:
        raise MalformedNoteError("a signed note needs at least one signature")
    if len(signatures) > MAX_SIGNATURES:
        raise MalformedNoteError(f"more than {MAX_SIGNATURES} signatures")
    note = text + "\n" + "".join(signature.line() + "\n" for signature in signatures)
    if len(note.encode("utf-8")) > MAX_NOTE_SIZE:
        raise MalformedNoteError(f"signed note exceeds {MAX_NOTE_SIZE} bytes")
    return note


def make_ed25519_signature(
    text: str, name: str, public_key: bytes, sign: SignFunc
) -> NoteSignature:
    """Ed25519 (type 0x01) signature of ``text`` by the key ``(name, public_key)``."""
    raw = _check_note_text(text)
    identity = key_id(name, ALG_ED25519, public_key)
    _check_key_material(ALG_ED25519, public_key, MalformedKeyError)
    signature = sign(raw)
    if not isinstance(signature, bytes) or len(signature) != ED25519_SIGNATURE_SIZE:
        raise NoteError("signer did not return a 64-byte Ed25519 signature")
    return NoteSignature(name=name, key_id=identity, signature=signature)


def make_cosignature(
    text: str, name: str, public_key: bytes, sign: SignFunc, timestamp: int
) -> NoteSignature:
    """cosignature/v1 (type 0x04) of a checkpoint ``text`` at ``timestamp`` (Unix seconds).

    The caller (a witness) must have checked consistency with its last view first: the
    cosignature asserts exactly that.
    """
    raw = _check_note_text(text)
    identity = key_id(name, ALG_COSIGNATURE_V1, public_key)
    _check_key_material(ALG_COSIGNATURE_V1, public_key, MalformedKeyError)
    signature = sign(cosignature_message(raw, timestamp))
    if not isinstance(signature, bytes) or len(signature) != ED25519_SIGNATURE_SIZE:
        raise NoteError("signer did not return a 64-byte Ed25519 signature")
    stamped = timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + signature
    return NoteSignature(name=name, key_id=identity, signature=stamped)


def cosignature_timestamp(signature: NoteSignature) -> int:
    """Timestamp carried by a cosignature/v1 signature (after it has been verified)."""
    if len(signature.signature) != _TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE:
        raise MalformedNoteError("not a cosignature/v1 signature")
    return int.from_bytes(signature.signature[:_TIMESTAMP_SIZE], "big")


def sign_note(text: str, name: str, public_key: bytes, sign: SignFunc) -> str:
    """Sign ``text`` with one Ed25519 key and return the complete signed note."""
    return format_note(text, [make_ed25519_signature(text, name, public_key, sign)])


def add_signatures(note: str | bytes, signatures: Iterable[NoteSignature]) -> str:
    """Append signature lines to a signed note (e.g. witness cosignatures).

    A second line for a (name, key id) already present is refused: verifiers would
    reject the note as ambiguous.
    """
    parsed = parse_note(note)
    combined = list(parsed.signatures)
    present = {(s.name, s.key_id) for s in combined}
    for signature in signatures:
        if (signature.name, signature.key_id) in present:
            raise MalformedNoteError(f"note already has a signature from {signature.name!r}")
        present.add((signature.name, signature.key_id))
        combined.append(signature)
    return format_note(parsed.text, combined)


def cosign_note(
    note: str | bytes, name: str, public_key: bytes, sign: SignFunc, timestamp: int
) -> str:
    """Add a cosignature/v1 line to a signed checkpoint note."""
    parsed = parse_note(note)
    cosignature = make_cosignature(parsed.text, name, public_key, sign, timestamp)
    return add_signatures(note, [cosignature])


def verify_note(note: str | bytes, verifiers: Mapping[tuple[str, bytes], Verifier]) -> VerifiedNote:
    """Verify a note against trusted keys indexed by (name, key id).

    Unknown signers are ignored; a trusted signer appearing twice makes the note
    malformed; any failing trusted signature rejects the note; and at least one trusted
    signature must verify.
    """
    parsed = parse_note(note)
    message = parsed.text.encode("utf-8")
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    seen_known: set[tuple[str, bytes]] = set()
    for signature in parsed.signatures:
        key = (signature.name, signature.key_id)
        verifier = verifiers.get(key)
        if verifier is None:
            if signature not in unverified:
                unverified.append(signature)
            continue
        if (verifier.name, verifier.key_id) != key:
            raise NoteError(f"verifier for {signature.name!r} is indexed under another key")
        if key in seen_known:
            raise MalformedNoteError(f"two signatures from trusted key {signature.name!r}")
        seen_known.add(key)
        if verifier.verify(message, signature.signature) is not True:
            raise BadSignatureError(f"signature from {signature.name!r} does not verify")
        verified.append(signature)
    if not verified:
        raise NoKnownSignatureError("no signature from a trusted key")
    return VerifiedNote(text=parsed.text, signatures=tuple(verified), unverified=tuple(unverified))


# --- checkpoints ---------------------------------------------------------------------------


def _check_checkpoint_line(value: str, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise MalformedCheckpointError(f"{what} must be a non-empty str")
    if "\n" in value or _first_bad_char(value) is not None:
        raise MalformedCheckpointError(f"{what} contains a newline or control character")


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head as a tlog-checkpoint note body; invalid values cannot be built."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_checkpoint_line(self.origin, "origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise MalformedCheckpointError("size must be an int")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedCheckpointError(f"size {self.size} outside [0, {MAX_TREE_SIZE}]")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise MalformedCheckpointError(f"root must be {HASH_SIZE} bytes")
        if not isinstance(self.extensions, tuple):
            raise MalformedCheckpointError("extensions must be a tuple of str")
        for extension in self.extensions:
            _check_checkpoint_line(extension, "extension line")

    def to_text(self) -> str:
        """The note text to sign: origin, size, base64 root, extension lines."""
        lines = [self.origin, str(self.size), _b64encode(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Strictly parse a checkpoint body (the text of a verified note)."""
        if not isinstance(text, str):
            raise MalformedCheckpointError("checkpoint text must be str")
        if len(text) > MAX_NOTE_SIZE:
            raise MalformedCheckpointError(f"checkpoint text exceeds {MAX_NOTE_SIZE} characters")
        if not text.endswith("\n"):
            raise MalformedCheckpointError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise MalformedCheckpointError("checkpoint needs origin, size and root lines")
        if any(not line for line in lines):
            raise MalformedCheckpointError("checkpoint lines must be non-empty")
        origin, size_text, root_text, *extensions = lines
        size = _parse_decimal(size_text, "tree size", MalformedCheckpointError, MAX_TREE_SIZE)
        root = _b64decode(root_text, "root hash", MalformedCheckpointError)
        return cls(origin=origin, size=size, root=root, extensions=tuple(extensions))


@dataclass(frozen=True)
class OpenedCheckpoint:
    """A checkpoint whose note carried the log's signature and enough witness cosignatures."""

    checkpoint: Checkpoint
    note: VerifiedNote


def open_checkpoint(
    note: str | bytes,
    origin: str,
    log: Verifier,
    *,
    witnesses: Iterable[Verifier] = (),
    quorum: int = 0,
) -> OpenedCheckpoint:
    """Verify a signed checkpoint of ``origin``, signed by ``log`` and ``quorum`` witnesses.

    A witness signature alone never stands in for the log's own.
    """
    witness_list = list(witnesses)
    if isinstance(quorum, bool) or not isinstance(quorum, int) or quorum < 0:
        raise QuorumError("quorum must be a non-negative int")
    verified = verify_note(note, verifier_map([log, *witness_list]))
    signed_by = {(s.name, s.key_id) for s in verified.signatures}
    if (log.name, log.key_id) not in signed_by:
        raise NoKnownSignatureError(f"checkpoint is not signed by log key {log.name!r}")
    cosigners = sum((w.name, w.key_id) in signed_by for w in witness_list)
    if cosigners < quorum:
        raise QuorumError(f"{cosigners} trusted cosignatures, {quorum} required")
    checkpoint = Checkpoint.parse(verified.text)
    if checkpoint.origin != origin:
        raise OriginMismatchError(f"checkpoint origin {checkpoint.origin!r} != {origin!r}")
    return OpenedCheckpoint(checkpoint=checkpoint, note=verified)


# --- tlog-proof ----------------------------------------------------------------------------


def _take_line(rest: str) -> tuple[str, str]:
    end = rest.find("\n")
    if end < 0:
        raise MalformedProofError("tlog-proof ends before its checkpoint")
    return rest[:end], rest[end + 1 :]


@dataclass(frozen=True)
class TlogProof:
    """A c2sp.org/tlog-proof@v1: leaf index, inclusion proof and signed checkpoint note.

    ``extra`` is unauthenticated application data: never trust it without re-deriving
    what it claims (e.g. recompute the leaf hash from it and check inclusion).
    """

    index: int
    hashes: tuple[bytes, ...]
    checkpoint: str
    extra: bytes = b""

    def __post_init__(self) -> None:
        if isinstance(self.index, bool) or not isinstance(self.index, int):
            raise MalformedProofError("index must be an int")
        if not 0 <= self.index < MAX_TREE_SIZE:
            raise MalformedProofError(f"index {self.index} out of range")
        if not isinstance(self.hashes, tuple) or len(self.hashes) > MAX_PROOF_HASHES:
            raise MalformedProofError(f"hashes must be a tuple of at most {MAX_PROOF_HASHES}")
        if any(not isinstance(h, bytes) or len(h) != HASH_SIZE for h in self.hashes):
            raise MalformedProofError(f"every proof hash must be {HASH_SIZE} bytes")
        if not isinstance(self.extra, bytes):
            raise MalformedProofError("extra must be bytes")
        try:
            Checkpoint.parse(parse_note(self.checkpoint).text)
        except NoteError as exc:
            raise MalformedProofError(f"tlog-proof checkpoint: {exc}") from exc

    def to_text(self) -> str:
        """The ``.tlog-proof`` text form."""
        lines = [TLOG_PROOF_HEADER]
        if self.extra:
            lines.append(f"extra {_b64encode(self.extra)}")
        lines.append(f"index {self.index}")
        lines.extend(_b64encode(h) for h in self.hashes)
        return "".join(line + "\n" for line in lines) + "\n" + self.checkpoint

    @classmethod
    def parse(cls, text: str | bytes) -> TlogProof:
        """Strictly parse a tlog-proof@v1 text (structure only; nothing is verified)."""
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise MalformedProofError("tlog-proof is not valid UTF-8") from exc
        if not isinstance(text, str) or len(text) > 2 * MAX_NOTE_SIZE:
            raise MalformedProofError("tlog-proof must be a str of bounded size")
        line, rest = _take_line(text)
        if line != TLOG_PROOF_HEADER:
            raise MalformedProofError(f"first line must be {TLOG_PROOF_HEADER}")
        line, rest = _take_line(rest)
        extra = b""
        if line.startswith("extra "):
            extra = _b64decode(line[len("extra ") :], "extra", MalformedProofError)
            if not extra:
                raise MalformedProofError("an empty extra must be omitted, not encoded")
            line, rest = _take_line(rest)
        if not line.startswith("index "):
            raise MalformedProofError("expected an 'index N' line")
        index = _parse_decimal(line[len("index ") :], "index", MalformedProofError, MAX_TREE_SIZE)
        hashes: list[bytes] = []
        line, rest = _take_line(rest)
        while line:
            if len(hashes) == MAX_PROOF_HASHES:
                raise MalformedProofError(f"more than {MAX_PROOF_HASHES} proof hashes")
            value = _b64decode(line, "proof hash", MalformedProofError)
            if len(value) != HASH_SIZE:
                raise MalformedProofError(f"proof hash must be {HASH_SIZE} bytes")
            hashes.append(value)
            line, rest = _take_line(rest)
        return cls(index=index, hashes=tuple(hashes), checkpoint=rest, extra=extra)


def verify_tlog_proof(
    proof: TlogProof,
    leaf_hash: bytes,
    origin: str,
    log: Verifier,
    *,
    witnesses: Iterable[Verifier] = (),
    quorum: int = 0,
) -> OpenedCheckpoint:
    """Verify a tlog-proof offline: trusted checkpoint first, then the leaf's inclusion.

    Raises a ``NoteError`` for the checkpoint or a ``MerkleError`` for the proof.
    """
    opened = open_checkpoint(proof.checkpoint, origin, log, witnesses=witnesses, quorum=quorum)
    tree = opened.checkpoint
    verify_inclusion(leaf_hash, proof.index, tree.size, proof.hashes, tree.root)
    return opened
