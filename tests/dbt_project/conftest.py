"""The builds the dbt project's tests read, each built once per test session (a few
seconds each) and shared by the test modules, one per model family:

- ``main_build``: the nine orders of ``dbt_scenarios.main_batches()``, a full build; it
  must pass, unit tests included.
- ``incremental``: the same records in two deliveries, built after each (incremental
  runs), then once more with nothing new; a copy of its database after the first build is
  kept, to start from.
- ``unknown_build``: a copy of the incremental database plus one WMS state the crosswalk
  lacks, built incrementally.
- ``remapped``: a copy of ``unknown_build`` built with a project whose crosswalk maps that
  code, then rebuilt with --full-refresh.
- ``messy``: the sandbox's messy scenario built after each of its rounds, its api compared
  with the scenario's ground truth after each, then built in full from all its records.
- ``generated``: the sandbox's generated scenario in two deliveries, then in full.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dbt_builds import (
    WORLD_BUILD,
    Build,
    IncrementalBuilds,
    Remapped,
    build,
    copy_of_project,
    database,
    load,
)
from dbt_scenarios import UNKNOWN_ROW, main_batches, main_deliveries, unknown_batches
from dbt_worlds import AS_OF, WorldBuilds, api_rows, generated_deliveries, messy_round
from messy_served import differences as messy_differences

from orderhub.crosswalk import crosswalk_version
from sandbox.messy import MessyScenario
from sandbox.scenario import Scenario


@pytest.fixture(scope="session")
def main_build(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Build]:
    with database(pg_server) as url:
        load(url, main_batches())
        yield build(url, tmp_path_factory.mktemp("dbt-main"))


@pytest.fixture(scope="session")
def incremental(
    pg_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IncrementalBuilds]:
    work = tmp_path_factory.mktemp("dbt-incremental")
    early, late = main_deliveries()
    with database(pg_server) as url:
        load(url, early)
        first = build(url, work, *WORLD_BUILD)
        with database(pg_server, template=url) as after_first:
            load(url, late)
            second = build(url, work, *WORLD_BUILD)
            tables = second.tables()
            idle = build(url, work, *WORLD_BUILD)
            yield IncrementalBuilds(first, second, idle, tables, after_first)


@pytest.fixture(scope="session")
def unknown_build(
    pg_server: str, tmp_path_factory: pytest.TempPathFactory, incremental: IncrementalBuilds
) -> Iterator[Build]:
    """The incremental database with the main records, plus an unknown WMS state."""
    with database(pg_server, template=incremental.idle.url) as url:
        load(url, unknown_batches()[len(main_batches()) :])
        yield build(url, tmp_path_factory.mktemp("dbt-unknown"), *WORLD_BUILD)


@pytest.fixture(scope="session")
def remapped(
    pg_server: str, tmp_path_factory: pytest.TempPathFactory, unknown_build: Build
) -> Iterator[Remapped]:
    work = tmp_path_factory.mktemp("dbt-remapped")
    project = copy_of_project(work)
    crosswalk = project / "seeds" / "status_crosswalk.csv"
    old = crosswalk_version(crosswalk)
    with crosswalk.open("a", encoding="utf-8") as handle:
        handle.write(UNKNOWN_ROW)
    with database(pg_server, template=unknown_build.url) as url:
        rebuilt = build(url, work, *WORLD_BUILD, project=project)
        tables = rebuilt.tables()
        history = rebuilt.query(
            "select crosswalk_version, count(*) filter (where source_code = 'partially_available')"
            " from marts.dim_status_crosswalk_versions group by 1 order by 2"
        )
        refreshed = build(url, work, *WORLD_BUILD, "--full-refresh", project=project)
        yield Remapped(rebuilt, tables, history, refreshed, (old, crosswalk_version(crosswalk)))


@pytest.fixture(scope="session")
def messy(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorldBuilds]:
    """The messy scenario, built after each of its rounds, then in full."""
    scenario = MessyScenario(as_of=AS_OF)
    work = tmp_path_factory.mktemp("dbt-messy")
    batches = [messy_round(scenario, n) for n in range(1, scenario.rounds + 1)]
    with database(pg_server) as url, database(pg_server) as full_url:
        rounds, differences = [], []
        for n, delivery in enumerate(batches, start=1):
            load(url, delivery)
            rounds.append(build(url, work, *WORLD_BUILD))
            differences.append(messy_differences(scenario, n, api_rows(url)))
        load(full_url, [batch for delivery in batches for batch in delivery])
        full = build(full_url, work, *WORLD_BUILD)
        yield WorldBuilds(rounds, differences, rounds[-1].tables(), full, full.tables())


@pytest.fixture(scope="session")
def generated(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorldBuilds]:
    """The generated scenario (seed 11, 80 orders) in two deliveries, then in full."""
    scenario = Scenario(seed=11, orders=80, as_of=AS_OF)
    work = tmp_path_factory.mktemp("dbt-generated")
    deliveries = generated_deliveries(scenario)
    with database(pg_server) as url, database(pg_server) as full_url:
        rounds = []
        for delivery in deliveries:
            load(url, delivery)
            rounds.append(build(url, work, *WORLD_BUILD))
        load(full_url, [batch for delivery in deliveries for batch in delivery])
        full = build(full_url, work, *WORLD_BUILD)
        yield WorldBuilds(rounds, [], rounds[-1].tables(), full, full.tables())
