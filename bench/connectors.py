"""Benchmark: connector throughput from the sandbox into an embedded warehouse.

For each system, a sandbox scenario large enough that the system serves at least
``--records`` records (default 100k) is served by ``orderhub sandbox`` in its own process (the
source system is not part of the pipeline being measured), with an embedded PostgreSQL in a
temporary home, and the benchmark measures:

- connector only: the declarative connector's ``read`` drained without loading (records/s);
- loader only: up to 20k of those RECORD messages loaded into an empty database (records/s);
- first sync: ``sync_system`` end to end, connector and loader together (records/s);
- the sync after it, with nothing new at the source: it re-reads what the first read (its
  lookback is measured from where the first started, connectors/resume.py) and must store
  nothing new (seconds);
- no-change sync: the next sync again with nothing new at the source (seconds; it re-reads
  the lookback window and must store nothing new): every later sync of a quiet source;
- the first sync's CPU per record of each process (``/proc``, :mod:`proc_stats`): the
  connector, the loader (this process), PostgreSQL (all its processes) and the sandbox,
  and the records per second their sum allows on this machine's cores when all are busy
  (the CPU of every stream and of the connector's start, over the first stream's records:
  a figure of a sync this size).

Page sizes are each API's maximum (docs/sources.md). Usage: ``uv run python bench/connectors.py
[--records N] [--seed S] [--systems erp,crm,...]``. Progress goes to stderr, the figures to
stdout.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# ``connectors`` package: drop it before importing the project.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    import proc_stats  # this folder's, before it leaves the path

    sys.path.pop(0)
else:
    from bench import proc_stats

import httpx
import psycopg

from connectors import runner
from connectors.batches import stream_totals
from connectors.catalog import SYSTEMS
from connectors.config import source_config
from connectors.loader import Batch, StreamLoader, ensure_schema, load_messages
from connectors.sync import sync_system
from orderhub.cli.sandbox import SandboxProcess, sandbox_command
from orderhub.secrets import secret_env_name
from orderhub.settings import Settings, disable_telemetry
from orderhub.sources import SOURCE_OPTIONS
from orderhub.warehouse import EmbeddedPostgres, scratch_database
from sandbox.credentials import SECRET_NAMES, SandboxCredentials
from sandbox.scenario import Scenario

#: The largest page each API serves (docs/sources.md).
PAGE_SIZE = {"erp": 1000, "crm": 2000, "wms": 500, "tms": 100}
LOADER_SAMPLE = 20_000
#: The cores every process of a sync shares (the figures' ceiling: all of them busy).
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
#: Records per order of each system, measured on a small scenario to size the big ones.
RATIO_ORDERS = 3000


@dataclass(frozen=True)
class Figures:
    system: str
    orders: int
    records: int
    connector_rate: float
    loader_rate: float
    sync_rate: float
    sync_seconds: float
    reread_seconds: float
    second_seconds: float
    second_read: int
    second_new: int
    #: CPU seconds per record of the first sync, per process (connector, loader, ...)
    cpu: dict[str, float]


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Processes:
    """The processes whose CPU a sync spends besides this one (which loads and starts the
    connector): the sandbox and PostgreSQL's postmaster."""

    sandbox: int
    postgres: int

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far: the connectors this process waited for, this process, every
        PostgreSQL process, the sandbox."""
        own = proc_stats.stat(os.getpid())
        assert own is not None
        return {
            "connector": own.reaped_cpu,
            "loader": own.cpu,
            "postgres": proc_stats.tree_cpu(self.postgres),
            "sandbox": proc_stats.tree_cpu(self.sandbox),
        }


@contextmanager
def sandbox_process(
    orders: int, seed: int, credentials: SandboxCredentials, home: Path
) -> Iterator[tuple[dict[str, str], int]]:
    """``orderhub sandbox`` serving ``orders`` orders in its own process; yields its base
    URLs and its process id."""
    for attribute, secret in SECRET_NAMES.items():
        os.environ[secret_env_name(secret)] = getattr(credentials, attribute)
    settings = Settings(home=home)
    command = sandbox_command(settings, orders=orders, seed=seed, anomalies=1, port=0)
    with SandboxProcess(command, start_timeout=600) as sandbox:
        assert sandbox.pid is not None
        yield sandbox.urls, sandbox.pid


def connector_only(system: str, config: dict[str, Any]) -> tuple[int, float, list[dict[str, Any]]]:
    """Drain the connector; return the records of its first stream (the one every figure is
    of; the WMS's stock streams are a few dozen records), seconds and a sample of them."""
    first = SYSTEMS[system].streams[0].name
    sample: list[dict[str, Any]] = []
    count = 0
    started = time.perf_counter()
    with runner.read(system, config) as messages:
        for message in messages:
            if message["type"] == "RECORD" and message["record"]["stream"] == first:
                count += 1
                if len(sample) < LOADER_SAMPLE:
                    sample.append(message)
    return count, time.perf_counter() - started, sample


def loader_only(server_url: str, system: str, sample: list[dict[str, Any]]) -> float:
    """Records/s of the loader alone on ``sample`` (into a scratch database)."""
    connector = SYSTEMS[system]
    stream = connector.streams[0]
    state = {
        "type": "STATE",
        "state": {
            "type": "STREAM",
            "stream": {
                "stream_descriptor": {"name": stream.name},
                "stream_state": {stream.cursor_field: "2026-11-01T00:00:00Z"},
            },
            "sourceStats": {"recordCount": len(sample)},
        },
    }
    with scratch_database(server_url, prefix=f"bench_loader_{system}") as url:
        with psycopg.connect(url) as conn:
            ensure_schema(conn)
        batch = Batch("bench", system, stream.name, datetime.now(UTC), None)
        loader = StreamLoader(url, connector, stream, batch)
        try:
            loader.open_batch()
            started = time.perf_counter()
            load_messages(system, iter([*sample, state]), {stream.name: loader})
            seconds = time.perf_counter() - started
        finally:
            loader.close()
    return len(sample) / seconds


def bench_system(
    system: str,
    base_url: str,
    credentials: SandboxCredentials,
    warehouse: str,
    orders: int,
    processes: Processes,
) -> Figures:
    config = source_config(
        system,
        base_url,
        credentials.for_system(system),
        page_size=PAGE_SIZE[system],
        options=SOURCE_OPTIONS.get(system),
    )
    say(f"{system}: connector only ...")
    records, seconds, sample = connector_only(system, config)
    say(f"{system}: {records} records in {seconds:.1f} s; loader only on {len(sample)} ...")
    loader_rate = loader_only(warehouse.rpartition("/")[0] + "/postgres", system, sample)
    say(f"{system}: first sync ...")
    stream = SYSTEMS[system].stream_names[0]
    cpu_before = processes.cpu()
    first = stream_totals(sync_system(system, config, warehouse, progress=say), stream)
    cpu_after = processes.cpu()
    say(f"{system}: the sync after the first (re-reads what the first read) ...")
    started = time.perf_counter()
    reread = stream_totals(sync_system(system, config, warehouse), stream)
    reread_seconds = time.perf_counter() - started
    say(f"{system}: no-change sync ...")
    started = time.perf_counter()
    second = stream_totals(sync_system(system, config, warehouse), stream)
    second_seconds = time.perf_counter() - started
    if (first[0], first[1], reread[0]) != (records, records, records) or reread[1] or second[1]:
        raise SystemExit(f"{system}: unexpected counts {first} / {reread} / {second}")
    cpu = {name: (cpu_after[name] - spent) / first[0] for name, spent in cpu_before.items()}
    return Figures(
        system=system,
        orders=orders,
        records=records,
        connector_rate=records / seconds,
        loader_rate=loader_rate,
        sync_rate=first[0] / first[2],
        sync_seconds=first[2],
        reread_seconds=reread_seconds,
        second_seconds=second_seconds,
        second_read=second[0],
        second_new=second[1],
        cpu=cpu,
    )


def report(figures: list[Figures]) -> None:
    print("connectors benchmark: page size = each API's maximum, sandbox in its own process")
    print(
        f"{'system':<7}{'orders':>8}{'records':>9}{'connector/s':>13}{'loader/s':>10}"
        f"{'sync/s':>9}{'sync s':>8}{'next s':>8}{'no-change s':>13}{'re-read':>9}{'new':>5}"
    )
    for f in figures:
        print(
            f"{f.system:<7}{f.orders:>8}{f.records:>9}{f.connector_rate:>13.0f}"
            f"{f.loader_rate:>10.0f}{f.sync_rate:>9.0f}{f.sync_seconds:>8.1f}"
            f"{f.reread_seconds:>8.1f}{f.second_seconds:>13.2f}{f.second_read:>9}"
            f"{f.second_new:>5}"
        )
    print("first sync's CPU per record (µs), and the records/s it allows on", CORES, "cores")
    names = list(figures[0].cpu) if figures else []
    print(
        f"{'system':<7}" + "".join(f"{name:>11}" for name in names) + f"{'all':>8}{'allows/s':>10}"
    )
    for f in figures:
        total = sum(f.cpu.values())
        print(
            f"{f.system:<7}"
            + "".join(f"{f.cpu[name] * 1e6:>11.1f}" for name in names)
            + f"{total * 1e6:>8.1f}{CORES / total:>10.0f}"
        )


def postmaster_pid(postgres: EmbeddedPostgres) -> int:
    """The process id PostgreSQL's ``postmaster.pid`` names (its first line)."""
    return int((postgres.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])


def orders_needed(records: int, seed: int, systems: list[str]) -> dict[str, int]:
    """Orders per system so that each serves at least ``records`` records."""
    small = Scenario(seed=seed, orders=RATIO_ORDERS)
    needed = {}
    for system in systems:
        ratio = len(small.records(system)) / RATIO_ORDERS
        needed[system] = math.ceil(records / ratio * 1.01)
    return needed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="records per system")
    parser.add_argument("--seed", type=int, default=7, help="scenario seed")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="systems to measure")
    args = parser.parse_args(argv)
    disable_telemetry()
    systems = args.systems.split(",")
    needed = orders_needed(args.records, args.seed, systems)
    # one sandbox per distinct size (erp, crm and tms need about as many orders; wms fewer)
    groups: dict[int, list[str]] = {}
    for system in systems:
        size = max((o for o in groups if abs(o - needed[system]) / o < 0.15), default=None)
        groups.setdefault(size or needed[system], []).append(system)
    sizes = {max(needed[s] for s in members): members for members in groups.values()}
    credentials = SandboxCredentials.generate()
    figures: dict[str, Figures] = {}
    with tempfile.TemporaryDirectory(prefix="orderhub-bench-") as home:
        postgres = EmbeddedPostgres(Settings(home=Path(home) / "warehouse"))
        warehouse = postgres.start()
        try:
            for orders, members in sizes.items():
                say(f"sandbox: {orders} orders for {', '.join(members)} (generating ...)")
                sandbox_home = Path(home) / f"sandbox-{orders}"
                sandbox_home.mkdir()
                with sandbox_process(orders, args.seed, credentials, sandbox_home) as (
                    urls,
                    sandbox_pid,
                ):
                    processes = Processes(sandbox_pid, postmaster_pid(postgres))
                    counts = httpx.get(urls["erp"].rsplit("/", 1)[0] + "/", timeout=60).json()
                    say(f"sandbox: serving {counts['systems']}")
                    for system in members:
                        figures[system] = bench_system(
                            system, urls[system], credentials, warehouse, orders, processes
                        )
        finally:
            postgres.stop()
    report([figures[s] for s in systems])


if __name__ == "__main__":
    main()
