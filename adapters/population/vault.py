"""The hub's citizen vault: the pseudonym secret and the per-citizen keys, OUTSIDE the ledger.

- Pseudonyms: HMAC-SHA256 of the 12-digit number with a 32-byte secret generated on first
  start (`<data-dir>/secrets/pseudonym.key`, mode 0600, never committed). Without the secret
  the ledger's pseudonyms cannot be tested against the (small) space of possible numbers.
- Per-citizen keys: one AES-256-GCM key per pseudonym, made on first use, in a SQLite file of
  its own (`<data-dir>/secrets/citizen-keys.sqlite3`) with `secure_delete` on. The ledger
  keeps only ciphertext; `shred` deletes the key, overwrites the freed page and truncates
  the write-ahead log, so the ciphertext in the ledger (and in every exported bundle) can no
  longer be read, while the ledger's bytes, hence every Merkle proof, stay unchanged.

Sealed text is `v1.<key id>.<base64(nonce || ciphertext)>`; the caller's context (the look-up
id) is the associated data, so a sealed value cannot be moved to another look-up. The key id
tells a value sealed under a shredded key (unreadable for good) from a corrupt one, even after
a later look-up of the same citizen made them a new key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.errors import HubError

SECRET_FILE = "pseudonym.key"
KEYS_FILE = "citizen-keys.sqlite3"
_PREFIX = "v1."
_NONCE = 12


class VaultError(HubError):
    """The vault's secret or key table is missing or unreadable, or a seal is corrupt."""


def _load_or_create_secret(path: Path, create: bool) -> bytes:
    if path.exists():
        secret = path.read_bytes()
        if len(secret) != 32:
            raise VaultError(f"{path}: a pseudonym secret is 32 bytes")
        return secret
    if not create:
        raise VaultError(f"no pseudonym secret at {path} (has `truc up` run with this data dir?)")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret)
    return secret


class CitizenVault:
    """`hub.lookups.CitizenPrivacy` for the hub, plus what the audit commands need."""

    def __init__(self, secrets_dir: Path, *, create: bool = True) -> None:
        self._secret = _load_or_create_secret(secrets_dir / SECRET_FILE, create)
        path = secrets_dir / KEYS_FILE
        if not create and not path.exists():
            raise VaultError(f"no citizen key table at {path}")
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA secure_delete = ON")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS citizen_keys ("
            " pseudonym TEXT PRIMARY KEY, key_id TEXT NOT NULL, key BLOB NOT NULL,"
            " created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
        os.chmod(path, 0o600)

    def close(self) -> None:
        self._db.close()

    def pseudonym(self, id_number: str) -> str:
        return hmac.new(self._secret, id_number.encode(), hashlib.sha256).hexdigest()

    def _row(self, pseudonym: str) -> tuple[str, bytes] | None:
        row = self._db.execute(
            "SELECT key_id, key FROM citizen_keys WHERE pseudonym = ?", (pseudonym,)
        ).fetchone()
        return (str(row[0]), bytes(row[1])) if row else None

    def _key(self, pseudonym: str) -> bytes | None:
        row = self._row(pseudonym)
        return row[1] if row else None

    def seal(self, pseudonym: str, plaintext: bytes, context: bytes) -> str:
        with self._lock:
            row = self._row(pseudonym)
            if row is None:
                self._db.execute(
                    "INSERT OR IGNORE INTO citizen_keys (pseudonym, key_id, key) VALUES (?, ?, ?)",
                    (pseudonym, secrets.token_hex(8), AESGCM.generate_key(bit_length=256)),
                )
                row = self._row(pseudonym)
                assert row is not None
        key_id, key = row
        nonce = secrets.token_bytes(_NONCE)
        sealed = nonce + AESGCM(key).encrypt(nonce, plaintext, context)
        return f"{_PREFIX}{key_id}.{base64.b64encode(sealed).decode()}"

    def open(self, pseudonym: str, sealed: str, context: bytes) -> bytes | None:
        """The plaintext, or None when the key it was sealed under was shredded."""
        key_id, dot, text = sealed.removeprefix(_PREFIX).partition(".")
        if not sealed.startswith(_PREFIX) or not dot:
            raise VaultError("sealed_attributes: unknown format")
        with self._lock:
            row = self._row(pseudonym)
        if row is None or row[0] != key_id:
            return None
        key = row[1]
        try:
            raw = base64.b64decode(text, validate=True)
        except ValueError:
            raise VaultError("sealed_attributes: not base64") from None
        try:
            return AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], context)
        except InvalidTag:
            raise VaultError("sealed_attributes: does not decrypt (altered or misplaced)") from None

    def has_key(self, pseudonym: str) -> bool:
        with self._lock:
            return self._key(pseudonym) is not None

    def shred(self, pseudonym: str) -> bool:
        """Erase the citizen's key for good; True when there was one."""
        with self._lock:
            deleted = self._db.execute(
                "DELETE FROM citizen_keys WHERE pseudonym = ?", (pseudonym,)
            ).rowcount
            # The freed page was zeroed (secure_delete); flush the WAL into the file and
            # truncate it, so no copy of the key stays in the log either.
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return bool(deleted)
