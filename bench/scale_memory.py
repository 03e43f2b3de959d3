"""Benchmark: peak memory of the sandbox and of the claims tree a build logs, at N orders.

    uv run python bench/scale_memory.py sandbox --orders 10000 50000
    uv run python bench/scale_memory.py claims --orders 10000 50000

``sandbox``: in a fresh process per size, the generated scenario and the sandbox's store
built from it (what ``python -m sandbox --orders N`` holds once started), then the first
page of 500 records of each system read and the whole WMS walked page by page; prints
the process's resident memory after the build and its peak (``VmHWM``), and the seconds.

``claims``: the orderhub process's part of a ``dbt_build`` event that grows with the
orders (:func:`orchestration.derived_state.derived_state` with the claims of all orders):
an embedded PostgreSQL in a scratch home gets the three marts the claims are read from,
filled by SQL (N orders, 10 events and one shipment each: the sizes of the generated
scenario's, no dbt run), then the claims tree is built as a build logs it; prints its
``tracemalloc`` peak, the process's ``VmHWM`` growth, the tree's root and the seconds.

One size per child process; prints ``/proc/loadavg`` before and after.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where bench/connectors.py
# would shadow the connectors package.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

PAGE = 500
EVENTS_PER_ORDER = 10


def _status(field: str) -> int:
    """``field`` of /proc/self/status (VmRSS, VmHWM) in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def sandbox(orders: int) -> str:
    from datetime import UTC, datetime

    from orderhub.sources import API_SYSTEMS
    from sandbox.store import SandboxStore
    from sandbox.worlds import build

    started = time.perf_counter()
    as_of = datetime(2026, 11, 1, tzinfo=UTC)
    world = build("default", seed=7, orders=orders, anomalies=1, as_of=as_of)
    store = SandboxStore.from_scenario(world)
    built, after_build = time.perf_counter() - started, _status("VmRSS")
    for system in API_SYSTEMS:
        store.window(system, None, 0, PAGE)
    offset, walked = 0, 0
    while True:
        page, total = store.window("wms", None, offset, PAGE)
        walked += len(page)
        offset += PAGE
        if offset >= total:
            break
    return (
        f"| sandbox | {orders:,} | {_mib(after_build)} after the build ({built:.1f} s) | "
        f"{_mib(_status('VmHWM'))} peak, {walked:,} WMS records walked "
        f"({time.perf_counter() - started:.1f} s) |"
    )


_MARTS = """
create schema marts;
create table marts.fct_order_current_status as
select (1000000 + n)::text as order_id, 'delivered'::text as canonical_status,
       md5('e' || n || '-9') as status_event_id, 'tms'::text as status_node,
       md5('s' || n) as status_shipment_id,
       timestamptz '2026-10-01' + n * interval '1 second' as updated_at,
       timestamptz '2026-09-30' + n * interval '1 second' as status_since,
       md5('e' || n || '-8') as status_since_event_id, 'paid'::text as payment_state
from generate_series(1, %(orders)s) n;
create table marts.fct_shipment_current_status as
select (1000000 + n)::text as order_id, md5('s' || n) as shipment_id,
       'outbound'::text as direction, 'delivered'::text as canonical_status,
       md5('e' || n || '-9') as status_event_id, 'tms'::text as status_node,
       timestamptz '2026-10-01' + n * interval '1 second' as updated_at,
       timestamptz '2026-09-30' + n * interval '1 second' as status_since
from generate_series(1, %(orders)s) n;
create table marts.fct_order_status_events as
select (1000000 + n)::text as order_id, md5('e' || n || '-' || k) as event_id,
       'v1'::text as crosswalk_version
from generate_series(1, %(orders)s) n, generate_series(0, %(events)s - 1) k;
create table marts.dim_status_crosswalk_versions as select 'v1'::text as crosswalk_version;
"""


def claims(orders: int) -> str:
    import psycopg

    from orchestration.derived_state import derived_state
    from orderhub.settings import Settings
    from orderhub.warehouse import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="scale-memory-") as home:
        server = EmbeddedPostgres(Settings(home=Path(home)))
        server.start()
        try:
            url = server.url()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    _MARTS.replace("%(orders)s", str(orders)).replace(
                        "%(events)s", str(EVENTS_PER_ORDER)
                    )
                )
            base = _status("VmHWM")
            tracemalloc.start()
            started = time.perf_counter()
            state = derived_state(url, claims=True)
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            grown = _status("VmHWM") - base
        finally:
            server.stop()
    root = str(state.fields["claims_root"])[:16]
    return (
        f"| claims | {orders:,} | tracemalloc peak {_mib(peak)}, VmHWM +{_mib(grown)} | "
        f"{state.fields['claims_size']:,} leaves, root {root}… ({seconds:.1f} s) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("sandbox", "claims"))
    parser.add_argument("--orders", type=int, nargs="+", required=True)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print((sandbox if args.what == "sandbox" else claims)(args.orders[0]), flush=True)
        return
    print("load before:", Path("/proc/loadavg").read_text().strip())
    for orders in args.orders:
        command = [sys.executable, __file__, args.what, "--orders", str(orders), "--child"]
        subprocess.run(command, check=True)
    print("load after:", Path("/proc/loadavg").read_text().strip())


if __name__ == "__main__":
    main()
