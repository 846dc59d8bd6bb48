"""Tests for ledger.note: the C2SP signed-note vector, keys, checkpoints, cosignatures, proofs.

The domain module never sees a crypto library; here ``cryptography`` plays the adapter,
injected as plain sign/verify callables, exactly as the hub will wire it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import LedgerError
from ledger.merkle import MemoryTree, RootMismatchError, leaf_hash
from ledger.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    MAX_NOTE_SIZE,
    MAX_SIGNATURES,
    BadSignatureError,
    Checkpoint,
    MalformedCheckpointError,
    MalformedKeyError,
    MalformedNoteError,
    MalformedProofError,
    NoKnownSignatureError,
    NoteError,
    NoteSignature,
    OriginMismatchError,
    QuorumError,
    TlogProof,
    Verifier,
    add_signatures,
    cosign_note,
    cosignature_message,
    cosignature_timestamp,
    cosignature_verifier,
    ed25519_verifier,
    encode_skey,
    encode_vkey,
    format_note,
    is_valid_key_name,
    key_id,
    make_cosignature,
    open_checkpoint,
    parse_note,
    parse_skey,
    parse_vkey,
    sign_note,
    verifier_from_vkey,
    verifier_map,
    verify_note,
    verify_tlog_proof,
)
from tests.support import rfc6962_vectors

# --- vectors and the crypto "adapter" ----------------------------------------------------------

VECTORS = rfc6962_vectors()
NOTE_VECTOR: dict[str, str] = VECTORS["signed_note"]
VKEY = NOTE_VECTOR["vkey"]
SKEY = NOTE_VECTOR["skey"]
TEXT = NOTE_VECTOR["text"]
SIGNATURE_LINE = NOTE_VECTOR["signature_line"]
SIGNED = TEXT + "\n" + SIGNATURE_LINE + "\n"


def public_from_seed(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


def signer_from_seed(seed: bytes) -> Callable[[bytes], bytes]:
    return Ed25519PrivateKey.from_private_bytes(seed).sign


def make_verify(public_key: bytes) -> Callable[[bytes, bytes], bool]:
    """The adapter's job: turn cryptography's exception into the domain's bool."""
    key = Ed25519PublicKey.from_public_bytes(public_key)

    def verify(message: bytes, signature: bytes) -> bool:
        try:
            key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    return verify


class Key:
    """A deterministic test identity: name, seed, public key and its callables."""

    def __init__(self, name: str, seed_label: str) -> None:
        self.name = name
        self.seed = hashlib.sha256(seed_label.encode()).digest()
        self.public = public_from_seed(self.seed)
        self.sign = signer_from_seed(self.seed)
        self.verify = make_verify(self.public)

    def verifier(self) -> Verifier:
        return ed25519_verifier(self.name, self.public, self.verify)

    def cosigner(self) -> Verifier:
        return cosignature_verifier(self.name, self.public, self.verify)


PETER = parse_vkey(VKEY)
PETER_SEED = parse_skey(SKEY, public_from_seed).seed
PETER_VERIFIER = ed25519_verifier(PETER.name, PETER.public_key, make_verify(PETER.public_key))
PETER_MAP = verifier_map([PETER_VERIFIER])

LOG = Key("example.gov.vn/truc", "log")
WITNESS_A = Key("witness-a.example", "witness a")
WITNESS_B = Key("witness-b.example", "witness b")
ORIGIN = LOG.name


# --- the signed-note vector --------------------------------------------------------------------


def test_vkey_vector_parses_and_round_trips() -> None:
    assert PETER.name == "PeterNeumann"
    assert PETER.key_id == bytes.fromhex("c74f20a3")
    assert PETER.alg == ALG_ED25519
    assert len(PETER.public_key) == 32
    assert key_id(PETER.name, ALG_ED25519, PETER.public_key) == PETER.key_id
    assert encode_vkey(PETER.name, PETER.alg, PETER.public_key) == VKEY
    assert PETER.encode() == VKEY


