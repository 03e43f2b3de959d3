"""Warehouse bootstrap: every stage's schema and the API roles, idempotently.

Each stage owns its DDL (``connectors.loader``, ``ml.store``, ``ledger.store``,
``orderhub.tracking``, ``orderhub.live_tables``, ``orderhub.api``, ``orderhub.publishing``,
``orderhub.cases``); this is the one place that calls them all, once per process and
database, before anything reads or writes.
"""

from __future__ import annotations

import threading

import psycopg

from connectors.loader import ensure_schema as ensure_connector_schema
from fulfilment.store import ensure_schema as ensure_fulfilment_schema
from ledger.store import ensure_schema as ensure_ledger_schema
from ml.store import ensure_schema as ensure_ml_schema
from orderhub import publishing, tracking
from orderhub.api import prepare_roles
from orderhub.cases import CASES_DDL
from orderhub.live_tables import ensure_live_schema
from orderhub.secrets import get_secret
from orderhub.settings import Settings

_done: set[str] = set()
_lock = threading.Lock()


def prepare_warehouse(settings: Settings, database_url: str) -> None:
    """Create the schemas, tables and roles the flow needs (once per process)."""
    with _lock:
        if database_url in _done:
            return
        with psycopg.connect(database_url) as conn:
            ensure_connector_schema(conn)
            ensure_ml_schema(conn)
            ensure_fulfilment_schema(conn)
            ensure_ledger_schema(conn)
            ensure_live_schema(conn)
            tracking.prepare(conn, settings)
            publishing.ensure_pointer(conn)
            conn.execute(CASES_DDL)
            conn.commit()
        prepare_roles(database_url, get_secret(settings, "api-authenticator-password"))
        _done.add(database_url)
