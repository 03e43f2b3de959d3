"""The provenance log: what the steps of the flow call to record what they did.

Each entry is the RFC 8785 canonical JSON of
``{"kind": ..., "payload": ..., "recorded_at": <ISO 8601 UTC>}`` appended to the
RFC 9162 log in PostgreSQL (:mod:`ledger.store`). :meth:`ProvenanceLog.checkpoint`
signs the current tree head as a C2SP checkpoint (:mod:`ledger.checkpoint`) and
keeps it in ``ledger.checkpoints``; it refuses to sign a head that is smaller
than, or forks from, the last checkpoint (tlog-checkpoint: a log MUST NOT sign
a checkpoint inconsistent with one it signed before).

The ledger knows no source system, no model and no event kind: the caller opens the log
with the :class:`~ledger.kinds.EventKinds` its steps record, names the kind of each event
and hands the payload, which is checked against its kind before it is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

import psycopg

from ledger import store
from ledger.checkpoint import Checkpoint, parse_body, sign_checkpoint
from ledger.errors import CheckpointConflictError, StoreError
from ledger.keys import Signer
from ledger.kinds import EventKinds
from ledger.note import split_note
from ledger.sessions import Read, alone


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint, its signed note and when it was stored."""

    checkpoint: Checkpoint
    note: str
    created_at: datetime

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root_hash(self) -> bytes:
        return self.checkpoint.root_hash


def _timestamp(moment: datetime | None) -> str:
    if moment is None:
        moment = datetime.now(UTC)
    elif moment.tzinfo is None:
        raise ValueError(f"recorded_at {moment.isoformat()} has no time zone")
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def make_event(
    kinds: EventKinds,
    kind: str,
    payload: Mapping[str, Any],
    recorded_at: datetime | None = None,
) -> dict[str, Any]:
    """The leaf object of one provenance event (before canonicalisation), once ``kinds``
    accepts ``payload`` as an event of ``kind``."""
    kinds.check(kind, payload)
    return {"kind": kind, "payload": dict(payload), "recorded_at": _timestamp(recorded_at)}


def _signed_from_row(
    tree_size: int, root_hash: bytes, note: str, created_at: datetime
) -> SignedCheckpoint:
    checkpoint = parse_body(split_note(note)[0])
    if checkpoint.size != tree_size or checkpoint.root_hash != root_hash:
        raise StoreError(
            f"stored checkpoint of size {tree_size} does not match its own note "
            f"(size {checkpoint.size}, root {checkpoint.root_hash.hex()})"
        )
    return SignedCheckpoint(checkpoint, note, created_at)


def _latest_of(rows: list[Any]) -> SignedCheckpoint | None:
    if not rows:
        return None
    tree_size, root_hash, note, created_at = rows[0]
    return _signed_from_row(int(tree_size), bytes(root_hash), str(note), created_at)


def latest_checkpoint_read() -> Read[SignedCheckpoint | None]:
    """:func:`latest_checkpoint` as a :class:`~ledger.sessions.Read`, to send with others."""
    return Read(
        "select tree_size, root_hash, note, created_at from ledger.checkpoints "
        "order by tree_size desc, id desc limit 1",
        None,
        _latest_of,
    )


def latest_checkpoint(conn: psycopg.Connection[Any]) -> SignedCheckpoint | None:
    """The largest stored checkpoint (the newest of that size), or None.

    The note is parsed, not verified: verify it with
    :func:`ledger.checkpoint.open_checkpoint` and a trusted verifier key.
    """
    return alone(conn, latest_checkpoint_read())


class ProvenanceLog:
    """The signed, append-only log of provenance events.

    ``conn_or_url`` is an open psycopg connection (used as is, never closed here)
    or a libpq URL (a connection is opened and closed by :meth:`close`). The
    ``ledger`` schema is created on first use. ``kinds`` are the events it accepts.
    """

    def __init__(
        self,
        conn_or_url: psycopg.Connection[Any] | str,
        origin: str,
        signer: Signer,
        *,
        kinds: EventKinds,
    ) -> None:
        if not isinstance(kinds, EventKinds):
            raise TypeError(f"kinds must be an EventKinds, not {type(kinds).__name__}")
        self._owned = isinstance(conn_or_url, str)
        self.conn: psycopg.Connection[Any] = (
            psycopg.connect(conn_or_url) if isinstance(conn_or_url, str) else conn_or_url
        )
        Checkpoint(origin, 0, bytes(32))  # validates the origin line
        self.origin = origin
        self.signer = signer
        self.kinds = kinds
        store.ensure_schema(self.conn)

    def close(self) -> None:
        """Close the connection if this log opened it."""
        if self._owned:
            self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def append_event(
        self, kind: str, payload: Mapping[str, Any], *, recorded_at: datetime | None = None
    ) -> int:
        """Record one event; return its index in the log."""
        (index,) = store.append(self.conn, [make_event(self.kinds, kind, payload, recorded_at)])
        return index

    def append_events(
        self,
        events: Iterable[tuple[str, Mapping[str, Any]]],
        *,
        recorded_at: datetime | None = None,
    ) -> list[int]:
        """Record ``(kind, payload)`` events atomically, in order; return their indexes."""
        moment = recorded_at or datetime.now(UTC)
        return store.append(self.conn, [make_event(self.kinds, k, p, moment) for k, p in events])

    def checkpoint(self) -> SignedCheckpoint:
        """Sign the current tree head and store it; return the signed checkpoint.

        Signing the same head again with the same key returns the stored one
        (Ed25519 is deterministic, so the note would be identical).
        """
        with self.conn.transaction():
            size = store.lock_head(self.conn)
            last = latest_checkpoint(self.conn)
            if last is not None:
                if size < last.size:
                    raise CheckpointConflictError(
                        f"the log has {size} entries but checkpoint {last.size} was already "
                        "signed: refusing to sign a smaller one"
                    )
                if store.root(self.conn, last.size) != last.root_hash:
                    raise CheckpointConflictError(
                        f"the stored log no longer has the root signed at size {last.size} "
                        f"({last.root_hash.hex()}): refusing to sign a fork"
                    )
            root = store.root(self.conn, size)
            note = sign_checkpoint(self.origin, size, root, self.signer)
            if last is not None and last.note == note:
                return last
            row = self.conn.execute(
                "insert into ledger.checkpoints (tree_size, root_hash, note) "
                "values (%s, %s, %s) returning created_at",
                (size, root, note),
            ).fetchone()
        assert row is not None
        return SignedCheckpoint(Checkpoint(self.origin, size, root), note, row[0])

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        """The largest stored checkpoint, or None."""
        return latest_checkpoint(self.conn)

    # Read-side conveniences for callers building audit bundles.

    def tree_size(self) -> int:
        """Number of entries."""
        return store.tree_size(self.conn)

    def root(self, size: int | None = None) -> bytes:
        """Root hash at ``size`` entries (default: now)."""
        return store.root(self.conn, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Inclusion proof of entry ``index`` at ``size`` entries (default: now)."""
        return store.inclusion_proof(self.conn, index, size)

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """Consistency proof between two sizes."""
        return store.consistency_proof(self.conn, old, new)

    def leaf(self, index: int) -> tuple[dict[str, Any], bytes]:
        """Entry ``index`` and its leaf hash."""
        return store.leaf(self.conn, index)
