"""The per-order engine: the incremental marts as dbt compiles them, run for given records.

:func:`compile_models` runs ``dbt compile`` of :data:`HOT_PATH_MODELS` with the var
``hot_path`` (a subprocess, with the warehouse's connection in its environment) and, for a
write-audit-publish colour, ``mart_colour``: the macros ``rebuilt_orders_condition`` and
``source_records_condition`` then render the orders (``%(orders)s``) and each system's
record keys (``%(<system>_records)s``) as bind parameters instead of literal lists - one
macro, two renderings - and ``build_stamp`` the transaction's time. Each model's compiled
select is read from the manifest, in dependency order, with every other percent sign
escaped for psycopg and relations named without their database. :func:`project_fingerprint`
says when the project changed, so a long-running user compiles again.

:func:`rederive_events` and :func:`recompute_orders` run those selects inside the caller's
transaction (the live hot path, :mod:`orderhub.live.hot_path`, and the publish step's
recompute hook, :func:`publish_hook`): no rule of the crosswalk, the ordering or the
exceptions exists here.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from orderhub.dbt_env import dbt_env
from orderhub.publishing import ColourSchemas, RecomputeHook
from orderhub.seeds import PROJECT_DIR
from orderhub.sources import API_SYSTEMS

#: The incremental per-order marts the hot path recomputes (the events mart per record).
HOT_PATH_MODELS = (
    "fct_order_status_events",
    "fct_order_timeline",
    "fct_shipment_current_status",
    "fct_order_current_status",
    "fct_order_exceptions",
)
#: The bind parameters the compiled selects take.
PARAMETERS = ("orders", "erp_records", "crm_records", "wms_records", "tms_records")


@dataclass(frozen=True)
class CompiledModel:
    """One mart: its table and the select that recomputes its rows for the parameters."""

    name: str
    schema: str
    table: str
    select: str

    @property
    def relation(self) -> str:
        return f'"{self.schema}"."{self.table}"'


def _for_psycopg(text: str, database: str) -> str:
    """``text`` with its percent signs escaped, the hot path's parameters left as such, and
    its relations named without the database (the session's own)."""
    escaped = text.replace(f'"{database}".', "").replace("%", "%%")
    for name in PARAMETERS:
        escaped = escaped.replace(f"%%({name})s", f"%({name})s")
    return escaped


def _dbt() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def compile_models(
    database_url: str, work: Path, project: Path = PROJECT_DIR, colour: str | None = None
) -> list[CompiledModel]:
    """Compile :data:`HOT_PATH_MODELS` for the hot path; their selects in dependency order.
    With ``colour`` they read and write that colour's marts (``marts_<colour>``)."""
    target = work / "target"
    variables: dict[str, object] = {"hot_path": True}
    if colour is not None:
        variables["mart_colour"] = ColourSchemas.of(colour).colour
    command = [
        _dbt(), "compile", "--select", *HOT_PATH_MODELS,
        "--vars", json.dumps(variables),
        "--project-dir", str(project), "--profiles-dir", str(project),
        "--target-path", str(target), "--log-path", str(work / "logs"),
        "--no-use-colors", "--quiet",
    ]  # fmt: skip
    env = {**os.environ, **dbt_env(database_url), "DO_NOT_TRACK": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"dbt compile for the hot path failed: {done.stdout}{done.stderr}")
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    nodes = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["name"] in HOT_PATH_MODELS
    }
    return [
        CompiledModel(
            name,
            nodes[name]["schema"],
            nodes[name].get("alias") or name,
            _for_psycopg(nodes[name]["compiled_code"], nodes[name]["database"]),
        )
        for name in _dependency_order(nodes)
    ]


def _dependency_order(nodes: dict[str, dict]) -> list[str]:
    """The models in an order where each comes after the hot-path models it reads."""
    ids = {node["unique_id"]: name for name, node in nodes.items()}
    done: list[str] = []
    while len(done) < len(nodes):
        ready = [
            name
            for name, node in sorted(nodes.items())
            if name not in done
            and all(ids[dep] in done for dep in node["depends_on"]["nodes"] if dep in ids)
        ]
        if not ready:
            raise RuntimeError(f"the hot-path models depend on each other in a cycle: {nodes}")
        done.extend(ready[:1])
    return done


def project_fingerprint(project: Path = PROJECT_DIR) -> str:
    """A hash of the project's models, macros, seeds and configuration."""
    digest = hashlib.sha256()
    for folder in ("models", "macros", "seeds"):
        for path in sorted((project / folder).rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(project)).encode())
                digest.update(path.read_bytes())
    digest.update((project / "dbt_project.yml").read_bytes())
    return digest.hexdigest()


def lock(conn: psycopg.Connection[Any], names: Sequence[str]) -> None:
    """Take a transaction-scoped advisory lock per name, in sorted order of the lock keys."""
    conn.execute(
        "select pg_advisory_xact_lock(k) from ("
        " select distinct hashtextextended(n, 0) as k from unnest(%s::text[]) as n"
        " order by k) as keys",
        (list(names),),
    )


