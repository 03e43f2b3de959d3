"""What Linux says about a process, for the benchmarks: its parent, CPU time and memory
(``/proc/<pid>/stat``), its time on a CPU and waiting for one (``/proc/<pid>/schedstat``),
its descendants (``/proc/<pid>/task/*/children``), and the CPU time of a whole process tree,
the processes that ended in it included.

A process that ended counts in its parent's ``cutime``/``cstime`` once the parent waited for
it (PostgreSQL's postmaster waits for its backends, Python's ``subprocess`` for its
children), so :func:`tree_cpu` read before and after a piece of work gives the CPU the tree
spent on it, a connection's backend that came and went meanwhile included. Linux only: on
another system the readers answer None or nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


class Stat(NamedTuple):
    """A process's parent, CPU seconds (user + system), resident bytes, and the CPU seconds
    of its children it waited for."""

    parent: int
    cpu: float
    resident: int
    reaped_cpu: float


def stat(pid: int) -> Stat | None:
    """``/proc/<pid>/stat`` read (None when the process is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return Stat(
        int(fields[1]),
        (int(fields[11]) + int(fields[12])) / TICK,
        int(fields[21]) * PAGE,
        (int(fields[13]) + int(fields[14])) / TICK,
    )


def schedstat(pid: int) -> tuple[float, float]:
    """Seconds on a CPU and seconds runnable waiting for one, of process ``pid`` (all threads)."""
    on = wait = 0.0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            fields = (task / "schedstat").read_text().split()
            on, wait = on + int(fields[0]) / 1e9, wait + int(fields[1]) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    return on, wait


def direct_children(pid: int) -> list[int]:
    """The processes ``pid`` started that are still there (zombies included)."""
    found = []
    for task in Path("/proc").glob(f"{pid}/task/*/children"):
        try:
            found += [int(p) for p in task.read_text().split()]
        except OSError:
            continue
    return found


def children(pid: int) -> list[int]:
    """Every live descendant of ``pid``."""
    found = direct_children(pid)
    return found + [c for p in found for c in children(p)]


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and every descendant, live or waited for.

    A child waited for between the listing of the children and the reading of its own stat
    would be counted nowhere (gone, and not yet in the parent's stat as read): the reading is
    taken again whenever the parent's waited-for CPU moved meanwhile, at each level."""
    total = 0.0
    for _ in range(20):
        first = stat(pid)
        if first is None:
            return 0.0
        total = first.cpu + first.reaped_cpu + sum(map(tree_cpu, direct_children(pid)))
        again = stat(pid)
        if again is None or again.reaped_cpu == first.reaped_cpu:
            return total
    return total


__all__ = ["Stat", "children", "direct_children", "schedstat", "stat", "tree_cpu"]
