"""Benchmark: the estimated delivery backtested on the sandbox - the carrier's own estimate
against the observed transit times per lane, mean absolute error in hours.

    uv run python bench/delivery_estimates.py                  # 20,000 orders
    uv run python bench/delivery_estimates.py --orders 5000 --holdout 0.3

Builds, in a fresh database, the sandbox's generated scenario for ``--orders`` orders (the
real loader, the dbt project built for real), then takes the cutoff before which
``1 - --holdout`` of the outbound parcels that arrived did so, and rebuilds the lanes and
the estimates (``fct_lane_transit_times``, ``fct_delivery_estimates``) with the dbt var
``transit_history_until`` at the cutoff: the lanes know only the arrivals before it. Each
order delivered after the cutoff is then a test case; its errors are those of
``fct_delivery_estimates``' estimates against its ``delivered_at``:

- the carrier's estimate (the tracker's ``est_delivery_date``; the sandbox's USPS gives none);
- the lane estimate (hand-over + the lane's median transit time, at the most detailed lane
  level observed at least ``lane_min_shipments`` times before the cutoff);
- the estimate the API serves (the carrier's where given, else the lane's).

It prints the mean absolute error in hours of each (and the median, and the mean signed
error: positive = expected later than delivered), also on the orders that have both
estimates, and the lane estimate's error per lane level.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where bench/connectors.py
# would shadow the ``connectors`` package: drop it before importing the project.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import psycopg

from connectors.schema import ensure_schema
from connectors.sync import load_records
from orchestration.dbt_run import FLOW_BUILD_EXCLUDES, ensure_sources, invoke_dbt
from orderhub.progress import say
from orderhub.settings import disable_telemetry
from orderhub.sources import API_SYSTEMS
from orderhub.warehouse import scratch_database
from sandbox.scenario import Scenario

AS_OF = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
#: The estimates compared: the column of fct_delivery_estimates and what it is.
ESTIMATES = {
    "carrier_estimated_delivery_at": "carrier's estimate",
    "lane_estimated_delivery_at": "lane transit times",
    "estimated_delivery_at": "served (carrier, else lane)",
}
ERRORS = """
select
    count(*),
    avg(abs(error)),
    percentile_cont(0.5) within group (order by abs(error)),
    avg(error)
from (
    select extract(epoch from {column} - delivered_at) / 3600.0 as error
    from marts.fct_delivery_estimates
    where delivered_at >= %(cutoff)s and {column} is not null {extra}
) as cases
"""


def dbt(url: str, work: Path, *args: str) -> None:
    ensure_sources(url)
    result = invoke_dbt(url, work, *args)
    if not result.success:
        raise RuntimeError(f"dbt {args[0]} failed: {result.exception or 'see the dbt log'}")


def build(url: str, home: Path, orders: int, seed: int) -> None:
    scenario = Scenario(seed=seed, orders=orders, as_of=AS_OF)
    with psycopg.connect(url) as conn:
        ensure_schema(conn)
    for system in API_SYSTEMS:
        load_records(url, system, scenario.records(system), AS_OF.isoformat())
    started = time.perf_counter()
    dbt(url, home / "dbt", "build", *FLOW_BUILD_EXCLUDES)
    say(f"{orders} orders loaded and built (dbt build {time.perf_counter() - started:.0f} s)")


def cutoff(url: str, holdout: float) -> datetime:
    """The time before which ``1 - holdout`` of the arrived outbound parcels arrived."""
    with psycopg.connect(url) as conn:
        (at,) = conn.execute(
            "select percentile_disc(%s) within group (order by arrived_at)"
            " from marts.fct_shipment_current_status"
            " where direction = 'outbound' and arrived_at is not null",
            (1 - holdout,),
        ).fetchone()
    return at  # type: ignore[no-any-return]


def errors(url: str, at: datetime) -> None:
    both = "and carrier_estimated_delivery_at is not null"
    with psycopg.connect(url) as conn:

        def row(column: str, extra: str = "") -> str:
            query = ERRORS.format(column=column, extra=extra)
            n, mae, median, bias = conn.execute(query, {"cutoff": at}).fetchone()
            if not n:
                return f"{0:>6}"
            return f"{n:>6} {mae:>8.1f} {median:>8.1f} {bias:>+9.1f}"

        print(f"  {'estimate':<30} {'orders':>6} {'MAE h':>8} {'median':>8} {'mean err':>9}")
        for column, name in ESTIMATES.items():
            print(f"  {name:<30} {row(column)}")
        print("  on the orders with both estimates:")
        for column, name in list(ESTIMATES.items())[:2]:
            print(f"  {name:<30} {row(column, both)}")
        print("  lane estimate by lane level (1 lane, 2 origin-country, 3 region, 4 country, "
              "5 method):")  # fmt: skip
        for level in range(1, 6):
            extra = f"and lane_level = {level}"
            print(f"  {'level ' + str(level):<30} {row('lane_estimated_delivery_at', extra)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000, help="orders of the scenario")
    parser.add_argument("--holdout", type=float, default=0.3, help="share of arrivals tested")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="server to create the fresh database on")
    args = parser.parse_args(argv)
    disable_telemetry()
    with (
        scratch_database(args.database_url, prefix="estimates_bench") as url,
        tempfile.TemporaryDirectory(prefix="estimates-bench-home-") as home,
    ):
        build(url, Path(home), args.orders, args.seed)
        at = cutoff(url, args.holdout)
        history = json.dumps({"transit_history_until": at.isoformat()})
        dbt(url, Path(home) / "dbt", "run", "--select",
            "fct_lane_transit_times", "fct_delivery_estimates", "--vars", history)  # fmt: skip
        print()
        print(
            f"delivery estimate backtest: {args.orders} orders (sandbox scenario, seed "
            f"{args.seed}), lanes from the arrivals before {at:%Y-%m-%d %H:%M} UTC, tested on "
            f"the orders delivered after it ({args.holdout:.0%} of the arrivals)"
        )
        errors(url, at)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
