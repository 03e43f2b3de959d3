"""The manifests' YAML files read once per process (libyaml's parser when PyYAML has it:
the same document, faster). :mod:`connectors.catalog` reads them for the connectors'
specs, :mod:`connectors.launch` and :mod:`connectors.predicates` for the templates their
shortcuts must match; this module imports nothing heavier than PyYAML, so a connector
process pays no more than the parse."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

#: The declarative manifests, one per API system.
MANIFEST_DIR = Path(__file__).resolve().parent / "manifests"


@cache
def read_manifest(path: Path) -> dict[str, Any]:
    """The YAML document at ``path``, a mapping (shared: callers must not change it)."""
    with path.open(encoding="utf-8") as handle:
        manifest = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(manifest, dict):
        raise ValueError(f"manifest {path} is not a YAML mapping")
    return manifest


def system_manifest(system: str) -> dict[str, Any]:
    """The declarative manifest of the API system ``system``."""
    return read_manifest(MANIFEST_DIR / f"{system}.yaml")


__all__ = ["MANIFEST_DIR", "read_manifest", "system_manifest"]