def test_skey_vector_parses_and_matches_the_vkey() -> None:
    skey = parse_skey(SKEY, public_from_seed)
    assert skey.name == PETER.name
    assert skey.key_id == PETER.key_id
    assert skey.alg == ALG_ED25519
    assert public_from_seed(skey.seed) == PETER.public_key
    assert encode_skey(skey.name, skey.alg, skey.seed, PETER.public_key) == SKEY
    assert skey.seed.hex() not in repr(skey)


def test_vector_signature_verifies() -> None:
    verified = verify_note(SIGNED, PETER_MAP)
    assert verified.text == TEXT
    assert [s.line() for s in verified.signatures] == [SIGNATURE_LINE]
    assert verified.unverified == ()
    assert verify_note(SIGNED.encode("utf-8"), PETER_MAP).text == TEXT


def test_resigning_with_the_skey_seed_reproduces_the_vector() -> None:
    note = sign_note(TEXT, PETER.name, PETER.public_key, signer_from_seed(PETER_SEED))
    assert note == SIGNED


def test_verifier_from_vkey() -> None:
    verifier = verifier_from_vkey(VKEY, make_verify)
    assert (verifier.name, verifier.key_id) == (PETER.name, PETER.key_id)
    verify_note(SIGNED, verifier_map([verifier]))


@pytest.mark.parametrize(
    "tampered",
    [
        SIGNED.replace("problem,", "problems,"),
        SIGNED.replace("If you", "if you"),
        "Extra line\n" + SIGNED,
        SIGNED.replace(TEXT, TEXT + "\n"),  # a blank line added to the text
    ],
)
def test_tampered_text_fails(tampered: str) -> None:
    with pytest.raises(BadSignatureError):
        verify_note(tampered, PETER_MAP)


def test_tampered_signature_fails() -> None:
    raw = bytearray(base64.b64decode(SIGNATURE_LINE.split(" ")[2]))
    raw[10] ^= 1
    line = f"— {PETER.name} {base64.b64encode(bytes(raw)).decode()}"
    with pytest.raises(BadSignatureError):
        verify_note(TEXT + "\n" + line + "\n", PETER_MAP)


def test_unknown_keys_are_ignored_and_then_rejected() -> None:
    other = Key("PeterNeumann", "an impostor with the same name")
    with pytest.raises(NoKnownSignatureError):
        verify_note(SIGNED, verifier_map([other.verifier()]))
    with pytest.raises(NoKnownSignatureError):
        verify_note(SIGNED, {})
    # same key, other name: the key id changes, so the line is unknown too
    renamed = ed25519_verifier("Peter", PETER.public_key, make_verify(PETER.public_key))
    with pytest.raises(NoKnownSignatureError):
        verify_note(SIGNED, verifier_map([renamed]))


def test_unknown_signature_lines_are_kept_but_not_trusted() -> None:
    stranger = Key("stranger.example", "stranger")
    line = sign_note(TEXT, stranger.name, stranger.public, stranger.sign).split("\n")[-2]
    note = SIGNED + line + "\n" + line + "\n"  # repeated unknown line: deduplicated
    verified = verify_note(note, PETER_MAP)
    assert [s.name for s in verified.signatures] == [PETER.name]
    assert [s.name for s in verified.unverified] == [stranger.name]


def test_a_known_key_twice_is_malformed() -> None:
    with pytest.raises(MalformedNoteError):
        verify_note(SIGNED + SIGNATURE_LINE + "\n", PETER_MAP)


def test_a_verifier_must_return_true_not_truthy() -> None:
    sloppy = Verifier(PETER.name, PETER.key_id, lambda _message, _signature: 1)  # type: ignore[arg-type,return-value]
    with pytest.raises(BadSignatureError):
        verify_note(SIGNED, verifier_map([sloppy]))


def test_verifier_indexed_under_the_wrong_key_is_refused() -> None:
    wrong = {(PETER.name, PETER.key_id): LOG.verifier()}
    with pytest.raises(NoteError):
        verify_note(SIGNED, wrong)


_GOOD_SIG = SIGNATURE_LINE.split(" ")[2]


