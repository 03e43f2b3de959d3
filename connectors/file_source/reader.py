"""Read a file of order lines (CSV, JSON Lines, Parquet; local path or http(s) URL) into
the file source's records.

:func:`fetch` brings the file to a local path (an http(s) URL is downloaded to a
temporary file) and hashes it; :func:`read_records` reads it in chunks and yields one
record per row, in the shape ``connectors/file_source/order_lines.yaml`` declares:

- ``line_key`` (``<order_id>/<line_id>``, the record key), ``order_id``, ``line_id`` (the
  mapped column, else the line's position in its order in file order), ``sku``,
  ``store_id``, ``region``, ``country`` (column or constant);
- ``quantity`` and ``unit_price`` as numbers (negative quantities are returns and stay);
  a value that is no number is kept as written, and the loader quarantines the record;
- ``ordered_at`` as ISO 8601 with its UTC offset, from ``timestamp_format`` (default ISO
  8601) in ``timezone`` when the text has no offset;
- ``on_promotion`` as a boolean (true/false, 1/0, yes/no, y/n, t/f; empty: null).

Errors name the file, the row (the n-th record of the file, counting from 1) and the
column: a mapped column the file lacks stops the read before any row, and so does a
timestamp that cannot be parsed.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from connectors.file_source.mapping import ColumnMapping, FileSourceError

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
CHUNK_ROWS = 50_000
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def file_format(location: str, given: str | None) -> str:
    """``given``, or the format the location's extension names."""
    if given:
        return given
    name = location.split("?", 1)[0].lower()
    for suffix, kind in FORMATS.items():
        if name.endswith(suffix) or name.endswith(suffix + ".gz"):
            return kind
    raise FileSourceError(
        f"file {location}: cannot tell its format from the name; set format (csv, jsonl, parquet)"
    )


@contextlib.contextmanager
def fetch(location: str, timeout: float = 300.0) -> Iterator[tuple[Path, str]]:
    """(a local path, its SHA-256) for ``location``; a URL is downloaded for the block."""
    if not location.startswith(("http://", "https://")):
        path = Path(location)
        if not path.is_file():
            raise FileSourceError(f"file {location}: no such file")
        yield path, _sha256(path)
        return
    import httpx

    suffix = "".join(Path(location.split("?", 1)[0]).suffixes[-2:])
    with tempfile.TemporaryDirectory(prefix="orderhub-file-") as folder:
        path = Path(folder) / f"download{suffix}"
        try:
            with httpx.stream("GET", location, timeout=timeout, follow_redirects=True) as reply:
                if reply.status_code != 200:
                    raise FileSourceError(f"file {location}: HTTP {reply.status_code}")
                with path.open("wb") as out:
                    for block in reply.iter_bytes():
                        out.write(block)
        except httpx.HTTPError as exc:
            raise FileSourceError(f"file {location}: download failed ({exc})") from exc
        yield path, _sha256(path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _chunks(path: Path, kind: str, columns: list[str], name: str) -> Iterator[pd.DataFrame]:
    """The file's rows in chunks, every mapped column read as it is written."""
    if kind == "csv":
        header = list(pd.read_csv(path, nrows=0).columns)
        _check_columns(header, columns, name)
        yield from pd.read_csv(
            path, usecols=columns, dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS
        )
    elif kind == "jsonl":
        first = True
        for chunk in pd.read_json(path, lines=True, dtype=False, chunksize=CHUNK_ROWS):
            if first:
                _check_columns(list(chunk.columns), columns, name)
                first = False
            yield chunk.reindex(columns=columns)
    else:
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        _check_columns(parquet.schema_arrow.names, columns, name)
        for batch in parquet.iter_batches(batch_size=CHUNK_ROWS, columns=columns):
            yield batch.to_pandas()


def _check_columns(header: list[str], columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in header]
    if missing:
        raise FileSourceError(
            f"file {name}: missing column(s) {', '.join(missing)} (the file has: "
            f"{', '.join(map(str, header[:20]))}{', ...' if len(header) > 20 else ''})"
        )


def _text(values: pd.Series) -> pd.Series:
    """Ids as text: integers without a trailing ``.0``, missing as None."""
    out = values.astype(object)
    floats = out.map(lambda v: isinstance(v, float) and v.is_integer())
    out = out.where(~floats, out.map(lambda v: str(int(v)) if isinstance(v, float) else v))
    out = out.map(lambda v: None if v is None or v == "" or v != v else str(v))
    return out


def _numbers(values: pd.Series) -> pd.Series:
    parsed = pd.to_numeric(values.replace("", None), errors="coerce")
    raw = values.astype(object)
    keep = parsed.isna() & raw.notna() & (raw.astype(str) != "")
    out = parsed.astype(object).where(parsed.notna(), None)
    return out.where(~keep, raw)


def _booleans(values: pd.Series) -> pd.Series:
    def convert(value: Any) -> Any:
        if value is None or value == "" or (isinstance(value, float) and value != value):
            return None
        if isinstance(value, bool | np.bool_):
            return bool(value)
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return value  # not a boolean: the loader quarantines the record

    return values.map(convert)


def _timestamps(
    values: pd.Series, mapping: ColumnMapping, name: str, column: str, first_row: int
) -> pd.Series:
    text = values.astype(object).map(lambda v: None if v is None or v == "" else str(v))
    fmt = mapping.timestamp_format or "ISO8601"
    try:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=False)
        if parsed.dt.tz is None:
            parsed = parsed.dt.tz_localize(mapping.timezone, ambiguous="NaT", nonexistent="NaT")
        parsed = parsed.dt.tz_convert("UTC")
    except (ValueError, TypeError, AttributeError):
        # mixed offsets or naive and aware timestamps: one by one
        parsed = pd.Series(
            [_one_timestamp(t, fmt, mapping.timezone) for t in text], index=text.index
        )
    bad = parsed.isna() & text.notna()
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise FileSourceError(
            f"file {name}: row {first_row + position}, column {column!r}: cannot parse "
            f"{text.iloc[position]!r} as a timestamp ({mapping.timestamp_format or 'ISO 8601'})"
        )
    return parsed.map(lambda t: None if t is pd.NaT else t.isoformat())


