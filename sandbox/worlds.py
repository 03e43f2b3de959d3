"""The worlds the sandbox can serve, by name, and where a world stands in time.

``default`` is the generated scenario (:class:`~sandbox.scenario.Scenario`: ``--orders``,
``--seed``, ``--anomalies``), ``messy`` the hand-written one (:mod:`sandbox.messy`), which
plays in rounds. Both are placed at an instant, ``as_of``: the scenario's "now". Unless told
otherwise (``--as-of``) a world stands where it first stood in its home - the first run
writes the minute it started to ``<home>/sandbox/as_of`` and later runs read it back - so a
sandbox started again serves the same records (connectors see nothing new), while the
time the product extracts them keeps moving, as it does with real systems.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sandbox.clock import parse_instant

#: The scenarios the sandbox serves, by ``--scenario`` name.
SCENARIO_NAMES: tuple[str, ...] = ("default", "messy")


class World(Protocol):
    """What the sandbox server needs of a scenario."""

    name: str
    rounds: int

    def records(self, system: str) -> list[dict[str, Any]]: ...

    def changes(self, round_number: int, system: str) -> list[dict[str, Any]]: ...

    def describe(self) -> str: ...


def build(
    name: str, *, seed: int, orders: int, anomalies: float, as_of: datetime, moves: float = 0.0
) -> World:
    """The scenario ``name`` at ``as_of`` (``seed``, ``orders``, ``anomalies`` and ``moves``
    are the generated scenario's)."""
    if name == "default":
        from sandbox.scenario import Scenario

        return Scenario(seed=seed, orders=orders, as_of=as_of, anomalies=anomalies, moves=moves)
    if moves:
        raise ValueError(f"--moves applies to the default scenario, not to {name!r}")
    if name == "messy":
        from sandbox.messy import MessyScenario

        return MessyScenario(as_of=as_of)
    raise ValueError(f"unknown scenario {name!r}; expected one of {', '.join(SCENARIO_NAMES)}")


def parse_as_of(text: str) -> datetime:
    """An ISO 8601 instant (``Z``, an offset, or naive = UTC) as an aware UTC datetime,
    to the whole second."""
    return datetime.fromtimestamp(int(parse_instant(text)), tz=UTC)


def world_as_of(home: Path, given: str | None, now: datetime | None = None) -> datetime:
    """``given`` if there is one; else the instant stored under ``home``; else ``now`` (the
    current minute), stored there for the next run."""
    if given is not None:
        return parse_as_of(given)
    stored = home / "sandbox" / "as_of"
    if stored.is_file():
        return parse_as_of(stored.read_text().strip())
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(second=0, microsecond=0)
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_text(moment.strftime("%Y-%m-%dT%H:%M:%SZ") + "\n")
    return moment


__all__ = ["SCENARIO_NAMES", "World", "build", "parse_as_of", "world_as_of"]
