"""Settings: the anchor names they accept are the anchors the ledger has."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.anchors import KINDS
from orderhub.settings import ANCHOR_KINDS, Settings


def test_anchor_names_are_the_ledgers_anchors() -> None:
    # settings keep their own copy so that reading them does not import the ledger
    assert ANCHOR_KINDS == KINDS


def test_an_unknown_anchor_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown anchor bitcoin"):
        Settings(home=tmp_path, anchors=["witness", "bitcoin"])
