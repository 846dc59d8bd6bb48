"""Who may sign checkpoints: one hub at a time, with a lease that passes on when it dies.

Several hub processes may share one ledger (scale-out), but the Merkle log must stay single:
two signers racing could each sign a different size at once, which is harmless for
consistency (the issuer proves every new checkpoint extends the last) but wasteful and
confusing; and a signer that dies must be replaced without an operator. The port is one
question asked every transparency tick: "am I the signer now?".
"""

from __future__ import annotations

from typing import Protocol


class SignerLease(Protocol):
    def held(self) -> bool:
        """Take or keep the lease; True while this process is the checkpoint signer.
        Blocking (it may talk to the database): call it off the event loop."""
        ...

    def release(self) -> None:
        """Give the lease up (on a clean stop), so another hub takes over at once."""
        ...


class SoleSigner:
    """The lease of a hub that is alone on its ledger (SQLite): always held."""

    def held(self) -> bool:
        return True

    def release(self) -> None:
        return None
