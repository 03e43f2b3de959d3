"""The derivation spec: how the dbt models turn raw records into canonical events, as data.

``dbt_project/derivation_spec.json`` says, per raw table, where a record keeps its order
reference, times, node and status codes, and names the roles of the status rules
(``docs/audit-bundle.md``, "The derivation spec"). :func:`derivation_spec` completes it
with what the build reads from the project: the seeds that take part in deriving an event
or a status (``status_fields``, ``source_precedence``, ``clock_skew_tolerances``, the
return nodes of ``locations``; their notes left out) and the shipped statuses of
``dbt_project.yml``. Every ``dbt_build`` provenance event logs the SHA-256 of the result
(:func:`spec_hash`); an audit bundle carries the spec itself, and ``orderhub audit
verify`` applies it (:mod:`ledger.bundle.derive`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from ledger.canonical import canonical_json
from orderhub.seeds import PROJECT_DIR, read_seed

SPEC_FILE = "derivation_spec.json"
#: The seeds a derivation reads, with the columns it reads of each.
SPEC_SEEDS: dict[str, tuple[str, ...]] = {
    "status_fields": (
        "source_system", "source_field", "event_class", "trim_whitespace", "ignore_case",
        "blank_code",
    ),
    "source_precedence": ("source_system", "precedence", "authority_on"),
    "clock_skew_tolerances": ("source_system", "max_ahead_minutes", "max_behind_days"),
}  # fmt: skip
#: The columns of a location that receives returns which the shipment rule compares.
RETURN_NODE_COLUMNS = ("city", "country", "postal_code")


def shipped_statuses(project: Path = PROJECT_DIR) -> list[str]:
    """The canonical statuses that say the goods have left (``vars`` of dbt_project.yml)."""
    config = yaml.safe_load((project / "dbt_project.yml").read_text(encoding="utf-8"))
    return list(config["vars"]["shipped_statuses"])


def _seed(name: str, columns: tuple[str, ...], project: Path) -> list[dict[str, Any]]:
    return [{c: row.get(c) for c in columns} for row in read_seed(name, project)]


def derivation_spec(project: Path = PROJECT_DIR) -> dict[str, Any]:
    """The whole spec a build of ``project`` applies (see the module)."""
    spec = json.loads((project / SPEC_FILE).read_text(encoding="utf-8"))
    for name, columns in SPEC_SEEDS.items():
        spec[name] = _seed(name, columns, project)
    spec["return_nodes"] = [
        {c: row[c] for c in RETURN_NODE_COLUMNS}
        for row in read_seed("locations", project)
        if row.get("receives_returns")
    ]
    spec["rules"] = {**spec["rules"], "shipped_statuses": shipped_statuses(project)}
    return spec


def event_tables(spec: dict[str, Any]) -> frozenset[str]:
    """The raw tables (``schema.table``) the spec derives events from: an order's records
    are read from these only (a system's other streams, such as the WMS's stock, are no
    order's records, and their keys may equal an order record's)."""
    return frozenset(stream["table"] for stream in spec["streams"])


def spec_hash(spec: dict[str, Any]) -> str:
    """Hex SHA-256 of the spec's RFC 8785 bytes: what a ``dbt_build`` event logs."""
    return hashlib.sha256(canonical_json(spec)).hexdigest()


__all__ = ["SPEC_FILE", "derivation_spec", "shipped_statuses", "spec_hash"]
