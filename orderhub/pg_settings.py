"""PostgreSQL settings for a warehouse: what the embedded server starts with.

PostgreSQL's defaults fit a small shared server (128 MB of shared buffers, 4 MB per sort,
a checkpoint every 1 GB of WAL). The hub's work is a warehouse's: bulk loads of raw
records, dbt rebuilding tables of millions of rows, sorts and hash joins over them. The
embedded server (:class:`orderhub.warehouse.EmbeddedPostgres`) starts with
:func:`warehouse_settings` sized to the machine it runs on; a server of one's own takes the
same settings from its ``postgresql.conf`` (``docs/operations.md`` lists them and why).

Durability stays PostgreSQL's default server-wide (``synchronous_commit = on``: the ledger
signs checkpoints that witnesses keep, so its commits must survive a crash). Sessions
whose work can be redone - dbt's builds, a bulk load - turn it off for themselves with
:data:`BULK_SESSION_OPTIONS`: a crash then loses at most their last few hundred
milliseconds of commits, never an earlier ledger commit (a synchronous commit flushes
all WAL written before it).
"""

from __future__ import annotations

import os

MIB = 1024 * 1024
GIB = 1024 * MIB

#: libpq options of a session whose commits can be redone after a crash (see the module).
BULK_SESSION_OPTIONS = "-c synchronous_commit=off"


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _mib(value: int) -> str:
    return f"{value // MIB}MB"


def machine_memory() -> int:
    """Physical memory of this machine in bytes (1 GiB when the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return GIB


def machine_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def warehouse_settings(memory: int | None = None, cpus: int | None = None) -> dict[str, str]:
    """The server settings of a warehouse on a machine with ``memory`` bytes and ``cpus``
    CPUs (default: this machine), as ``postgresql.conf`` names and values.

    >>> s = warehouse_settings(memory=8 * GIB, cpus=2)
    >>> s["shared_buffers"], s["work_mem"], s["max_parallel_workers_per_gather"]
    ('1024MB', '16MB', '1')
    """
    memory = machine_memory() if memory is None else memory
    cpus = machine_cpus() if cpus is None else cpus
    parallel = _clamp(cpus // 2, 1, 4)
    return {
        # the buffer cache: an eighth of the machine (the rest is the OS page cache,
        # which PostgreSQL reads through), at most 2 GB on a machine it shares
        "shared_buffers": _mib(_clamp(memory // 8, 128 * MIB, 2 * GIB)),
        "effective_cache_size": _mib(_clamp(memory // 2, 256 * MIB, 64 * GIB)),
        # per sort or hash node: dbt's window functions and joins over whole tables
        "work_mem": _mib(_clamp(memory // 512, 16 * MIB, 128 * MIB)),
        "hash_mem_multiplier": "2.0",
        # index builds after a full refresh, vacuum of the raw tables
        "maintenance_work_mem": _mib(_clamp(memory // 32, 64 * MIB, 1 * GIB)),
        "max_worker_processes": str(max(8, cpus + 4)),
        "max_parallel_workers": str(cpus),
        "max_parallel_workers_per_gather": str(parallel),
        "max_parallel_maintenance_workers": str(parallel),
        # bulk loads write a lot of WAL: checkpoint less often, compress full pages
        "max_wal_size": "4GB",
        "min_wal_size": "512MB",
        "checkpoint_timeout": "15min",
        "checkpoint_completion_target": "0.9",
        "wal_compression": "on",
        # the data is on an SSD or in the page cache
        "random_page_cost": "1.1",
        "effective_io_concurrency": "200",
        # what a profile needs: per-statement totals and I/O times
        "shared_preload_libraries": "pg_stat_statements",
        "track_io_timing": "on",
    }


def server_options(settings: dict[str, str]) -> str:
    """``settings`` as ``postgres`` command-line options (``-c name=value`` each)."""
    return " ".join(f"-c {name}={value}" for name, value in settings.items())


__all__ = [
    "BULK_SESSION_OPTIONS",
    "machine_cpus",
    "machine_memory",
    "server_options",
    "warehouse_settings",
]
