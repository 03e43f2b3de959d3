"""The hot path's SQL: the per-order marts as dbt compiles them, for bind parameters.

:func:`compile_models` runs ``dbt compile`` of :data:`HOT_PATH_MODELS` with the var
``hot_path`` (a subprocess, with the warehouse's connection in its environment): the
macros ``rebuilt_orders_condition`` and ``source_records_condition`` then render the
orders (``%(orders)s``) and each system's record keys (``%(<system>_records)s``) as bind
parameters instead of literal lists - one macro, two renderings - and ``build_stamp`` the
transaction's time. Each model's compiled select is read from the manifest, in dependency
order, with every other percent sign escaped for psycopg and relations named without their
database. :func:`project_fingerprint`
says when the project changed, so the worker compiles again.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from orderhub.dbt_env import dbt_env
from orderhub.seeds import PROJECT_DIR

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


def _for_psycopg(sql: str, database: str) -> str:
    """``sql`` with its percent signs escaped, the hot path's parameters left as such, and
    its relations named without the database (the session's own)."""
    escaped = sql.replace(f'"{database}".', "").replace("%", "%%")
    for name in PARAMETERS:
        escaped = escaped.replace(f"%%({name})s", f"%({name})s")
    return escaped


def _dbt() -> str:
    return str(Path(sys.executable).with_name("dbt"))


def compile_models(
    database_url: str, work: Path, project: Path = PROJECT_DIR
) -> list[CompiledModel]:
    """Compile :data:`HOT_PATH_MODELS` for the hot path; their selects in dependency order."""
    target = work / "target"
    command = [
        _dbt(), "compile", "--select", *HOT_PATH_MODELS,
        "--vars", "{hot_path: true}",
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
