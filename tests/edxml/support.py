"""Helpers for edXML tests: the sample package and a comparison of parsed trees."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring

SAMPLE = Path(__file__).resolve().parent / "data" / "cong-van-7816.edxml"


def sample() -> bytes:
    return SAMPLE.read_bytes()


def tree(data: bytes) -> Any:
    """A package as nested tuples (tag, attributes, text, children), whitespace-insensitive
    and blind to namespace prefixes, empty elements left out: two packages compare equal
    exactly when they carry the same fields with the same values in the same order."""
    return _normal(fromstring(data, forbid_dtd=True))


def _normal(element: Element) -> Any:
    children = [_normal(child) for child in element]
    children = [c for c in children if c is not None]
    text = (element.text or "").strip()
    if not children and not text and not element.attrib:
        return None
    return (element.tag, tuple(sorted(element.attrib.items())), text, tuple(children))
