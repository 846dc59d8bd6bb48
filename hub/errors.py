"""The hub package's errors: one root, so entry points can turn any of them into a clean exit."""

from __future__ import annotations


class HubError(Exception):
    """Root of every error raised by the hub package."""


class ConfigError(HubError):
    """The configuration file is missing, unreadable or names something impossible."""


class MalformedMessage(HubError):
    """A message could not be parsed; `field` names the part that is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class StackNotRunning(HubError):
    """A command needs the running stack (`truc up`) and found none in the data directory."""
