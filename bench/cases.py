"""Cases: time to alert per kind, and a flood of 10,000 anomalies (bench/RESULTS.md).

``uv run python bench/cases.py`` builds the sandbox's scenario (``--orders``, default 400)
on an embedded PostgreSQL with dbt, starts ``orderhub serve`` on it as a user runs it
(sweep every ``--sweep`` seconds, alerts to a local SMTP server and a local webhook
receiver) with the sandbox pushing, and measures, per kind, from the moment an anomaly
exists at the source (or its clock breaches) to the alert's arrival at the receiver:

- ``unmapped_status_code``: unknown status codes injected at the TMS (``POST /changes``
  with ``"anomaly": "unknown_code"``), through the receivers, the hot path, the live
  detection, the alerter, SMTP;
- ``stuck_beyond_sla`` and ``stale_order``: open orders whose status or last event is
  moved back so that the SLA or the threshold runs out now (the sweep's wall clock);
- ``silent_source``: a system's last records moved back past its expected interval, one
  system at a time, round after round (each round's case resolved before the next).

Then the flood: 10,000 cases raised by 8 concurrent raisers, each raised twice - every one
opened once, alerted once (by mail within the per-target rate, the rest in a digest), and
the cases opened and alerted per second. Prints the figures and the machine load.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# tests/orderhub's helpers (the receivers, ``orderhub serve`` with the sandbox)
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "orderhub"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "dbt_project"))

import psycopg
from cases_world import Served, serving, wait
from hot_path_world import sandbox_template

from orderhub.live.burst import percentile
from orderhub.settings import Settings
from orderhub.warehouse import EmbeddedPostgres

_CASE = re.compile(r"case (\d+) (?:opened|reopened): (\w+) (\S+)")


def _figures(kind: str, seconds: list[float], asked: int) -> str:
    if not seconds:
        return f"{kind:22} {asked:5d} injected, none alerted"
    p50, p95 = percentile(seconds, 0.5), percentile(seconds, 0.95)
    return (
        f"{kind:22} {len(seconds):5d} of {asked:5d} alerted   p50 {p50:6.2f} s   p95 {p95:6.2f} s"
        f"   max {max(seconds):6.2f} s"
    )


def _arrivals(served: Served, kind: str) -> dict[str, float]:
    """When each (first) alert of ``kind`` arrived, per subject, at either receiver - on
    its own or in a digest (whose body lists the case ids)."""
    found: dict[str, float] = {}
    titles = [(s, t) for _, s, t in served.mailbox.mails] + [
        (p.get("title", ""), t) for p, t in served.hooks.posts
    ]
    for title, when in titles:
        match = _CASE.search(title)
        if match and match.group(2) == kind:
            found.setdefault(match.group(3), when)
    digested = [
        (int(n), when)
        for (_, title, when), body in zip(served.mailbox.mails, served.mailbox.bodies, strict=True)
        if "digest of" in title
        for n in re.findall(r"\d+", body.split("cases:", 1)[-1])
    ]
    if digested:
        subjects = dict(
            _execute(served.url, "select case_id, subject from cases.cases where kind = %s"
                     " and case_id = any(%s)", kind, [n for n, _ in digested])
        )  # fmt: skip
        for case_id, when in digested:
            if case_id in subjects:
                found.setdefault(subjects[case_id], when)
    return found


def _measure(
    served: Served, kind: str, subjects: list[str], breached: float, limit: float = 120
) -> list[float]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        got = _arrivals(served, kind)
        if all(s in got for s in subjects):
            break
        time.sleep(0.1)
    got = _arrivals(served, kind)
    return [got[s] - breached for s in subjects if s in got]


def _execute(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params or None)
        return cur.fetchall() if cur.description else []


def clock_kinds(served: Served, count: int) -> list[str]:
    """stuck_beyond_sla and stale_order: ``count`` open orders each, breached now."""
    url = served.url
    lines = []
    opened = _execute(
        url,
        "select o.order_id from marts.fct_order_current_status o"
        " join seeds.status_slas s on s.canonical_status = o.canonical_status"
        " and s.channel = o.channel where not coalesce(o.is_terminal, false)"
        " order by o.order_id limit %s",
        2 * count,
    )
    orders = [row[0] for row in opened]
    # the same open orders run out of both clocks, one after the other (one case each)
    stuck = orders[:count]
    stale = orders[count:] if len(orders) >= 2 * count else stuck
    breached = time.time()
    _execute(
        url,
        "update marts.fct_order_current_status o set status_since = now() - s.sla_hours"
        " * interval '1 hour' - interval '1 second' from seeds.status_slas s"
        " where s.canonical_status = o.canonical_status and s.channel = o.channel"
        " and o.order_id = any(%s)",
        stuck,
    )
    lines.append(_figures("stuck_beyond_sla", _measure(served, "stuck_beyond_sla", stuck,
                                                       breached), len(stuck)))  # fmt: skip
    breached = time.time()
    _execute(
        url,
        "update marts.fct_order_current_status set updated_at = now()"
        " - (select make_interval(mins => minutes) from cases.clock_rules"
        "    where rule = 'stale_order') - interval '1 second' where order_id = any(%s)",
        stale,
    )
    lines.append(_figures("stale_order", _measure(served, "stale_order", stale, breached),
                          len(stale)))  # fmt: skip
    return lines


def silent_sources(served: Served, rounds: int) -> str:
    """One system at a time goes silent, ``rounds`` times each system."""
    seconds: list[float] = []
    systems = [row[0] for row in _execute(served.url, "select subject from cases.clock_rules"
                                          " where rule = 'silent_source' order by 1")]  # fmt: skip
    for _ in range(rounds):
        for system in systems:
            served.hooks.posts.clear()
            breached = time.time()
            _execute(
                served.url,
                "update orderhub_meta.extraction_batches as b set finished_at = now()"
                " - make_interval(mins => c.minutes) - interval '1 second',"
                " started_at = now() - make_interval(mins => c.minutes) - interval '2 seconds'"
                " from cases.clock_rules as c where c.rule = 'silent_source'"
                " and c.subject = b.system and b.system = %s",
                system,
            )
            seconds.extend(_measure(served, "silent_source", [system], breached, 30))
            _execute(served.url, "update cases.cases set state = 'resolved', closed_at = now()"
                     " where kind = 'silent_source' and state = 'open'")  # fmt: skip
    return _figures("silent_source", seconds, rounds * len(systems))


def unknown_codes(served: Served, count: int) -> str:
    """``count`` unknown codes at the TMS, in batches of 20, through the whole live path."""
    seconds: list[float] = []
    asked = 0
    for seed in range(count * 5):  # until count distinct orders (a seed may pick known ones)
        if asked >= count:
            break
        started = time.time()
        orders = sorted({m["order_id"] for m in served.inject(20, seed=seed + 100)})
        already = _arrivals(served, "unmapped_status_code")
        fresh = [o for o in orders if o not in already]
        asked += len(fresh)
        seconds.extend(_measure(served, "unmapped_status_code", fresh, started, 60))
    return _figures("unmapped_status_code", seconds, asked)


def flood(served: Served, total: int = 10_000, raisers: int = 8) -> list[str]:
    """``total`` cases raised twice each by ``raisers`` threads; what came out."""
    url = served.url

    def raise_part(part: int) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            for n in range(part, total * 2, raisers):
                subject = f"FLOOD-{n % total}"
                conn.execute("select cases.raise_case('misroute', %s, %s, 'flood', 'error',"
                             " '{}'::jsonb)", (subject, subject))  # fmt: skip

    served.mailbox.mails.clear()
    started = time.time()
    threads = [threading.Thread(target=raise_part, args=(p,)) for p in range(raisers)]
    run_all(threads)
    raised = time.time() - started
    count: Callable[[str], int] = lambda sql: int(_execute(url, sql)[0][0])  # noqa: E731
    alerted_sql = (
        "select count(distinct a.case_id) from cases.alerts a join cases.cases c using (case_id)"
        " where c.subject like 'FLOOD-%' and a.outcome in ('sent', 'digested')"
    )
    wait(lambda: count(alerted_sql) >= total, 600)
    alerted = time.time() - started
    cases = count("select count(*) from cases.cases where subject like 'FLOOD-%'")
    opened = count(
        "select count(*) from cases.case_actions a join cases.cases c"
        " using (case_id) where c.subject like 'FLOOD-%' and a.action = 'opened'"
    )
    digest_sql = (
        "select count(*) filter (where outcome = 'digested') - count(*) filter"
        " (where outcome = 'digest_sent') from cases.alerts a join cases.cases c"
        " using (case_id) where c.subject like 'FLOOD-%'"
    )
    wait(lambda: count(digest_sql) == 0, 300)  # every digested alert went out in a digest
    outcomes = dict(_execute(url, "select a.outcome, count(*) from cases.alerts a join"
                             " cases.cases c using (case_id) where c.subject like 'FLOOD-%'"
                             " group by 1"))  # fmt: skip
    digests = [s for _, s, _ in served.mailbox.mails if "digest of" in s]
    mails = [s for _, s, _ in served.mailbox.mails if "FLOOD-" in s]
    twice = count(
        "select count(*) from (select a.case_id from cases.alerts a join cases.cases c"
        " using (case_id) where c.subject like 'FLOOD-%' and a.outcome in ('sent', 'digested')"
        " group by 1 having count(*) > 1) as d"
    )
    limit = served.env.get("ORDERHUB_ALERTS_PER_MINUTE", "30")
    return [
        f"flood: {2 * total} raises of {total} anomalies by {raisers} raisers in {raised:.1f} s"
        f" ({2 * total / raised:.0f} raises/s); {cases} cases, {opened} opened actions",
        f"  alerted {count(alerted_sql)} cases in {alerted:.1f} s ({total / alerted:.0f} cases/s"
        f" opened and alerted); outcomes {outcomes}; cases alerted twice: {twice}",
        f"  mails: {len(mails)} single alerts (limit {limit}/min), digests: {digests}",
    ]  # fmt: skip


def run_all(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--count", type=int, default=100, help="anomalies per kind")
    parser.add_argument("--sweep", type=float, default=2.0, help="sweep interval (s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cases-") as tmp:
        settings = Settings(home=Path(tmp) / "pg")
        server = EmbeddedPostgres(settings)
        server.start()
        try:
            pg = server.url("postgres")
            with sandbox_template(pg, Path(tmp) / "dbt", args.orders) as url:
                _execute(url, "update marts.fct_order_current_status"
                         " set updated_at = now(), status_since = now()")  # fmt: skip
                _execute(url, "update orderhub_meta.extraction_batches set"
                         " finished_at = now(), started_at = now()")  # fmt: skip
                env = {"ORDERHUB_CASES_SWEEP_SECONDS": str(args.sweep),
                       "ORDERHUB_ALERTS_PER_MINUTE": "100000",
                       "ORDERHUB_ALERTS_DIGEST_SECONDS": "1"}  # fmt: skip
                with serving(url, Path(tmp) / "home", args.orders, **env) as served:
                    print(f"time to alert (sweep every {args.sweep} s; digests every 1 s):")
                    for line in clock_kinds(served, args.count):
                        print(" ", line, flush=True)
                    print(" ", silent_sources(served, (args.count + 3) // 4), flush=True)
                    print(" ", unknown_codes(served, args.count), flush=True)
                flood_env = {**env, "ORDERHUB_ALERTS_PER_MINUTE": "30",
                             "ORDERHUB_ALERTS_DIGEST_SECONDS": "10"}  # fmt: skip
                with serving(url, Path(tmp) / "home", args.orders, **flood_env) as served:
                    for line in flood(served):
                        print(line, flush=True)
        finally:
            server.stop()
    print("load:", Path("/proc/loadavg").read_text().strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