@pytest.mark.parametrize(
    "note",
    [
        pytest.param(TEXT + SIGNATURE_LINE + "\n", id="no blank line"),
        pytest.param(SIGNED[:-1], id="no final newline"),
        pytest.param(TEXT + "\n", id="no signature lines"),
        pytest.param(TEXT + "\n\n", id="empty signature line"),
        pytest.param(TEXT + "\n" + SIGNATURE_LINE + "\n\n", id="trailing blank line"),
        pytest.param(TEXT + "\n- PeterNeumann " + _GOOD_SIG + "\n", id="hyphen not em dash"),
        pytest.param(TEXT + "\n—PeterNeumann " + _GOOD_SIG + "\n", id="no space after dash"),
        pytest.param(TEXT + "\n— PeterNeumann\n", id="no signature"),
        pytest.param(TEXT + "\n— PeterNeumann \n", id="empty signature"),
        pytest.param(TEXT + "\n—  " + _GOOD_SIG + "\n", id="empty name"),
        pytest.param(TEXT + "\n— Peter+Neumann " + _GOOD_SIG + "\n", id="plus in name"),
        pytest.param(TEXT + "\n— Peter\u00a0Neumann " + _GOOD_SIG + "\n", id="nbsp in name"),
        pytest.param(TEXT + "\n— PeterNeumann " + _GOOD_SIG[:-1] + "\n", id="bad padding"),
        pytest.param(TEXT + "\n— PeterNeumann " + _GOOD_SIG + "=\n", id="extra padding"),
        pytest.param(TEXT + "\n— PeterNeumann " + _GOOD_SIG + " x\n", id="trailing field"),
        pytest.param(TEXT + "\n— PeterNeumann AAAAAA==\n", id="signature too short"),
        pytest.param(TEXT + "\n— PeterNeumann AAAAAB==\n", id="non-canonical base64"),
        pytest.param(TEXT + "\n— PeterNeumann " + _GOOD_SIG + "\r\n", id="carriage return"),
        pytest.param("tab\there\n" + "\n" + SIGNATURE_LINE + "\n", id="tab in text"),
        pytest.param("nul\x00\n" + "\n" + SIGNATURE_LINE + "\n", id="nul in text"),
        pytest.param("surrogate \ud800\n\n" + SIGNATURE_LINE + "\n", id="lone surrogate"),
        pytest.param(TEXT + "\n" + (SIGNATURE_LINE + "\n") * (MAX_SIGNATURES + 1), id="too many"),
        pytest.param("x" * MAX_NOTE_SIZE + "\n\n" + SIGNATURE_LINE + "\n", id="too large"),
        pytest.param("", id="empty"),
    ],
)
def test_malformed_notes_are_rejected(note: str) -> None:
    with pytest.raises(MalformedNoteError):
        verify_note(note, PETER_MAP)


def test_malformed_bytes_are_rejected() -> None:
    with pytest.raises(MalformedNoteError):
        verify_note(b"\xff\xfe\n\n" + SIGNATURE_LINE.encode() + b"\n", PETER_MAP)
    with pytest.raises(MalformedNoteError):
        verify_note(b"x" * (MAX_NOTE_SIZE + 1), PETER_MAP)


def test_sixteen_signatures_are_accepted() -> None:
    strangers = [Key(f"w{i}.example", f"w{i}") for i in range(15)]
    lines = [sign_note(TEXT, k.name, k.public, k.sign).split("\n")[-2] for k in strangers]
    note = SIGNED + "".join(line + "\n" for line in lines)
    assert len(verify_note(note, PETER_MAP).unverified) == 15


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("no newline", "PeterNeumann"),
        ("", "PeterNeumann"),
        ("bell\a\n", "PeterNeumann"),
        (TEXT, ""),
        (TEXT, "Peter Neumann"),
        (TEXT, "Peter+Neumann"),
        (TEXT, "Peter\nNeumann"),
    ],
)
def test_sign_refuses_bad_text_or_name(text: str, name: str) -> None:
    with pytest.raises(NoteError):
        sign_note(text, name, PETER.public_key, signer_from_seed(PETER_SEED))


