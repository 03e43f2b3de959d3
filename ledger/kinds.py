"""The kinds of event a log accepts, each with the payload fields it must carry.

The ledger knows no product: whoever opens a :class:`~ledger.log.ProvenanceLog` hands it
an :class:`EventKinds` naming the events its steps record, and every append is checked
against it (:meth:`EventKinds.check`): an unknown kind, or a payload missing one of its
kind's required fields, is refused before anything is written. A payload may carry more
than the required fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any


class EventKinds(Mapping[str, frozenset[str]]):
    """Event kind -> the payload field names an event of that kind must carry."""

    def __init__(self, kinds: Mapping[str, Iterable[str]]) -> None:
        fields: dict[str, frozenset[str]] = {}
        for kind, required in kinds.items():
            if not isinstance(kind, str) or not kind:
                raise ValueError(f"an event kind is a non-empty string, not {kind!r}")
            if isinstance(required, str):
                raise TypeError(f"the fields of {kind!r} are a collection of names, not a string")
            fields[kind] = frozenset(required)
        if not fields:
            raise ValueError("a log needs at least one event kind")
        self._fields = fields

    def __getitem__(self, kind: str) -> frozenset[str]:
        return self._fields[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        fields = {kind: sorted(required) for kind, required in self._fields.items()}
        return f"EventKinds({fields!r})"

    def check(self, kind: str, payload: Any) -> None:
        """Raise ValueError (TypeError for a non-mapping payload) unless ``payload`` is a
        valid payload of ``kind``."""
        if kind not in self._fields:
            raise ValueError(
                f"unknown provenance event kind {kind!r}; expected one of {sorted(self._fields)}"
            )
        if not isinstance(payload, Mapping):
            raise TypeError(
                f"the payload of a {kind} event must be a mapping, not {type(payload).__name__}"
            )
        missing = sorted(self._fields[kind] - payload.keys())
        if missing:
            raise ValueError(f"the payload of a {kind} event lacks {', '.join(missing)}")
