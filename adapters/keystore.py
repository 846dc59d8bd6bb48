"""Members' signing keys over time: rotation with an overlap, and revocation from an instant.

Each member whose adapter runs here has a history of keys under <data-dir>/keys/: the first
is `<token>.pem` (a demo key made on first run), later ones `<token>.<key id>.pem`, and
`rotation.json` records, per member, when each key became valid, when it stops (retired after
an overlap) and when it was revoked. The hub judges a signature with the key valid at the
message's signing time; the adapter signs with the newest key valid now.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from adapters.crypto import CryptoError, Signer, load_key, load_or_create_key, write_key
from ledger.agency import to_token

STATE_FILE = "rotation.json"


class KeyStoreError(CryptoError):
    """A rotation or revocation that cannot be done (unknown member or key, bad time)."""


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    file: str
    public_key_b64: str
    valid_from_ms: int = 0
    valid_until_ms: int | None = None
    revoked_from_ms: int | None = None

    @property
    def public_key(self) -> bytes:
        return base64.b64decode(self.public_key_b64)

    def valid_at(self, at_ms: int) -> bool:
        if at_ms < self.valid_from_ms:
            return False
        if self.valid_until_ms is not None and at_ms >= self.valid_until_ms:
            return False
        return self.revoked_from_ms is None or at_ms < self.revoked_from_ms


class KeyStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._path = directory / STATE_FILE

    def _load(self) -> dict[str, list[KeyRecord]]:
        if not self._path.exists():
            return {}
        raw = json.loads(self._path.read_text())
        return {code: [KeyRecord(**r) for r in records] for code, records in raw.items()}

    def _save(self, state: dict[str, list[KeyRecord]]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self._path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({c: [asdict(r) for r in rs] for c, rs in state.items()}, indent=2)
        )
        os.replace(tmp, self._path)

    def records(self, member: str) -> list[KeyRecord]:
        """Every key the member ever had here, oldest first; the first is made on demand."""
        state = self._load()
        if member not in state:
            signer = load_or_create_key(self._base(member), member, demo=True)
            state[member] = [
                KeyRecord(
                    signer.key_id,
                    self._base(member).name,
                    base64.b64encode(signer.public_key).decode(),
                )
            ]
            self._save(state)
        return state[member]

    def _base(self, member: str) -> Path:
        return self.directory / f"{to_token(member)}.pem"

    def current(self, member: str, now_ms: int) -> Signer:
        """The newest key valid now: what the adapter signs with."""
        valid = [r for r in self.records(member) if r.valid_at(now_ms)]
        if not valid:
            raise KeyStoreError(f"{member} has no key valid now; rotate to make one")
        newest = max(valid, key=lambda r: r.valid_from_ms)
        return load_key(self.directory / newest.file, member)

    def rotate(self, member: str, now_ms: int, overlap_ms: int) -> KeyRecord:
        """Make a new key valid from now; keys valid now retire after `overlap_ms`, so
        messages already signed and in flight still verify."""
        if overlap_ms < 0:
            raise KeyStoreError("overlap: must not be negative")
        records = self.records(member)
        signer = Signer.generate(member)
        path = self.directory / f"{to_token(member)}.{signer.key_id}.pem"
        write_key(path, signer, demo=True)
        new = KeyRecord(
            signer.key_id, path.name, base64.b64encode(signer.public_key).decode(), now_ms
        )
        retired = [
            replace(r, valid_until_ms=now_ms + overlap_ms)
            if r.valid_at(now_ms) and r.valid_until_ms is None
            else r
            for r in records
        ]
        state = self._load()
        state[member] = [*retired, new]
        self._save(state)
        return new

    def revoke(self, member: str, key_id: str, from_ms: int) -> KeyRecord:
        """A compromised key speaks for nobody from `from_ms` on (earlier messages stand)."""
        records = self.records(member)
        for i, record in enumerate(records):
            if record.key_id == key_id:
                if record.revoked_from_ms is not None and record.revoked_from_ms <= from_ms:
                    return record
                records[i] = replace(record, revoked_from_ms=from_ms)
                state = self._load()
                state[member] = records
                self._save(state)
                return records[i]
        known = ", ".join(r.key_id for r in records)
        raise KeyStoreError(f"{member} has no key {key_id} (keys: {known})")
