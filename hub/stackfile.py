"""The running stack's address book: `truc up` writes it, every other command reads it.

Kept as JSON under <data-dir>/run/stack.json so tools outside the project can read it too.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hub.errors import ConfigError, StackNotRunning


@dataclass(frozen=True)
class MemberEndpoint:
    code: str
    name: str
    kind: str
    grpc: str
    # The key the adapter signs with now.
    key_id: str = ""


@dataclass(frozen=True)
class StackInfo:
    pid: int
    nats_url: str
    nats_monitor_url: str
    ledger: str
    ledger_env: dict[str, str]
    hub_name: str
    hub_key_id: str
    grpc_tls: str = "off"
    # Incremented each time the running stack reloads its keys (`truc keys`, SIGHUP).
    keys_generation: int = 0
    tls_dir: str = ""
    members: dict[str, MemberEndpoint] = field(default_factory=dict)
    nats_tls: bool = False  # NATS requires TLS (CA under tls_dir): `truc status` must use it
    hub_public_key: str = ""  # base64 Ed25519: lets tools check the hub's signatures
    metrics_url: str = ""
    dashboard_url: str = ""

    def endpoint(self, code: str) -> MemberEndpoint:
        try:
            return self.members[code]
        except KeyError:
            known = ", ".join(sorted(self.members)) or "none"
            raise StackNotRunning(
                f"{code} has no adapter in the running stack (members: {known})"
            ) from None


def stack_path(data_dir: Path) -> Path:
    return data_dir / "run" / "stack.json"


def write_stack(data_dir: Path, info: StackInfo) -> Path:
    path = stack_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(info), ensure_ascii=False, indent=2))
    os.replace(tmp, path)
    return path


def remove_stack(data_dir: Path) -> None:
    path = stack_path(data_dir)
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def read_stack(data_dir: Path, *, require_running: bool = True) -> StackInfo:
    path = stack_path(data_dir)
    try:
        raw: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise StackNotRunning(
            f"no running stack in {data_dir} (start one with `truc up --data-dir {data_dir}`)"
        ) from None
    except (OSError, ValueError) as error:
        raise StackNotRunning(f"cannot read {path}: {error}") from None
    if require_running and not _alive(int(raw.get("pid", 0))):
        raise StackNotRunning(
            f"the stack recorded in {path} (pid {raw.get('pid')}) is not running;"
            " start it with `truc up`"
        )
    members = {code: MemberEndpoint(**m) for code, m in raw.pop("members", {}).items()}
    return StackInfo(members=members, **raw)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def role_nats_url(configured: str, data_dir: Path, role: str) -> str:
    """The NATS a role apart from the hub connects to: the configured one, or else the
    embedded NATS of a hub running on the same data directory (ConfigError if none)."""
    if configured:
        return configured
    try:
        return read_stack(data_dir).nats_url
    except StackNotRunning as error:
        raise ConfigError(
            f"--role {role} needs --nats-url (or [hub] nats_url), or a hub running on "
            f"this data directory: {error}"
        ) from None