def _one_timestamp(text: str | None, fmt: str, timezone: str) -> pd.Timestamp:
    if text is None:
        return pd.NaT
    try:
        stamp = pd.to_datetime(text, format=fmt)
    except (ValueError, TypeError):
        return pd.NaT
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(timezone)
    return stamp.tz_convert("UTC")


def read_records(
    path: Path, kind: str, mapping: ColumnMapping, name: str
) -> Iterator[dict[str, Any]]:
    """One record per row of the file (see the module docstring); ``name`` names it."""
    position: dict[str, int] = {}
    first_row = 1
    for chunk in _chunks(path, kind, mapping.source_columns(), name):
        chunk = chunk.reset_index(drop=True)
        fields: dict[str, pd.Series] = {}
        for target, column in mapping.columns.items():
            values = chunk[column]
            if target == "ordered_at":
                values = _timestamps(values, mapping, name, column, first_row)
            elif target in ("quantity", "unit_price"):
                values = _numbers(values)
            elif target == "on_promotion":
                values = _booleans(values)
            else:
                values = _text(values)
            fields[target] = values
        yield from _rows(fields, mapping, len(chunk), position)
        first_row += len(chunk)


def _rows(
    fields: dict[str, pd.Series], mapping: ColumnMapping, n: int, position: dict[str, int]
) -> Iterator[dict[str, Any]]:
    columns = {k: v.tolist() for k, v in fields.items()}
    order_ids = columns["order_id"]
    line_ids = columns.get("line_id")
    for i in range(n):
        record: dict[str, Any] = {k: v[i] for k, v in columns.items()}
        for target, value in mapping.constants.items():
            record[target] = value
        order = record.get("order_id")
        if line_ids is None:
            position[order] = position.get(order, 0) + 1
            record["line_id"] = str(position[order])
        if order_ids[i] is not None and record.get("line_id") is not None:
            record["line_key"] = f"{order}/{record['line_id']}"
        yield {k: v for k, v in record.items() if v is not None}
