"""Benchmark: the connectors under random source faults, many more examples than the suite.

Runs the property of ``tests/connectors/fault_property.py`` (issue 20: a sync that succeeds
lost nothing; one that fails says so and changes nothing; a last calm sync completes the
ground truth) for ``--examples`` random cases: a system, a small scenario, up to five faults
of the sandbox's fault language with random arguments and timings, two to four syncs with
kills, and the calm sync. An embedded PostgreSQL in a temporary home holds one scratch
database per case. The first case that breaks the property is printed and the run exits 1;
otherwise it prints how many cases, syncs and kills ran, how the syncs ended, and which
faults fired how often.

Usage: ``uv run python bench/connector_faults.py [--examples 200] [--seed 1]``. Progress goes
to stderr, the figures to stdout.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on sys.path and its name would shadow the
# ``connectors`` package: drop it; the property and its helpers live with the tests.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)
sys.path.insert(0, str(ROOT / "tests" / "connectors"))

from fault_property import BENCH, Case, Report, cases, run_case  # noqa: E402
from hypothesis import given, seed, settings  # noqa: E402

from orderhub.settings import Settings, disable_telemetry  # noqa: E402
from orderhub.warehouse import EmbeddedPostgres  # noqa: E402


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(pg_server: str, examples: int, run_seed: int) -> list[tuple[Case, Report]]:
    """Run ``examples`` random cases; the cases and their reports (raises on a failure)."""
    done: list[tuple[Case, Report]] = []

    @seed(run_seed)
    @settings(settings.get_profile(BENCH), max_examples=examples, database=None)
    @given(case=cases())
    def check(case: Case) -> None:
        say(f"[{len(done) + 1}] {case}")
        report = run_case(pg_server, case)
        say(f"    {'; '.join(report.outcomes)}")
        done.append((case, report))

    check()
    return done


def summary(done: list[tuple[Case, Report]], seconds: float) -> None:
    syncs = [outcome for _, report in done for outcome in report.outcomes]
    failed = Counter(
        re.sub(r"https?://\S+", "<url>", outcome.split(":", 1)[1]).strip()[:72]
        for outcome in syncs
        if outcome != "succeeded"
    )
    fired: Counter[str] = Counter()
    for _, report in done:
        fired.update(report.fired)
    systems = Counter(case.system for case, _ in done)
    print(f"connector fault property: {len(done)} cases passed in {seconds:.0f} s")
    print(f"  systems: {dict(sorted(systems.items()))}")
    print(
        f"  syncs: {len(syncs)}, succeeded {syncs.count('succeeded')},"
        f" failed loudly {len(syncs) - syncs.count('succeeded')},"
        f" connectors killed {sum(report.kills for _, report in done)}"
    )
    print(f"  faults fired (requests): {dict(fired.most_common())}")
    print("  failures by cause (first words):")
    for cause, count in failed.most_common(12):
        print(f"    {count:4d}  {cause}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="random cases to run")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random cases")
    args = parser.parse_args(argv)
    disable_telemetry()
    logging.getLogger("connectors").setLevel(logging.CRITICAL + 1)  # failures are expected
    with tempfile.TemporaryDirectory(prefix="orderhub-bench-faults-") as home:
        postgres = EmbeddedPostgres(Settings(home=Path(home) / "warehouse"))
        url = postgres.start()
        try:
            started = time.perf_counter()
            done = run(url.rpartition("/")[0] + "/postgres", args.examples, args.seed)
            summary(done, time.perf_counter() - started)
        finally:
            postgres.stop()


if __name__ == "__main__":
    main()
