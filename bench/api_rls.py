"""Benchmark: the API with row-level security - one order by id, and a list, as ``partner``
(row security on) and as ``analyst`` (reads every row), through PostgREST, measured by wrk.

    uv run python bench/api_rls.py                   # 100,000 orders, embedded PostgreSQL
    uv run python bench/api_rls.py --orders 20000 --duration 10

Builds, in a fresh database: the sandbox's generated scenario for ``--orders`` orders (ERP,
CRM, WMS and TMS records, loaded by the real loader), the dbt project built for real (every
model, the ``api`` views with their roles, grants and row-level security), and PostgREST 12
in front of it with the home's keys (``orderhub.api.ApiServer``, as ``orderhub api``). The
partner is the carrier with the most shipments; the order is one of its orders. Then, for
each request and role, wrk (Debian's ``/usr/bin/wrk``; ``--connections`` 32, ``--threads``
2, ``--duration`` 20 s, after a 3 s warm-up) measures requests/s and the latency
percentiles (a wrk Lua ``done`` hook prints p50/p95/p99; non-2xx answers are counted and
must be none). It prints the table, and the plans PostgreSQL picks for both queries as the
partner (``EXPLAIN ANALYZE`` with the token's claims set as PostgREST sets them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path, where bench/connectors.py
# would shadow the ``connectors`` package: drop it before importing the project.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import httpx
import psycopg

from connectors.schema import ensure_schema
from connectors.sync import load_records
from orchestration.dbt_run import FLOW_BUILD_EXCLUDES, ensure_sources, invoke_dbt
from orderhub.api import ApiServer
from orderhub.api_auth import mint_token
from orderhub.progress import say
from orderhub.settings import Settings, disable_telemetry
from orderhub.sources import API_SYSTEMS
from orderhub.warehouse import free_port, scratch_database
from sandbox.scenario import Scenario

AS_OF = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
WRK = "/usr/bin/wrk"
#: wrk's summary as one JSON line: rate, latency percentiles (microseconds), non-2xx.
WRK_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50": %d, "p95": %d, "p99": %d, '
      .. '"non2xx": %d, "errors": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def build(url: str, settings: Settings, orders: int, seed: int) -> dict[str, float]:
    """Load the scenario and build it; the seconds each part took."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    scenario = Scenario(seed=seed, orders=orders, as_of=AS_OF)
    with psycopg.connect(url) as conn:
        ensure_schema(conn)
    for system in API_SYSTEMS:
        load_records(url, system, scenario.records(system), AS_OF.isoformat())
    timings["load"] = time.perf_counter() - started
    say(f"generated and loaded {orders} orders ({timings['load']:.0f} s)")
    started = time.perf_counter()
    ensure_sources(url)
    result = invoke_dbt(url, settings.home_dir / "dbt", "build", *FLOW_BUILD_EXCLUDES)
    if not result.success:
        raise RuntimeError(f"dbt build failed: {result.exception or 'see the dbt log'}")
    timings["build"] = time.perf_counter() - started
    say(f"dbt build ({timings['build']:.0f} s)")
    return timings


def partner_columns(url: str) -> str:
    """The columns of ``api.orders`` a partner may read (no customer ids, no amounts): both
    roles ask for these, so the two measure the same answer."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select column_name from information_schema.column_privileges"
            " where table_schema = 'api' and table_name = 'orders' and grantee = 'partner'"
            " and privilege_type = 'SELECT' order by column_name"
        ).fetchall()
    return ",".join(name for (name,) in rows)


def subject(url: str) -> tuple[str, str, int]:
    """The carrier with the most shipments, one of its orders, and how many it has."""
    with psycopg.connect(url) as conn:
        partner, shipments = conn.execute(
            "select partner_id, count(*) from marts.fct_shipment_current_status"
            " where partner_id is not null group by 1 order by 2 desc, 1 limit 1"
        ).fetchone()
        (order_id,) = conn.execute(
            "select min(order_id) from marts.fct_shipment_current_status where partner_id = %s",
            (partner,),
        ).fetchone()
    return str(partner), str(order_id), int(shipments)


def explain(url: str, role: str, claims: dict[str, str], path_query: str) -> str:
    """The plan of the api view's query as ``role`` with ``claims`` (as PostgREST runs it)."""
    with psycopg.connect(url) as conn:
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        conn.execute(f"set local role {role}")
        rows = conn.execute(f"explain (analyze, costs off, timing off) {path_query}").fetchall()
        conn.rollback()
    return "\n".join(f"    {line}" for (line,) in rows)


