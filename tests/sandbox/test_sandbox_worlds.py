"""The worlds the sandbox serves by name, and where a world stands in time: given, kept in
the home from the first run, or the current minute."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sandbox.messy import MessyScenario
from sandbox.scenario import Scenario
from sandbox.worlds import SCENARIO_NAMES, build, world_as_of

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def test_worlds_by_name() -> None:
    options = {"seed": 3, "orders": 20, "anomalies": 0.0, "as_of": AS_OF}
    assert isinstance(build("default", **options), Scenario)
    assert isinstance(build("messy", **options), MessyScenario)
    assert SCENARIO_NAMES == ("default", "messy")
    with pytest.raises(ValueError, match="unknown scenario 'nope'; expected one of default, messy"):
        build("nope", **options)


def test_a_world_stands_where_it_first_stood_in_its_home(tmp_path: Path) -> None:
    first = world_as_of(tmp_path, None, now=datetime(2026, 12, 6, 8, 47, 31, tzinfo=UTC))
    assert first == datetime(2026, 12, 6, 8, 47, tzinfo=UTC)
    assert (tmp_path / "sandbox" / "as_of").read_text() == "2026-12-06T08:47:00Z\n"
    later = world_as_of(tmp_path, None, now=datetime(2027, 1, 1, tzinfo=UTC))
    assert later == first
    # given, it wins and is not stored
    given = world_as_of(tmp_path, "2026-10-03T14:05:09+02:00")
    assert given == datetime(2026, 10, 3, 12, 5, 9, tzinfo=UTC)
    assert world_as_of(tmp_path, None) == first
