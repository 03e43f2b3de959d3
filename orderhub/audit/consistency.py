"""``orderhub audit consistency``: prove that a newer signed checkpoint extends an older one.

A checkpoint is given as a stored tree size, a checkpoint note file or an audit bundle
(:func:`read_checkpoint_argument`); :func:`consistency` checks both signatures, reads the
RFC 9162 consistency proof from the stored log, checks it, and returns the
``orderhub-consistency/v1`` document (:func:`ledger.bundle.consistency_document`) that
``orderhub audit verify`` checks offline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg

from ledger import store
from ledger.bundle import consistency_document
from ledger.checkpoint import open_checkpoint
from ledger.proofs import verify_consistency
from orderhub.audit.queries import AuditError


def stored_checkpoint(conn: psycopg.Connection[Any], size: int) -> str:
    """The signed note of the stored checkpoint of ``size`` (the newest of that size)."""
    with conn.transaction():
        row = conn.execute(
            "select note from ledger.checkpoints where tree_size = %s order by id desc limit 1",
            (size,),
        ).fetchone()
        if row is None:
            sizes = [
                r[0]
                for r in conn.execute(
                    "select distinct tree_size from ledger.checkpoints order by 1 desc limit 8"
                )
            ]
            raise AuditError(
                f"no stored checkpoint of size {size} (latest sizes: "
                f"{', '.join(map(str, sizes)) or 'none'})"
            )
    return str(row[0])


def consistency(
    conn: psycopg.Connection[Any], old_note: str, new_note: str, verifier_key: str
) -> dict[str, Any]:
    """Prove ``new_note``'s checkpoint extends ``old_note``'s; return the proof document."""
    old = open_checkpoint(old_note, verifier_key)
    new = open_checkpoint(new_note, verifier_key, origin=old.origin)
    if old.size > new.size:
        raise AuditError(
            f"checkpoint {old.size} is newer than checkpoint {new.size}: give the older first"
        )
    proof = store.consistency_proof(conn, old.size, new.size)
    verify_consistency(old.size, new.size, old.root_hash, new.root_hash, proof)
    return consistency_document(old_note, new_note, proof)


def read_checkpoint_argument(conn: psycopg.Connection[Any] | None, value: str) -> str:
    """A checkpoint given as a tree size (stored), a note file, or a bundle file."""
    if value.isdigit():
        if conn is None:
            raise AuditError("a checkpoint given by size needs the warehouse")
        return stored_checkpoint(conn, int(value))
    path = Path(value)
    if not path.exists():
        raise AuditError(f"{value} is neither a tree size nor a file")
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        document = json.loads(text)
        try:
            return str(document["log"]["checkpoint"])
        except (KeyError, TypeError):
            raise AuditError(f"{value} is JSON but not an audit bundle") from None
    return text