def test_sign_refuses_a_broken_signer() -> None:
    with pytest.raises(NoteError):
        sign_note(TEXT, PETER.name, PETER.public_key, lambda _message: b"short")


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FFF, codec="utf-8"),
            max_size=20,
        ),
        max_size=6,
    )
)
def test_any_valid_text_round_trips(lines: list[str]) -> None:
    """Blank lines and lines that look like signatures stay in the text."""
    text = "".join(line + "\n" for line in lines) or "\n"
    note = sign_note(text, PETER.name, PETER.public_key, signer_from_seed(PETER_SEED))
    assert parse_note(note).text == text
    assert verify_note(note, PETER_MAP).text == text


def test_format_note_needs_a_signature() -> None:
    with pytest.raises(MalformedNoteError):
        format_note(TEXT, [])


# --- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "vkey",
    [
        pytest.param(VKEY.replace("c74f20a3", "c74f20a4"), id="wrong key id"),
        pytest.param(VKEY.replace("c74f20a3", "C74F20A3"), id="uppercase hex"),
        pytest.param(VKEY.replace("c74f20a3", "c74f20a"), id="short hex"),
        pytest.param(VKEY.replace("+ARp", "+AhpZ"), id="bad base64"),
        pytest.param("PeterNeumann+c74f20a3", id="two fields"),
        pytest.param(VKEY + "+x", id="four fields"),
        pytest.param("Peter Neumann+c74f20a3+" + VKEY.split("+")[2], id="space in name"),
        pytest.param(
            "PeterNeumann+c74f20a3+" + base64.b64encode(b"\x02" + PETER.public_key).decode(),
            id="unsupported type",
        ),
        pytest.param(
            encode_vkey(PETER.name, ALG_ED25519, PETER.public_key)[:-4] + "AAA=",
            id="31-byte key",
        ),
        pytest.param("PeterNeumann+c74f20a3+", id="empty key"),
    ],
)
def test_malformed_vkeys(vkey: str) -> None:
    with pytest.raises(MalformedKeyError):
        parse_vkey(vkey)


def test_malformed_skeys() -> None:
    with pytest.raises(MalformedKeyError):
        parse_skey(SKEY.replace("PRIVATE+KEY+", ""))
    with pytest.raises(MalformedKeyError):
        parse_skey(SKEY.replace("c74f20a3", "c74f20a4"), public_from_seed)
    with pytest.raises(MalformedKeyError):
        parse_skey(SKEY + "+extra")
    # without a derivation the id cannot be checked, by design: the seed still parses
    assert parse_skey(SKEY.replace("c74f20a3", "c74f20a4")).seed == PETER_SEED


def test_key_ids_depend_on_the_signature_type() -> None:
    plain = key_id(WITNESS_A.name, ALG_ED25519, WITNESS_A.public)
    cosig = key_id(WITNESS_A.name, ALG_COSIGNATURE_V1, WITNESS_A.public)
    assert plain != cosig
    assert (
        cosig == hashlib.sha256(WITNESS_A.name.encode() + b"\n\x04" + WITNESS_A.public).digest()[:4]
    )
    assert WITNESS_A.cosigner().key_id == cosig
    with pytest.raises(MalformedKeyError):
        key_id("x", 256, WITNESS_A.public)


def test_key_names() -> None:
    assert is_valid_key_name("example.com/log")
    for bad in ("", "a b", "a+b", "a\tb", "a\u2003b", "a\x01b"):
        assert not is_valid_key_name(bad)


def test_verifier_map_refuses_duplicates() -> None:
    with pytest.raises(MalformedKeyError):
        verifier_map([LOG.verifier(), LOG.verifier()])


# --- checkpoints -------------------------------------------------------------------------------

ROOT = bytes(range(32))