def rederive_events(
    conn: psycopg.Connection[Any], model: CompiledModel, records: Sequence[tuple[str, str]]
) -> list[str]:
    """Re-derive the events of ``records`` (system, record key) in the events mart
    ``model``: the orders they touched before and after, and the orders a record left,
    locked (records before orders, each set in sorted order: two callers never deadlock,
    and two on one order run one after the other), sorted."""
    lock(conn, [f"record:{system}/{key}" for system, key in records])
    params: dict[str, Any] = {
        f"{system}_records": [key for s, key in records if s == system] for system in API_SYSTEMS
    }
    where = (
        "(source_system, source_record_key) in"
        " (select * from unnest(%(systems)s::text[], %(keys)s::text[]))"
    )
    which = {"systems": [system for system, _ in records], "keys": [key for _, key in records]}
    old = conn.execute(
        f"delete from {model.relation} where {where} returning order_id, previous_order_ids",
        which,
    ).fetchall()
    conn.execute(_insert(conn, model), params)
    new = conn.execute(
        f"select order_id, previous_order_ids from {model.relation} where {where}", which
    ).fetchall()
    orders: set[str] = set()
    for order_id, previous in [*old, *new]:
        if order_id is not None:
            orders.add(order_id)
        orders.update(previous or [])
    ordered = sorted(orders)
    lock(conn, [f"order:{order_id}" for order_id in ordered])
    return ordered


def recompute_orders(
    conn: psycopg.Connection[Any], models: Sequence[CompiledModel], orders: Sequence[str]
) -> None:
    """Per per-order mart of ``models``, in order, delete the orders' rows and insert what
    its compiled select derives for them."""
    params = {"orders": list(orders)}
    for model in models:
        conn.execute(f"delete from {model.relation} where order_id = any(%(orders)s)", params)
        conn.execute(_insert(conn, model), params)


#: Each mart's columns, per compiled select (a new compile reads them again).
_COLUMNS: dict[tuple[str, str], list[str]] = {}


def _insert(conn: psycopg.Connection[Any], model: CompiledModel) -> str:
    """``insert into <mart> (<columns>) select <columns> from (<compiled select>)``."""
    columns = _COLUMNS.get((model.relation, model.select))
    if columns is None:
        columns = [
            row[0]
            for row in conn.execute(
                "select column_name from information_schema.columns"
                " where table_schema = %s and table_name = %s order by ordinal_position",
                (model.schema, model.table),
            )
        ]
        if not columns:
            raise RuntimeError(f"{model.relation} does not exist: build the marts once first")
        _COLUMNS[(model.relation, model.select)] = columns
    names = ", ".join(f'"{c}"' for c in columns)
    return (
        f"insert into {model.relation} ({names}) select {names} from (\n"
        f"{model.select}\n) as hot_path"
    )


#: How long before a build's raw watermark a batch may have finished and still have
#: committed its rows after the build read the raw tables (``finished_at`` is the closing
#: transaction's start): its records are recomputed too - recomputing more is harmless.
COMMIT_MARGIN = timedelta(minutes=1)


def records_after(conn: psycopg.Connection[Any], watermark: datetime) -> list[tuple[str, str]]:
    """The source records (system, key) with a raw row in a batch that finished after
    ``watermark`` (less :data:`COMMIT_MARGIN`) or is still open - from each batch's raw
    table, ``raw_<system>.<stream>`` (a record of a stream no event comes from derives
    nothing: harmless)."""
    batches = conn.execute(
        "select system, stream, array_agg(batch_id) from orderhub_meta.extraction_batches"
        " where coalesce(finished_at, 'infinity') > %s and system = any(%s)"
        " group by system, stream order by system, stream",
        (watermark - COMMIT_MARGIN, list(API_SYSTEMS)),
    ).fetchall()
    found: set[tuple[str, str]] = set()
    for system, stream, batch_ids in batches:
        query = sql.SQL("select distinct record_key from {} where batch_id = any(%s)").format(
            sql.Identifier(f"raw_{system}", stream)
        )
        found.update((str(system), str(key)) for (key,) in conn.execute(query, (batch_ids,)))
    return sorted(found)


def publish_hook(database_url: str, work: Path, colour: str) -> RecomputeHook:
    """The publish step's recompute hook for a publish of ``colour``
    (:func:`orderhub.publishing.register_recompute`): the selects are compiled for that
    colour now, before the publish takes its lock; in the publish transaction the hook
    re-derives, in that colour, the records with raw rows after the build's watermark and
    recomputes their orders. It writes no outbox row: the live path told subscribers of
    those changes when it made them."""
    models = compile_models(database_url, work, colour=colour)

    def hook(conn: psycopg.Connection[Any], watermark: datetime, into: ColourSchemas) -> int:
        if into.colour != colour:
            raise RuntimeError(f"compiled for {colour}, asked to recompute into {into.colour}")
        records = records_after(conn, watermark)
        if not records:
            return 0
        orders = rederive_events(conn, models[0], records)
        recompute_orders(conn, models[1:], orders)
        return len(orders)

    return hook
