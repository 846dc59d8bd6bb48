"""The edXML package's one error."""

from __future__ import annotations

from hub.errors import MalformedMessage


class EdxmlError(MalformedMessage):
    """An edXML package was refused; `field` is the element path (or "edxml" for the whole
    package) and `reason` says why, in words an integrator can act on."""
