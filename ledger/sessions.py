"""How the ledger's reads use a caller's connection: in the caller's transaction if one is
open, else in a transaction of their own.

A read inside the caller's transaction runs without a savepoint: a savepoint costs two
round trips (``SAVEPOINT``, ``RELEASE``), more than the read itself, and an audit trace
reads the log a dozen times. Reads in READ COMMITTED see each statement's snapshot either
way; a read that fails then fails the caller's transaction, as any of its statements would.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus


def reading(conn: psycopg.Connection[Any]) -> AbstractContextManager[Any]:
    """The context a read of the ledger runs in on ``conn`` (see the module)."""
    if conn.info.transaction_status == TransactionStatus.INTRANS:
        return contextlib.nullcontext()
    return conn.transaction()


__all__ = ["reading"]
