"""Routed copies of a batch: bundled per member where they may be, in order, under the size
JetStream takes; each item still the routed message the adapter checks alone."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from adapters.crypto import Signer
from adapters.envelope import EnvelopeError, ProtobufCodec, unbundle
from adapters.pb.truc.v1 import envelope_pb2
from hub import service, subjects
from hub.errors import MalformedMessage
from hub.service import RoutedCopy, routed_publications
from tests.support import G15, H49

CODEC = ProtobufCodec(Signer.generate("hub"))


def _copies(member: str, names: Sequence[str], *, bundled: bool = True) -> list[RoutedCopy]:
    return [RoutedCopy(member, name.encode(), b"s", f"{name}:{member}", bundled) for name in names]


def _routed(publication: service.Publication) -> list[envelope_pb2.RoutedEnvelope]:
    if publication.headers:
        assert publication.headers == {subjects.BUNDLE_HEADER: subjects.ROUTED_BUNDLE}
        items = unbundle(publication.data)
    else:
        items = [publication.data]
    return [envelope_pb2.RoutedEnvelope.FromString(item) for item in items]


def _items(publication: service.Publication) -> list[bytes]:
    """The envelopes a publication carries, in order."""
    return [routed.envelope for routed in _routed(publication)]


def test_a_members_copies_share_one_message_in_order_with_a_derived_id() -> None:
    copies = _copies(H49, ["a", "b", "c"]) + _copies(G15, ["a"])
    to_h49, to_g15 = routed_publications(CODEC, copies)
    assert to_h49.subject == subjects.deliveries(H49) and to_h49.items == 3
    assert _items(to_h49) == [b"a", b"b", b"c"]
    assert to_h49.msg_id.startswith("routed+3:")
    assert routed_publications(CODEC, copies)[0].msg_id == to_h49.msg_id  # a retry: same id
    # A lone copy is published exactly as before bundling: its own id, no header, and its
    # stamp signed alone; a bundle's stamps are signed once, as a tree.
    assert (_items(to_g15), to_g15.msg_id, to_g15.headers) == ([b"a"], f"a:{G15}", None)
    (alone,) = _routed(to_g15)
    assert alone.hub_signature and not alone.HasField("stamps")
    together = _routed(to_h49)
    assert {r.stamps.signature for r in together} == {together[0].stamps.signature}
    assert [r.stamps.leaf_index for r in together] == [0, 1, 2]
    assert not any(r.hub_signature for r in together)


def test_a_copy_that_must_go_alone_splits_the_run_and_keeps_its_place() -> None:
    copies = _copies(H49, ["a", "b"]) + _copies(H49, ["ask"], bundled=False)
    copies += _copies(H49, ["c", "d"])
    published = routed_publications(CODEC, copies)
    assert [_items(p) for p in published] == [[b"a", b"b"], [b"ask"], [b"c", b"d"]]
    assert published[1].headers is None and published[1].msg_id == f"ask:{H49}"


def test_a_big_batch_is_cut_under_the_item_and_size_budgets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = [f"m{i:03}" for i in range(subjects.BUNDLE_MAX_ITEMS + 1)]
    counts = [p.items for p in routed_publications(CODEC, _copies(H49, names))]
    assert counts == [subjects.BUNDLE_MAX_ITEMS, 1]
    monkeypatch.setattr(subjects, "BUNDLE_MAX_BYTES", 40 + 3 * service.COUNTERSIGNATURE_BYTES)
    # Each copy counts 4 + 1 bytes, its countersignature's room, and a prefix of 8.
    published = routed_publications(CODEC, _copies(H49, names[:7]))
    assert [p.items for p in published] == [3, 3, 1]
    assert [i for p in published for i in _items(p)] == [n.encode() for n in names[:7]]


def test_an_empty_or_unreadable_bundle_is_refused_naming_it() -> None:
    with pytest.raises(EnvelopeError, match=r"bundle\.items"):
        unbundle(b"")
    with pytest.raises(MalformedMessage, match="bundle"):
        unbundle(b"\xff\xff\xff")


def test_a_message_twice_in_a_batch_is_routed_once() -> None:
    copies = _copies(H49, ["a", "a", "b"])
    (published,) = routed_publications(CODEC, copies)
    assert _items(published) == [b"a", b"b"] and published.items == 2
