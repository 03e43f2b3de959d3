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
recompute hook, :mod:`orderhub.publish_recompute`); a tracker already derived gets only its new
versions' events (:func:`add_new_tracker_versions`: the session setting
:data:`VERSIONS_SINCE` narrows the staging view to them; dbt_project/README.md, "The hot
path"). No rule of the crosswalk, the ordering or the
exceptions exists here.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg

from orderhub.dbt_env import dbt_env, dbt_executable
from orderhub.dbt_parse import partial_parse
from orderhub.publishing import ColourSchemas
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
        dbt_executable(), "compile", "--select", *HOT_PATH_MODELS,
        "--vars", json.dumps(variables),
        "--project-dir", str(project), "--profiles-dir", str(project),
        "--target-path", str(target), "--log-path", str(work / "logs"),
        "--no-use-colors", "--quiet",
    ]  # fmt: skip
    env = {**os.environ, **dbt_env(database_url), "DO_NOT_TRACK": "1"}
    database = env["ORDERHUB_PGDATABASE"]
    with partial_parse(work.parent / "parse", project, command, target, database):
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


def record_lock_name(system: str, key: str) -> str:
    """The advisory lock name of a source record (:func:`lock` hashes it)."""
    return f"record:{system}/{key}"


def order_lock_name(order_id: str) -> str:
    """The advisory lock name of an order (:func:`lock` hashes it)."""
    return f"order:{order_id}"


#: :func:`record_lock_name`'s lock key as SQL over the columns ``system`` and
#: ``record_key`` (the hot path's take skips the records another worker holds with it).
RECORD_LOCK_SQL = "hashtextextended('record:' || system || '/' || record_key, 0)"


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
    and two on one order run one after the other), sorted. A tracker already in the mart
    gets only its new versions' events (:func:`add_new_tracker_versions`); every other
    record is deleted and derived again from all its versions."""
    lock(conn, [record_lock_name(system, key) for system, key in records])
    orders: set[str] = set()
    done = add_new_tracker_versions(conn, model, [k for s, k in records if s == "tms"], orders)
    rest = [(system, key) for system, key in records if system != "tms" or key not in done]
    if rest:
        _rederive_whole(conn, model, rest, orders)
    ordered = sorted(orders)
    lock(conn, [order_lock_name(order_id) for order_id in ordered])
    return ordered


def _rederive_whole(
    conn: psycopg.Connection[Any],
    model: CompiledModel,
    records: Sequence[tuple[str, str]],
    orders: set[str],
) -> None:
    """Delete ``records``' events and derive them again from every version; their orders
    before and after (and the orders a record left) join ``orders``."""
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
    for order_id, previous in [*old, *new]:
        if order_id is not None:
            orders.add(order_id)
        orders.update(previous or [])


#: The session setting that narrows the staging view ``stg_tms__tracking_events`` to the
#: tracker versions extracted at or after it (unset: every version).
VERSIONS_SINCE = "orderhub.tms_versions_since"
#: What an event takes from its record's latest version, not from its own detail: when a
#: new version changes any of these, every event of the record is derived again.
RECORD_COLUMNS = (
    "order_id", "previous_order_ids", "order_reassigned_at", "shipment_ref", "tracking_code",
    "carrier", "crosswalk_version", "inputs_version",
)  # fmt: skip
#: A tracker last derived this long before the most recently derived one in its batch is
#: derived whole (so one stale tracker does not widen every tracker's window of versions).
STALE = timedelta(minutes=5)


def add_new_tracker_versions(
    conn: psycopg.Connection[Any], model: CompiledModel, keys: Sequence[str], orders: set[str]
) -> set[str]:
    """Derive, for the trackers ``keys`` already in the events mart, only the versions
    extracted since their newest event was first seen (the versions before were derived
    then: the intake stores one batch after another), with the compiled select itself,
    narrowed by :data:`VERSIONS_SINCE`, and insert the events whose id is new. A tracker's
    details accumulate and an event keeps its first sighting, so this equals deriving every
    version - unless a new version changed what the events take from the record
    (:data:`RECORD_COLUMNS`, such as a corrected order reference): such a tracker, and one
    the narrowed select derives nothing for, is left to be derived whole. The trackers done
    (their orders join ``orders``)."""
    if not keys:
        return set()
    since = dict(conn.execute(
        f"select source_record_key, max(source_extracted_at) from {model.relation}"
        " where source_system = 'tms' and source_record_key = any(%s) group by 1",
        (list(keys),),
    ).fetchall())  # fmt: skip
    if not since:
        return set()
    newest = max(since.values())
    keys = sorted(key for key, at in since.items() if at >= newest - STALE)
    conn.execute(
        "select set_config(%s, %s, true)", (VERSIONS_SINCE, min(since[k] for k in keys).isoformat())
    )
    try:
        done = conn.execute(_add_new(conn, model), {
            **{f"{system}_records": [] for system in API_SYSTEMS}, "tms_records": keys,
        }).fetchall()  # fmt: skip
    finally:
        conn.execute("select set_config(%s, '', true)", (VERSIONS_SINCE,))
    for _, order_id, previous in done:
        if order_id is not None:
            orders.add(order_id)
        orders.update(previous or [])
    return {key for key, _, _ in done}


def _add_new(conn: psycopg.Connection[Any], model: CompiledModel) -> str:
    """The statement of :func:`add_new_tracker_versions`: derive, set aside the trackers
    whose record columns moved, insert the new events of the others; those others, each
    with its order and the orders it left."""
    columns = _columns(conn, model)
    names = ", ".join(f'"{c}"' for c in columns)
    record = ", ".join(RECORD_COLUMNS)
    held = ", ".join(f"m.{c}" for c in RECORD_COLUMNS)
    return (
        f"with derived as materialized (select {names} from (\n{model.select}\n) as hot_path),"
        f" derived_records as (select distinct on (source_record_key) source_record_key,"
        f" {record} from derived order by source_record_key),"
        f" moved as (select r.source_record_key from derived_records as r"
        f" cross join lateral (select {held} from {model.relation} as m"
        f" where m.source_system = 'tms' and m.source_record_key = r.source_record_key"
        f" limit 1) as m where ({', '.join(f'r.{c}' for c in RECORD_COLUMNS)})"
        f" is distinct from ({held})),"
        f" inserted as (insert into {model.relation} ({names}) select {names} from derived"
        f" as d where d.source_record_key not in (select source_record_key from moved)"
        f" and not exists (select from {model.relation} as m where m.event_id = d.event_id)"
        f" returning 1)"
        f" select distinct d.source_record_key, d.order_id, d.previous_order_ids"
        f" from derived as d where d.source_record_key not in"
        f" (select source_record_key from moved)"
    )


def recompute_orders(
    conn: psycopg.Connection[Any],
    models: Sequence[CompiledModel],
    orders: Sequence[str],
    seconds: dict[str, float] | None = None,
) -> None:
    """Per per-order mart of ``models``, in order, delete the orders' rows and insert what
    its compiled select derives for them - for a mart of :data:`WRITES_CHANGED_ROWS`, only
    the rows that differ (:func:`_write_changed`) - (the seconds each took add to
    ``seconds``)."""
    params = {"orders": list(orders)}
    for model in models:
        started = time.perf_counter()
        if model.name in WRITES_CHANGED_ROWS:
            conn.execute(_write_changed(conn, model), params)
        else:
            conn.execute(f"delete from {model.relation} where order_id = any(%(orders)s)", params)
            conn.execute(_insert(conn, model), params)
        if seconds is not None:
            seconds[model.name] = seconds.get(model.name, 0.0) + time.perf_counter() - started


#: Each mart's columns, per compiled select (a new compile reads them again).
_COLUMNS: dict[tuple[str, str], list[str]] = {}


def _columns(conn: psycopg.Connection[Any], model: CompiledModel) -> list[str]:
    """The mart's columns, in order (kept per compiled select)."""
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
    return columns


