"""Micro-benchmark: per-record cost of the ERP's derived cursor field and of the cursor's
date-time parse, airbyte-cdk's own against ``connectors.launch``'s shortcuts.

Builds the ERP stream with airbyte-cdk's factory (as ``source-declarative-manifest`` does,
then with :func:`connectors.launch.install_shortcuts`), runs its record transformation over
20k SAP records (``/Date(ms+0000)/``), and times ``DatetimeParser.parse`` on the cursors'
first formats. Usage: ``uv run python bench/cursor_fields.py``; figures to stdout.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and would shadow ``connectors``.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from connectors import launch
from connectors.catalog import SYSTEMS

RECORDS = 20_000
CONFIG = {"base_url": "http://127.0.0.1:9/erp", "start_date": "2020-01-01T00:00:00Z"}
INSTANTS = {"%Y-%m-%dT%H:%M:%SZ": "2026-10-03T14:05:09Z"}
INSTANTS["%Y-%m-%dT%H:%M:%S.%f%z"] = "2026-10-03T14:05:09.035Z"


def transformation() -> Any:
    """The ERP stream's one record transformation, as the factory builds it now."""
    with contextlib.redirect_stdout(io.StringIO()):
        from airbyte_cdk.sources.declarative.concurrent_declarative_source import (
            ConcurrentDeclarativeSource,
        )

        config = {**CONFIG, "api_key": "x" * 8}
        source = ConcurrentDeclarativeSource(
            source_config=SYSTEMS["erp"].manifest(), config=config, catalog=None, state=None
        )
        (stream,) = source.streams(config)
    retriever = stream._stream_partition_generator._partition_factory._retriever
    (built,) = retriever.record_selector.transformations
    return built


def per_record(built: Any) -> float:
    """Microseconds a record of ``built.transform`` over SAP records."""
    records = [
        {"SalesOrder": str(i), "LastChangeDateTime": f"/Date({1759500309000 + 7 * i}+0000)/"}
        for i in range(RECORDS)
    ]
    started = time.perf_counter()
    for record in records:
        built.transform(record, config=CONFIG, stream_state={}, stream_slice={})
    return (time.perf_counter() - started) / RECORDS * 1e6


def per_parse(parse: Any, parser: Any, value: str, form: str) -> float:
    started = time.perf_counter()
    for _ in range(RECORDS):
        parse(parser, value, form)
    return (time.perf_counter() - started) / RECORDS * 1e6


def main() -> None:
    jinja = per_record(transformation())
    parser_class = launch.datetime_parser_class()
    original = launch._ORIGINAL["DatetimeParser.parse"]
    parsed = {form: per_parse(original, parser_class(), v, form) for form, v in INSTANTS.items()}
    launch.install_shortcuts()
    fast = transformation()
    print(f"ERP cursor field: AddFields (Jinja) {jinja:.1f} us/record,")
    print(f"  {type(fast).__name__} {per_record(fast):.1f} us/record")
    for form, value in INSTANTS.items():
        short = per_parse(launch.parse, parser_class(), value, form)
        print(f"parse {form}: strptime {parsed[form]:.1f} us, shortcut {short:.1f} us")


if __name__ == "__main__":
    main()
