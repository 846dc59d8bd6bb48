"""Least-privilege NATS users: the hub provisions one per adapter.

An adapter may publish only on its own inbound subject, pull and acknowledge only from its
own two durable consumers, and receive replies only on its own inbox prefix — so it cannot
send as another member, read another member's messages (not even by snooping on `_INBOX.>`),
or touch a stream. The embedded server is configured with exactly these users.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from adapters.document import attachments
from hub import subjects
from ledger.agency import to_token

HUB_USER = "hub"


@dataclass(frozen=True)
class NatsCredentials:
    user: str
    password: str
    inbox_prefix: str = "_INBOX"


def adapter_user(member: str) -> str:
    return f"adapter-{to_token(member)}"


def adapter_inbox_prefix(member: str) -> str:
    return f"_INBOX_{to_token(member)}"


def adapter_permissions(member: str, members: Sequence[str] = ()) -> dict[str, object]:
    """What one member's adapter may do on NATS, and nothing more. Attachments: it writes
    only its own bucket's subjects, and reads messages (no consumers, no purge, no delete)
    from the buckets of `members`, the senders whose attachments it may receive."""
    stream = subjects.OUT_STREAM
    consumers = [subjects.delivery_consumer(member), subjects.receipt_consumer(member)]
    publish = [subjects.inbound(member), subjects.proof_requests(member)]
    for consumer in consumers:
        publish += [
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}",
            f"$JS.API.CONSUMER.INFO.{stream}.{consumer}",
            f"$JS.ACK.{stream}.{consumer}.>",
        ]
    publish.append(attachments.bucket_subjects(member))
    publish += [
        f"$JS.API.STREAM.MSG.GET.{attachments.stream_name(sender)}"
        for sender in dict.fromkeys([member, *members])
    ]
    return {
        "publish": {"allow": publish},
        "subscribe": {"allow": [f"{adapter_inbox_prefix(member)}.>"]},
    }


def load_or_create(secrets_dir: Path, user: str, inbox_prefix: str = "_INBOX") -> NatsCredentials:
    """A user's password, generated once and kept 0600 under the data directory."""
    path = secrets_dir / f"nats-{user}.json"
    if path.exists():
        raw = json.loads(path.read_text())
        return NatsCredentials(raw["user"], raw["password"], raw.get("inbox_prefix", inbox_prefix))
    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    credentials = NatsCredentials(user, secrets.token_urlsafe(32), inbox_prefix)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(credentials.__dict__, handle)
    return credentials


def authorization_block(hub: NatsCredentials, adapters: dict[str, NatsCredentials]) -> str:
    """The `authorization` section of nats-server.conf (JSON is valid NATS config syntax)."""
    users: list[dict[str, object]] = [{"user": hub.user, "password": hub.password}]
    for member, credentials in adapters.items():
        users.append(
            {
                "user": credentials.user,
                "password": credentials.password,
                "permissions": adapter_permissions(member, list(adapters)),
            }
        )
    return "authorization " + json.dumps({"users": users}, indent=2) + "\n"