@pytest.mark.parametrize(
    "checkpoint",
    [
        Checkpoint(ORIGIN, 0, hashlib.sha256(b"").digest()),
        Checkpoint(ORIGIN, 20852163, ROOT),
        Checkpoint("any origin, even with spaces+plus", 2**63 - 1, ROOT, ("ext one", "ext 2")),
    ],
)
def test_checkpoint_round_trip(checkpoint: Checkpoint) -> None:
    text = checkpoint.to_text()
    assert Checkpoint.parse(text) == checkpoint
    assert text.endswith("\n")
    assert text.count("\n") == 3 + len(checkpoint.extensions)


def test_checkpoint_text_format() -> None:
    root = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert Checkpoint("example.com/behind-the-sofa", 20852163, root).to_text() == text


_ROOT_B64 = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"{ORIGIN}\n012\n{_ROOT_B64}\n", id="leading zero"),
        pytest.param(f"{ORIGIN}\n00\n{_ROOT_B64}\n", id="double zero"),
        pytest.param(f"{ORIGIN}\n+12\n{_ROOT_B64}\n", id="plus sign"),
        pytest.param(f"{ORIGIN}\n-1\n{_ROOT_B64}\n", id="negative"),
        pytest.param(f"{ORIGIN}\n 12\n{_ROOT_B64}\n", id="space"),
        pytest.param(f"{ORIGIN}\n1_000\n{_ROOT_B64}\n", id="underscore"),
        pytest.param(f"{ORIGIN}\n\u0661\n{_ROOT_B64}\n", id="arabic digit"),
        pytest.param(f"{ORIGIN}\n{2**63}\n{_ROOT_B64}\n", id="too large"),
        pytest.param(f"{ORIGIN}\n{'9' * 40}\n{_ROOT_B64}\n", id="huge"),
        pytest.param(f"{ORIGIN}\n\n{_ROOT_B64}\n", id="empty size"),
        pytest.param(f"{ORIGIN}\n12\n{base64.b64encode(ROOT[:31]).decode()}\n", id="31-byte root"),
        pytest.param(f"{ORIGIN}\n12\n{_ROOT_B64.rstrip('=')}\n", id="unpadded root"),
        pytest.param(f"{ORIGIN}\n12\n{_ROOT_B64[:-2]}9=\n", id="non-canonical root"),
        pytest.param(f"{ORIGIN}\n12\n{_ROOT_B64}", id="no final newline"),
        pytest.param(f"{ORIGIN}\n12\n", id="no root"),
        pytest.param(f"\n12\n{_ROOT_B64}\n", id="empty origin"),
        pytest.param(f"{ORIGIN}\n12\n{_ROOT_B64}\n\n", id="empty extension"),
        pytest.param(f"{ORIGIN}\n12\n{_ROOT_B64}\next\n\nmore\n", id="blank between extensions"),
    ],
)
def test_checkpoint_strict_parse(text: str) -> None:
    with pytest.raises(MalformedCheckpointError):
        Checkpoint.parse(text)


@pytest.mark.parametrize(
    "arguments",
    [
        ("", 1, ROOT, ()),
        ("a\nb", 1, ROOT, ()),
        (ORIGIN, -1, ROOT, ()),
        (ORIGIN, True, ROOT, ()),
        (ORIGIN, 1, ROOT[:31], ()),
        (ORIGIN, 1, ROOT, ("",)),
        (ORIGIN, 1, ROOT, ("a\nb",)),
        (ORIGIN, 1, ROOT, ["a list"]),
    ],
)
def test_invalid_checkpoints_cannot_be_built(arguments: tuple[Any, ...]) -> None:
    with pytest.raises(MalformedCheckpointError):
        Checkpoint(*arguments)


def _signed_checkpoint(checkpoint: Checkpoint) -> str:
    return sign_note(checkpoint.to_text(), LOG.name, LOG.public, LOG.sign)


def test_open_checkpoint_requires_the_log_and_the_origin() -> None:
    note = _signed_checkpoint(Checkpoint(ORIGIN, 5, ROOT))
    opened = open_checkpoint(note, ORIGIN, LOG.verifier())
    assert opened.checkpoint == Checkpoint(ORIGIN, 5, ROOT)
    with pytest.raises(OriginMismatchError):
        open_checkpoint(note, "other.example/log", LOG.verifier())
    with pytest.raises(NoKnownSignatureError):
        open_checkpoint(note, ORIGIN, WITNESS_A.verifier())