def wrk(url: str, token: str, args: argparse.Namespace, script: Path) -> dict[str, Any]:
    """Run wrk against ``url`` (a 3 s warm-up first); its summary."""
    header = f"Authorization: Bearer {token}"
    for duration in (3, args.duration):
        run = subprocess.run(
            [WRK, f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s", "--latency",
             "-s", str(script), "-H", header, url],
            capture_output=True, text=True, check=True, timeout=duration + 60,
        )  # fmt: skip
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    summary["rps"] = summary["requests"] / summary["seconds"]
    return summary


def measure(base: str, settings: Settings, args: argparse.Namespace, url: str) -> None:
    partner, order_id, shipments = subject(url)
    tokens = {
        "partner": mint_token(settings, "partner", claims={"partner_id": partner}),
        "analyst": mint_token(settings, "analyst"),
    }
    columns = partner_columns(url)
    requests = {
        "one order by id": f"/orders?select={columns}&order_id=eq.{order_id}",
        "in transit, limit 50": f"/orders?select={columns}&canonical_status=eq.in_transit&limit=50",
    }
    for role, token in tokens.items():  # both answer, and with what they may see
        for path in requests.values():
            answer = httpx.get(base + path, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200 and answer.json(), (role, path, answer.text)
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(WRK_REPORT, encoding="utf-8")
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for name, path in requests.items():
        for role, token in tokens.items():
            results[name, role] = wrk(base + path, token, args, script)
            r = results[name, role]
            say(f"{name} as {role}: {r['rps']:.0f} req/s, p95 {r['p95'] / 1e3:.1f} ms")
    script.unlink()
    report(results, partner, order_id, shipments, args)
    claims = {"role": "partner", "partner_id": partner}
    print(f"\nplan, one order as partner {partner}:")
    one = f"select {columns} from api.orders where order_id = '{order_id}'"
    print(explain(url, "partner", claims, one))
    print("plan, in transit as partner:")
    listed = f"select {columns} from api.orders where canonical_status = 'in_transit' limit 50"
    print(explain(url, "partner", claims, listed))


def report(
    results: dict[tuple[str, str], dict[str, Any]],
    partner: str,
    order_id: str,
    shipments: int,
    args: argparse.Namespace,
) -> None:
    print()
    print(
        f"API row-security benchmark: {args.orders} orders, partner {partner} ({shipments} "
        f"shipments), order {order_id}; wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s; load before: {args.load}"
    )
    print(f"  {'request':<22} {'role':<8} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'p99 ms':>7} {'non-2xx':>7}  RLS cost")  # fmt: skip
    for (name, role), r in results.items():
        cost = ""
        if role == "partner":
            analyst = results[name, "analyst"]["rps"]
            cost = f"{(1 - r['rps'] / analyst) * 100:+.1f} % fewer req/s"
        print(
            f"  {name:<22} {role:<8} {r['rps']:>8.0f} {r['p50'] / 1e3:>7.1f} "
            f"{r['p95'] / 1e3:>7.1f} {r['p99'] / 1e3:>7.1f} {r['non2xx'] + r['errors']:>7}  {cost}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000, help="orders of the scenario")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--database-url", help="server to create the fresh database on")
    args = parser.parse_args(argv)
    disable_telemetry()
    with (
        scratch_database(args.database_url, prefix="api_rls_bench") as url,
        tempfile.TemporaryDirectory(prefix="api-rls-bench-home-") as home,
    ):
        settings = Settings(home=Path(home), database_url=url)
        build(url, settings, args.orders, args.seed)
        args.load = os.getloadavg()[0]
        with ApiServer(settings, url, port=free_port()) as server:
            measure(server.base_url, settings, args, url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
