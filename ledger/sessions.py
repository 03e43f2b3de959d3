"""How the ledger's reads use a caller's connection: in the caller's transaction if one is
open, else in a transaction of their own; and how several reads share one round trip.

A read inside the caller's transaction runs without a savepoint: a savepoint costs two
round trips (``SAVEPOINT``, ``RELEASE``), more than the read itself, and an audit trace
reads the log a dozen times. Reads in READ COMMITTED see each statement's snapshot either
way; a read that fails then fails the caller's transaction, as any of its statements would.

:func:`together` sends independent reads (:class:`Read`) in one pipeline and fetches
their rows after its one ``Sync``: one round trip for all of them (fetching a result
inside the pipeline would cost a flush round trip of its own).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import psycopg
from psycopg.pq import TransactionStatus

T = TypeVar("T")


def reading(conn: psycopg.Connection[Any]) -> AbstractContextManager[Any]:
    """The context a read of the ledger runs in on ``conn`` (see the module)."""
    if conn.info.transaction_status == TransactionStatus.INTRANS:
        return contextlib.nullcontext()
    return conn.transaction()


@dataclass(frozen=True)
class Read(Generic[T]):
    """One statement and what its rows mean: ``parse`` turns them into the answer (a
    ``query`` of None sends nothing: ``parse`` gets no rows)."""

    query: Any
    params: Any
    parse: Callable[[list[Any]], T]


def alone(conn: psycopg.Connection[Any], read: Read[T]) -> T:
    """``read``'s answer, its statement sent on its own in the context of :func:`reading`."""
    if read.query is None:
        return read.parse([])
    with reading(conn):
        rows = conn.execute(read.query, read.params).fetchall()
    return read.parse(rows)


def together(conn: psycopg.Connection[Any], *reads: Read[Any]) -> list[Any]:
    """Each read's answer, in order, the statements sent in one pipeline: one round trip.

    Each statement sees its own snapshot (READ COMMITTED), as when sent one by one; the
    first that fails raises (the ones after it are not run)."""
    sent = [read for read in reads if read.query is not None]
    if not sent:
        return [read.parse([]) for read in reads]
    with conn.pipeline():
        cursors = {id(read): conn.execute(read.query, read.params) for read in sent}
    return [
        read.parse(cursors[id(read)].fetchall() if id(read) in cursors else []) for read in reads
    ]


__all__ = ["Read", "alone", "reading", "together"]
