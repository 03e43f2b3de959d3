"""The column mapping of a file of order lines: which column holds which field.

A mapping is YAML or JSON (``connectors/file_source/mappings/`` has examples)::

    columns:                    # field -> the file's column
      order_id: basket_id
      line_id: line_no          # optional: else the line's position in its order (1, 2, ...)
      sku: product_id
      store_id: store_id
      quantity: quantity        # negative: a return, kept as such
      unit_price: unit_price    # optional
      ordered_at: transaction_timestamp
      region: region            # optional
      country: country          # optional, ISO 3166 alpha-2 (public holidays)
      on_promotion: promo_flag  # optional: true/false, 1/0, yes/no
    constants:                  # optional: values of fields the file has no column for
      country: US
    timestamp_format: "%Y-%m-%d %H:%M:%S"   # optional (strftime); default ISO 8601
    timezone: Europe/Berlin     # optional, for timestamps without an offset; default UTC

Without a mapping the file's columns carry the field names themselves. A mapping that
names an unknown field, leaves a required one unmapped or gives a field both a column and
a constant is refused with a :class:`FileSourceError` naming the mapping.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from connectors.errors import ConnectorError

SYSTEM = "file"
STREAM = "order_lines"
#: Fields every order line has.
REQUIRED_FIELDS = ("order_id", "sku", "store_id", "quantity", "ordered_at")
#: Fields a file may have.
OPTIONAL_FIELDS = ("line_id", "unit_price", "region", "country", "on_promotion")
FIELDS = (*REQUIRED_FIELDS, *OPTIONAL_FIELDS)


class FileSourceError(ConnectorError):
    """A file or its mapping cannot be read: names the file (or mapping), row and column."""

    def __init__(self, cause: str) -> None:
        super().__init__(SYSTEM, cause, STREAM)


@dataclass(frozen=True)
class ColumnMapping:
    """Field -> column, constants, and how timestamps are written."""

    columns: dict[str, str]
    constants: dict[str, Any] = field(default_factory=dict)
    timestamp_format: str | None = None
    timezone: str = "UTC"
    origin: str = "the default mapping"

    @classmethod
    def identity(cls) -> ColumnMapping:
        """The mapping of a file whose columns carry the field names."""
        return cls({name: name for name in FIELDS if name != "line_id"})

    @classmethod
    def parse(cls, data: Mapping[str, Any], origin: str) -> ColumnMapping:
        """A mapping from its parsed YAML/JSON ``data``; ``origin`` names it in errors."""
        if not isinstance(data, Mapping):
            raise FileSourceError(f"mapping {origin}: not a mapping of columns")
        unknown_keys = sorted(set(data) - {"columns", "constants", "timestamp_format", "timezone"})
        if unknown_keys:
            raise FileSourceError(f"mapping {origin}: unknown key(s) {', '.join(unknown_keys)}")
        columns = {k: str(v) for k, v in dict(data.get("columns") or {}).items() if v is not None}
        constants = dict(data.get("constants") or {})
        problems = []
        unknown = sorted((set(columns) | set(constants)) - set(FIELDS))
        if unknown:
            problems.append(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(FIELDS)})")
        both = sorted(set(columns) & set(constants))
        if both:
            problems.append(f"field(s) {', '.join(both)} have both a column and a constant")
        missing = [f for f in REQUIRED_FIELDS if f not in columns and f not in constants]
        if missing:
            problems.append(f"required field(s) {', '.join(missing)} have no column")
        timezone = str(data.get("timezone") or "UTC")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"unknown timezone {timezone!r}")
        if problems:
            raise FileSourceError(f"mapping {origin}: " + "; ".join(problems))
        fmt = data.get("timestamp_format")
        return cls(columns, constants, str(fmt) if fmt else None, timezone, origin)

    @classmethod
    def load(cls, path: str | Path | None) -> ColumnMapping:
        """The mapping in the YAML or JSON file ``path`` (the identity mapping for None)."""
        if path is None:
            return cls.identity()
        location = Path(path)
        try:
            text = location.read_text(encoding="utf-8")
        except OSError as exc:
            raise FileSourceError(f"mapping {location}: cannot be read ({exc})") from exc
        try:
            data = json.loads(text) if location.suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise FileSourceError(f"mapping {location}: not valid YAML/JSON ({exc})") from exc
        return cls.parse(data or {}, str(location))

    def source_columns(self) -> list[str]:
        """The file columns the mapping reads."""
        return list(dict.fromkeys(self.columns.values()))

    def missing_from(self, header: list[str]) -> list[tuple[str, str]]:
        """``(field, column)`` of every mapped column ``header`` lacks."""
        present = set(header)
        return [(f, c) for f, c in self.columns.items() if c not in present]

    def describe(self) -> dict[str, Any]:
        """What the mapping is, for state and logs."""
        return {
            "origin": self.origin,
            "columns": dict(self.columns),
            "constants": dict(self.constants),
            "timestamp_format": self.timestamp_format,
            "timezone": self.timezone,
        }