def test_open_checkpoint_refuses_a_signed_but_malformed_body() -> None:
    note = sign_note(f"{ORIGIN}\n05\n{_ROOT_B64}\n", LOG.name, LOG.public, LOG.sign)
    with pytest.raises(MalformedCheckpointError):
        open_checkpoint(note, ORIGIN, LOG.verifier())


# --- cosignatures ------------------------------------------------------------------------------

TIMESTAMP = 1_700_000_000


def test_cosignature_message_format() -> None:
    body = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert cosignature_message(body, 1679315147) == b"cosignature/v1\ntime 1679315147\n" + body
    for bad in (-1, 2**63, True):
        with pytest.raises(MalformedNoteError):
            cosignature_message(body, bad)


def test_cosignature_round_trip() -> None:
    checkpoint = Checkpoint(ORIGIN, 8, ROOT)
    note = cosign_note(
        _signed_checkpoint(checkpoint), WITNESS_A.name, WITNESS_A.public, WITNESS_A.sign, TIMESTAMP
    )
    opened = open_checkpoint(
        note, ORIGIN, LOG.verifier(), witnesses=[WITNESS_A.cosigner()], quorum=1
    )
    assert opened.checkpoint == checkpoint
    cosig = opened.note.signatures[1]
    assert cosig.name == WITNESS_A.name
    assert cosig.key_id == key_id(WITNESS_A.name, ALG_COSIGNATURE_V1, WITNESS_A.public)
    assert cosignature_timestamp(cosig) == TIMESTAMP

    # Independent check of the wire format with the raw primitive.
    raw = base64.b64decode(note.split("\n")[-2].split(" ")[2])
    assert len(raw) == 4 + 8 + 64
    assert int.from_bytes(raw[4:12], "big") == TIMESTAMP
    message = f"cosignature/v1\ntime {TIMESTAMP}\n".encode() + checkpoint.to_text().encode()
    Ed25519PublicKey.from_public_bytes(WITNESS_A.public).verify(raw[12:], message)


def test_cosignature_quorum() -> None:
    note = _signed_checkpoint(Checkpoint(ORIGIN, 8, ROOT))
    note = cosign_note(note, WITNESS_A.name, WITNESS_A.public, WITNESS_A.sign, TIMESTAMP)
    witnesses = [WITNESS_A.cosigner(), WITNESS_B.cosigner()]
    open_checkpoint(note, ORIGIN, LOG.verifier(), witnesses=witnesses, quorum=1)
    with pytest.raises(QuorumError):
        open_checkpoint(note, ORIGIN, LOG.verifier(), witnesses=witnesses, quorum=2)
    with pytest.raises(QuorumError):
        open_checkpoint(note, ORIGIN, LOG.verifier(), witnesses=witnesses, quorum=-1)
    note = cosign_note(note, WITNESS_B.name, WITNESS_B.public, WITNESS_B.sign, TIMESTAMP + 1)
    opened = open_checkpoint(note, ORIGIN, LOG.verifier(), witnesses=witnesses, quorum=2)
    assert [cosignature_timestamp(s) for s in opened.note.signatures[1:]] == [
        TIMESTAMP,
        TIMESTAMP + 1,
    ]


def test_cosignature_is_not_a_plain_signature() -> None:
    note = _signed_checkpoint(Checkpoint(ORIGIN, 8, ROOT))
    note = cosign_note(note, WITNESS_A.name, WITNESS_A.public, WITNESS_A.sign, TIMESTAMP)
    # A plain Ed25519 verifier for the same key has another key id: the line is unknown.
    verified = verify_note(note, verifier_map([LOG.verifier(), WITNESS_A.verifier()]))
    assert [s.name for s in verified.unverified] == [WITNESS_A.name]
    with pytest.raises(QuorumError):
        open_checkpoint(note, ORIGIN, LOG.verifier(), witnesses=[WITNESS_A.verifier()], quorum=1)


