"""Benchmark: connector throughput from the sandbox into an embedded warehouse.

Starts a sandbox with ``--orders`` orders (default: enough that every system serves at least
20k records), an embedded PostgreSQL in a temporary home, and for each system measures:

- connector only: ``source-declarative-manifest read`` drained without loading (records/s);
- loader only: up to 20k of those RECORD messages loaded into an empty database (records/s);
- first sync: ``sync_system`` end to end, connector and loader together (records/s);
- second sync: the same sync again with nothing changed (seconds; must load nothing new).

Usage: ``uv run python bench/connectors.py [--orders N] [--seed S]``. Progress goes to
stderr, the figures to stdout.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# ``connectors`` package: drop it before importing the project.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import psycopg

from connectors import runner
from connectors.catalog import SYSTEMS
from connectors.config import source_config
from connectors.loader import Batch, StreamLoader, ensure_schema, load_messages
from connectors.sync import sync_system
from orderhub.sandbox.credentials import SandboxCredentials
from orderhub.sandbox.scenario import Scenario
from orderhub.sandbox.server import SandboxServer
from orderhub.settings import Settings, disable_telemetry
from orderhub.warehouse import EmbeddedPostgres

#: The largest page each API serves (docs/sources.md).
PAGE_SIZE = {"erp": 1000, "crm": 2000, "wms": 500, "tms": 100}
LOADER_SAMPLE = 20_000


@dataclass(frozen=True)
class Figures:
    system: str
    records: int
    connector_rate: float
    loader_rate: float
    sync_rate: float
    sync_seconds: float
    second_seconds: float
    second_new: int


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def connector_only(system: str, config: dict[str, Any]) -> tuple[int, float, list[dict[str, Any]]]:
    """Drain the connector; return records, seconds and a sample of RECORD messages."""
    sample: list[dict[str, Any]] = []
    count = 0
    started = time.perf_counter()
    with runner.read(system, config) as messages:
        for message in messages:
            if message["type"] == "RECORD":
                count += 1
                if len(sample) < LOADER_SAMPLE:
                    sample.append(message)
    return count, time.perf_counter() - started, sample


def loader_only(server_url: str, system: str, sample: list[dict[str, Any]]) -> float:
    """Records/s of the loader alone on ``sample`` (into a scratch database)."""
    connector = SYSTEMS[system]
    stream = connector.streams[0]
    name = f"bench_loader_{system}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}"')
        conn.execute(f'create database "{name}"')
    url = server_url.rpartition("/")[0] + f"/{name}"
    with psycopg.connect(url) as conn:
        ensure_schema(conn)
    state = {
        "type": "STATE",
        "state": {
            "type": "STREAM",
            "stream": {
                "stream_descriptor": {"name": stream.name},
                "stream_state": {stream.cursor_field: "bench"},
            },
            "sourceStats": {"recordCount": len(sample)},
        },
    }
    batch = Batch("bench", system, stream.name, datetime.now(UTC), None)
    loader = StreamLoader(url, connector, stream, batch)
    try:
        loader.open_batch()
        started = time.perf_counter()
        load_messages(system, iter([*sample, state]), {stream.name: loader})
        seconds = time.perf_counter() - started
    finally:
        loader.close()
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
    return len(sample) / seconds


def bench_system(
    system: str, server: SandboxServer, credentials: SandboxCredentials, warehouse: str
) -> Figures:
    (field,) = SYSTEMS[system].secret_fields
    config = source_config(
        system,
        server.base_url(system),
        {field: credentials.for_system(system)},
        page_size=PAGE_SIZE[system],
    )
    say(f"{system}: connector only ...")
    records, seconds, sample = connector_only(system, config)
    say(f"{system}: loader only on {len(sample)} records ...")
    loader_rate = loader_only(warehouse.rpartition("/")[0] + "/postgres", system, sample)
    say(f"{system}: first sync ...")
    (first,) = sync_system(system, config, warehouse, progress=say)
    say(f"{system}: second sync ...")
    started = time.perf_counter()
    (second,) = sync_system(system, config, warehouse)
    second_seconds = time.perf_counter() - started
    if first.records_read != records or second.records_new:
        raise SystemExit(f"{system}: unexpected counts {first} / {second}")
    return Figures(
        system=system,
        records=records,
        connector_rate=records / seconds,
        loader_rate=loader_rate,
        sync_rate=first.records_read / first.seconds,
        sync_seconds=first.seconds,
        second_seconds=second_seconds,
        second_new=second.records_new,
    )


def report(figures: list[Figures], orders: int) -> None:
    print(f"connectors benchmark: {orders} orders, page size = each API's maximum")
    print(
        f"{'system':<7}{'records':>9}{'connector/s':>13}{'loader/s':>10}"
        f"{'sync/s':>9}{'sync s':>8}{'2nd sync s':>12}{'2nd new':>9}"
    )
    for f in figures:
        print(
            f"{f.system:<7}{f.records:>9}{f.connector_rate:>13.0f}{f.loader_rate:>10.0f}"
            f"{f.sync_rate:>9.0f}{f.sync_seconds:>8.1f}{f.second_seconds:>12.1f}{f.second_new:>9}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=23_000, help="orders in the scenario")
    parser.add_argument("--seed", type=int, default=7, help="scenario seed")
    args = parser.parse_args(argv)
    disable_telemetry()
    scenario = Scenario(seed=args.seed, orders=args.orders)
    credentials = SandboxCredentials.generate()
    with tempfile.TemporaryDirectory(prefix="orderhub-bench-") as home:
        postgres = EmbeddedPostgres(Settings(home=Path(home)))
        warehouse = postgres.start()
        try:
            with SandboxServer(scenario, credentials) as server:
                figures = [bench_system(s, server, credentials, warehouse) for s in SYSTEMS]
        finally:
            postgres.stop()
    report(figures, args.orders)


if __name__ == "__main__":
    main()
