"""The dbt project's seeds as the warehouse loads them: typed rows from the CSV files.

dbt reads a seed's cells with the column types ``dbt_project/seeds/_seeds.yml`` declares
(``text``, ``integer``, ``numeric``, ``boolean``), and reads an empty cell - or one that is only
spaces, or says ``null`` in any case - as NULL. :func:`read_seed` gives the same rows in
Python, so what is hashed here (the crosswalk's version, the derivation spec) is what the
warehouse holds; ``tests/dbt_project`` compares the two.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"

Row = dict[str, Any]


@cache
def _declared(seeds_dir: Path) -> dict[str, dict[str, str]]:
    config = yaml.safe_load((seeds_dir / "_seeds.yml").read_text(encoding="utf-8"))
    return {
        seed["name"]: dict((seed.get("config") or {}).get("column_types") or {})
        for seed in config.get("seeds", [])
    }


def column_types(name: str, project: Path = PROJECT_DIR) -> dict[str, str]:
    """The column types ``_seeds.yml`` declares for the seed ``name``."""
    return _declared((project / "seeds").resolve()).get(name, {})


def cell(text: str, kind: str) -> Any:
    """One CSV cell as dbt loads it into a column of type ``kind``."""
    if text.strip().lower() in ("", "null"):
        return None
    if kind == "integer":
        return int(text)
    if kind in ("numeric", "double precision"):
        return float(text)
    if kind == "boolean":
        value = text.strip().lower()
        if value not in ("true", "false"):
            raise ValueError(f"{text!r} is not true or false")
        return value == "true"
    return text


def read_seed(name: str, project: Path = PROJECT_DIR, path: Path | None = None) -> list[Row]:
    """The rows of the seed ``name`` (from ``path`` when given), typed as dbt loads them."""
    types = column_types(name, project)
    source = path or project / "seeds" / f"{name}.csv"
    with source.open(newline="", encoding="utf-8") as handle:
        return [
            {column: cell(value, types.get(column, "text")) for column, value in row.items()}
            for row in csv.DictReader(handle)
            if any((value or "").strip() for value in row.values())
        ]


__all__ = ["PROJECT_DIR", "cell", "column_types", "read_seed"]