def test_tampered_cosignature_timestamp_fails() -> None:
    text = Checkpoint(ORIGIN, 8, ROOT).to_text()
    cosig = make_cosignature(text, WITNESS_A.name, WITNESS_A.public, WITNESS_A.sign, TIMESTAMP)
    shifted = (TIMESTAMP + 1).to_bytes(8, "big") + cosig.signature[8:]
    forged = NoteSignature(cosig.name, cosig.key_id, shifted)
    log_sig = parse_note(_signed_checkpoint(Checkpoint(ORIGIN, 8, ROOT))).signatures[0]
    note = format_note(text, [log_sig, forged])
    with pytest.raises(BadSignatureError):
        open_checkpoint(note, ORIGIN, LOG.verifier(), witnesses=[WITNESS_A.cosigner()])
    too_short = format_note(text, [log_sig, NoteSignature(cosig.name, cosig.key_id, b"x" * 64)])
    with pytest.raises(BadSignatureError):
        open_checkpoint(too_short, ORIGIN, LOG.verifier(), witnesses=[WITNESS_A.cosigner()])


def test_cosignature_timestamp_needs_a_cosignature() -> None:
    with pytest.raises(MalformedNoteError):
        cosignature_timestamp(parse_note(SIGNED).signatures[0])


def test_add_signatures_refuses_a_second_line_for_the_same_key() -> None:
    note = _signed_checkpoint(Checkpoint(ORIGIN, 8, ROOT))
    note = cosign_note(note, WITNESS_A.name, WITNESS_A.public, WITNESS_A.sign, TIMESTAMP)
    with pytest.raises(MalformedNoteError):
        cosign_note(note, WITNESS_A.name, WITNESS_A.public, WITNESS_A.sign, TIMESTAMP + 5)
    again = parse_note(note).signatures[0]
    with pytest.raises(MalformedNoteError):
        add_signatures(note, [again])


# --- tlog-proof --------------------------------------------------------------------------------

TREE = MemoryTree.from_data(bytes.fromhex(x) for x in VECTORS["leaves_hex"])
TREE_CHECKPOINT = Checkpoint(ORIGIN, TREE.size, TREE.root())
TREE_NOTE = cosign_note(
    _signed_checkpoint(TREE_CHECKPOINT),
    WITNESS_A.name,
    WITNESS_A.public,
    WITNESS_A.sign,
    TIMESTAMP,
)


def _proof(index: int, extra: bytes = b"") -> TlogProof:
    return TlogProof(index, tuple(TREE.inclusion_proof(index)), TREE_NOTE, extra)


@pytest.mark.parametrize("index", range(8))
@pytest.mark.parametrize("extra", [b"", b"age-v1.2.1-darwin-arm64.tar.gz"])
def test_tlog_proof_round_trip_and_verify(index: int, extra: bytes) -> None:
    proof = _proof(index, extra)
    text = proof.to_text()
    assert TlogProof.parse(text) == proof
    assert TlogProof.parse(text.encode()) == proof
    opened = verify_tlog_proof(
        TlogProof.parse(text),
        TREE.get_node(0, index),
        ORIGIN,
        LOG.verifier(),
        witnesses=[WITNESS_A.cosigner()],
        quorum=1,
    )
    assert opened.checkpoint == TREE_CHECKPOINT


def test_tlog_proof_text_layout() -> None:
    proof = _proof(5, b"hi")
    lines = proof.to_text().split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1"
    assert lines[1] == "extra aGk="
    assert lines[2] == "index 5"
    assert [base64.b64decode(x) for x in lines[3:6]] == list(proof.hashes)
    assert lines[6] == ""
    assert "\n".join(lines[7:]) == TREE_NOTE