def _insert(conn: psycopg.Connection[Any], model: CompiledModel) -> str:
    """``insert into <mart> (<columns>) select <columns> from (<compiled select>)``."""
    names = ", ".join(f'"{c}"' for c in _columns(conn, model))
    return (
        f"insert into {model.relation} ({names}) select {names} from (\n"
        f"{model.select}\n) as hot_path"
    )


#: The marts whose rows the hot path rewrites only where they changed, with their unique
#: key: a touched order's timeline is mostly the steps it had, and rewriting every step
#: into the table and its indexes was half the mart's time (docs/live.md, "The timeline's
#: unchanged steps").
WRITES_CHANGED_ROWS = {"fct_order_timeline": ("order_id", "step_number")}
#: The columns a row's content is compared without: the time of the transaction that built
#: it (an unchanged row keeps the time it was built).
STAMPS = ("built_at",)


def _write_changed(conn: psycopg.Connection[Any], model: CompiledModel) -> str:
    """One statement: the compiled select's rows for the orders (``fresh``) and the rows the
    mart has for them (``old``, read once by its order index); the old rows with no
    identical fresh row deleted (``gone``, by their unique key, which a view of the mart
    has too), then the fresh rows with no identical old row inserted. The orders then have
    the fresh rows, as after a delete and insert of all of them, but an unchanged row is
    neither deleted nor written again. The insert's rows wait for ``gone`` (its row count,
    read once before the first insert), so a replaced row is deleted before its new version
    meets the mart's unique indexes. Rows are matched on the mart's unique key
    (:data:`WRITES_CHANGED_ROWS`), then compared column by column."""
    columns = _columns(conn, model)
    names = ", ".join(f'"{c}"' for c in columns)
    compared = [c for c in columns if c not in STAMPS]

    def row(alias: str) -> str:
        return "(" + ", ".join(f'{alias}."{c}"' for c in compared) + ")"

    def same(a: str, b: str) -> str:
        key = " and ".join(f'{a}."{c}" = {b}."{c}"' for c in WRITES_CHANGED_ROWS[model.name])
        return f"{key} and {row(a)} is not distinct from {row(b)}"

    key = ", ".join(f'"{c}"' for c in WRITES_CHANGED_ROWS[model.name])
    old_key = ", ".join(f'o."{c}"' for c in WRITES_CHANGED_ROWS[model.name])
    return (
        f"with fresh as materialized (select {names} from (\n{model.select}\n) as hot_path),\n"
        f"old as materialized (select {names} from {model.relation}"
        f" where order_id = any(%(orders)s)),\n"
        f"gone as (delete from {model.relation} where order_id = any(%(orders)s)"
        f" and ({key}) in (select {old_key}"
        f" from old as o where not exists (select from fresh as f where {same('f', 'o')}))"
        f" returning 1)\n"
        f"insert into {model.relation} ({names}) select {names} from fresh as f"
        f" where (select count(*) from gone) >= 0"
        f" and not exists (select from old as o where {same('o', 'f')})"
    )