def test_tlog_proof_with_no_hashes() -> None:
    tree = MemoryTree.from_data([b"only"])
    note = _signed_checkpoint(Checkpoint(ORIGIN, 1, tree.root()))
    proof = TlogProof(0, (), note)
    assert proof.to_text() == "c2sp.org/tlog-proof@v1\nindex 0\n\n" + note
    assert TlogProof.parse(proof.to_text()) == proof
    verify_tlog_proof(proof, leaf_hash(b"only"), ORIGIN, LOG.verifier())


def test_tlog_proof_verification_failures() -> None:
    proof = _proof(5)
    with pytest.raises(RootMismatchError):
        verify_tlog_proof(proof, TREE.get_node(0, 4), ORIGIN, LOG.verifier())
    with pytest.raises(QuorumError):
        verify_tlog_proof(
            proof, TREE.get_node(0, 5), ORIGIN, LOG.verifier(), witnesses=[], quorum=1
        )
    with pytest.raises(OriginMismatchError):
        verify_tlog_proof(proof, TREE.get_node(0, 5), "other.example", LOG.verifier())
    with pytest.raises(LedgerError):
        verify_tlog_proof(
            TlogProof(4, proof.hashes, TREE_NOTE), TREE.get_node(0, 5), ORIGIN, LOG.verifier()
        )


_GOOD_PROOF = _proof(5, b"hi").to_text()
_HASH_LINE = _GOOD_PROOF.split("\n")[3]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(_GOOD_PROOF.replace("@v1", "@v2"), id="wrong header"),
        pytest.param(_GOOD_PROOF.replace("extra aGk=\n", "extra \n"), id="empty extra"),
        pytest.param(_GOOD_PROOF.replace("extra aGk=\n", "extra aGk\n"), id="unpadded extra"),
        pytest.param(_GOOD_PROOF.replace("index 5", "index 05"), id="leading zero"),
        pytest.param(_GOOD_PROOF.replace("index 5", "index -5"), id="negative index"),
        pytest.param(_GOOD_PROOF.replace("index 5", "index  5"), id="double space"),
        pytest.param(_GOOD_PROOF.replace("index 5\n", ""), id="no index"),
        pytest.param(_GOOD_PROOF.replace("index 5\n", "index 5\nextra aGk=\n"), id="extra late"),
        pytest.param(_GOOD_PROOF.replace(_HASH_LINE, _HASH_LINE[:-4] + "AA=="), id="short hash"),
        pytest.param(_GOOD_PROOF.replace(_HASH_LINE + "\n", _HASH_LINE + " \n"), id="space"),
        pytest.param(_GOOD_PROOF.replace("\n\n", "\n", 1), id="no blank line"),
        pytest.param(_GOOD_PROOF.split("\n\n")[0], id="truncated"),
        pytest.param(_GOOD_PROOF.split("\n\n")[0] + "\n\n", id="no checkpoint"),
        pytest.param(_GOOD_PROOF.replace("\n8\n", "\n08\n"), id="malformed checkpoint"),
        pytest.param(
            _GOOD_PROOF.replace(_HASH_LINE + "\n", (_HASH_LINE + "\n") * 64), id="too many hashes"
        ),
        pytest.param("", id="empty"),
    ],
)
def test_tlog_proof_strict_parse(text: str) -> None:
    with pytest.raises(MalformedProofError):
        TlogProof.parse(text)


def test_invalid_tlog_proofs_cannot_be_built() -> None:
    hashes = tuple(TREE.inclusion_proof(5))
    for arguments in (
        (-1, hashes, TREE_NOTE),
        (5, (*hashes[:-1], b"short"), TREE_NOTE),
        (5, list(hashes), TREE_NOTE),
        (5, hashes, "not a note\n"),
    ):
        with pytest.raises(MalformedProofError):
            TlogProof(*arguments)


def test_errors_share_the_ledger_root() -> None:
    for error in (
        MalformedNoteError,
        MalformedKeyError,
        MalformedCheckpointError,
        MalformedProofError,
        NoKnownSignatureError,
        BadSignatureError,
        QuorumError,
        OriginMismatchError,
    ):
        assert issubclass(error, NoteError)
        assert issubclass(error, LedgerError)
