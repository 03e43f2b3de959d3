"""The status crosswalk seed: read it, version it, lint it.

The crosswalk (``dbt_project/seeds/status_crosswalk.csv``) maps each
``(source_system, source_field, source_code)`` to a canonical order status
(:data:`orderhub.canonical_model.CANONICAL_STATUSES`), a GS1 CBV 2.0 business step and
disposition, a lifecycle rank, a terminal flag, for payment codes a payment state, and notes.
Its version is the RFC 9162 Merkle root over its rows in key order, each leaf the
SHA-256 of the row's RFC 8785 object (:mod:`ledger.bundle.tables`) - the same value
``int_status_crosswalk__versioned`` computes in the warehouse, every canonical event
carries and every ``dbt_build`` provenance event logs; an audit bundle proves the rows it
used against it.

:func:`lint` returns one :class:`Problem` per defect: a malformed row, a duplicate key,
an unknown canonical status, CBV value, payment state or source system, a canonical
status flagged terminal in one row and not in another, a terminal row whose rank is not
above every non-terminal rank, and a code of a vocabulary (the sandbox systems', by
default) the crosswalk does not cover.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ledger.bundle.format import CROSSWALK_COLUMNS, CROSSWALK_KEY
from ledger.bundle.tables import table_tree
from orderhub.canonical_model import CANONICAL_STATUSES, TERMINAL_STATUSES
from orderhub.seeds import read_seed
from orderhub.sources import SOURCE_SYSTEMS

DEFAULT_SEED = (
    Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "status_crosswalk.csv"
)

COLUMNS: tuple[str, ...] = CROSSWALK_COLUMNS
#: GS1 Core Business Vocabulary 2.0, BizStep.
CBV_BIZ_STEPS: frozenset[str] = frozenset(
    {
        "accepting",
        "arriving",
        "assembling",
        "collecting",
        "commissioning",
        "consigning",
        "creating_class_instance",
        "cycle_counting",
        "decommissioning",
        "departing",
        "destroying",
        "disassembling",
        "dispensing",
        "encoding",
        "entering_exiting",
        "holding",
        "inspecting",
        "installing",
        "killing",
        "loading",
        "other",
        "packing",
        "picking",
        "receiving",
        "removing",
        "repackaging",
        "repairing",
        "replacing",
        "reserving",
        "retail_selling",
        "sampling",
        "sensor_reporting",
        "shipping",
        "staging_outbound",
        "stock_taking",
        "stocking",
        "storing",
        "transporting",
        "unloading",
        "unpacking",
        "void_shipping",
    }
)
#: GS1 Core Business Vocabulary 2.0, Disposition.
CBV_DISPOSITIONS: frozenset[str] = frozenset(
    {
        "active",
        "available",
        "completeness_inferred",
        "completeness_verified",
        "conformant",
        "container_closed",
        "container_open",
        "damaged",
        "destroyed",
        "dispensed",
        "disposed",
        "encoded",
        "expired",
        "in_progress",
        "in_transit",
        "inactive",
        "mismatch_class",
        "mismatch_instance",
        "mismatch_quantity",
        "needs_replacement",
        "no_pedigree_match",
        "non_conformant",
        "non_sellable_other",
        "partially_dispensed",
        "recalled",
        "reserved",
        "retail_sold",
        "returned",
        "sellable_accessible",
        "sellable_not_accessible",
        "stolen",
        "unavailable",
        "unknown",
    }
)
PAYMENT_STATES: frozenset[str] = frozenset({"unpaid", "authorized", "paid", "refunded", "voided"})

Key = tuple[str, str, str]


@dataclass(frozen=True)
class Row:
    """One crosswalk row as read from the CSV (``line`` is its line number)."""

    line: int
    source_system: str
    source_field: str
    source_code: str
    canonical_status: str
    cbv_biz_step: str
    cbv_disposition: str
    lifecycle_rank: str
    is_terminal: str
    payment_state: str
    notes: str

    @property
    def key(self) -> Key:
        return (self.source_system, self.source_field, self.source_code)

    @property
    def rank(self) -> int | None:
        try:
            return int(self.lifecycle_rank)
        except ValueError:
            return None

    @property
    def terminal(self) -> bool | None:
        return {"true": True, "false": False}.get(self.is_terminal.strip().lower())


@dataclass(frozen=True)
class Problem:
    """One defect of the crosswalk, at a line of the file (0: the file as a whole)."""

    line: int
    message: str

    def render(self, path: Path) -> str:
        return f"{path}:{self.line}: {self.message}" if self.line else f"{path}: {self.message}"


def read(path: Path = DEFAULT_SEED) -> tuple[list[Row], list[Problem]]:
    """The rows of the crosswalk CSV, and the problems that kept rows from being read."""
    problems: list[Problem] = []
    rows: list[Row] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return [], [Problem(0, "the file is empty")]
        if tuple(header) != COLUMNS:
            problems.append(
                Problem(1, f"header must be {','.join(COLUMNS)}; got {','.join(header)}")
            )
            return [], problems
        for values in reader:
            line = reader.line_num
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(COLUMNS):
                problems.append(Problem(line, f"has {len(values)} fields, not {len(COLUMNS)}"))
                continue
            rows.append(Row(line, *values))
    return rows, problems


def crosswalk_rows(path: Path = DEFAULT_SEED) -> list[dict[str, object]]:
    """The crosswalk's rows as the warehouse loads them (typed; empty cells null)."""
    _, problems = read(path)
    if problems:
        raise ValueError(problems[0].render(path))
    return read_seed("status_crosswalk", path=path)


def crosswalk_version(path: Path = DEFAULT_SEED) -> str:
    """Hex Merkle root of the crosswalk's rows in key order (int_status_crosswalk__versioned)."""
    return table_tree(crosswalk_rows(path), CROSSWALK_KEY).root().hex()


def _row_problems(row: Row) -> Iterable[str]:
    if row.source_system not in SOURCE_SYSTEMS:
        expected = ", ".join(sorted(SOURCE_SYSTEMS))
        yield f"unknown source system {row.source_system!r} (expected one of {expected})"
    for name in ("source_field", "source_code"):
        if not getattr(row, name).strip():
            yield f"{name} is empty"
    if row.canonical_status not in CANONICAL_STATUSES:
        yield f"unknown canonical status {row.canonical_status!r} for {_show(row.key)}"
    if row.cbv_biz_step not in CBV_BIZ_STEPS:
        yield f"unknown CBV bizStep {row.cbv_biz_step!r} for {_show(row.key)}"
    if row.cbv_disposition not in CBV_DISPOSITIONS:
        yield f"unknown CBV disposition {row.cbv_disposition!r} for {_show(row.key)}"
    if row.payment_state and row.payment_state not in PAYMENT_STATES:
        yield f"unknown payment state {row.payment_state!r} for {_show(row.key)}"
    if row.rank is None:
        yield f"lifecycle_rank {row.lifecycle_rank!r} is not an integer for {_show(row.key)}"
    if row.terminal is None:
        yield f"is_terminal {row.is_terminal!r} is not true or false for {_show(row.key)}"
    elif row.canonical_status in CANONICAL_STATUSES and row.terminal != (
        row.canonical_status in TERMINAL_STATUSES
    ):
        flag = "terminal" if row.terminal else "not terminal"
        yield f"{row.canonical_status} is flagged {flag} for {_show(row.key)}"


def _show(key: Key) -> str:
    return "(" + ", ".join(key) + ")"


def lint(
    path: Path = DEFAULT_SEED,
    vocabularies: Mapping[tuple[str, str], Sequence[str]] | None = None,
) -> list[Problem]:
    """Every problem of the crosswalk at ``path``; ``vocabularies`` must be covered."""
    rows, problems = read(path)
    first_line: dict[Key, int] = {}
    for row in rows:
        if row.key in first_line:
            problems.append(
                Problem(
                    row.line,
                    f"duplicate key {_show(row.key)} (first on line {first_line[row.key]})",
                )
            )
        else:
            first_line[row.key] = row.line
        problems.extend(Problem(row.line, message) for message in _row_problems(row))
    ranked = [row for row in rows if row.rank is not None and row.terminal is not None]
    open_ranks = [row.rank for row in ranked if not row.terminal]
    highest_open = max((rank for rank in open_ranks if rank is not None), default=None)
    if highest_open is not None:
        for row in ranked:
            if row.terminal and row.rank is not None and row.rank <= highest_open:
                problems.append(
                    Problem(
                        row.line,
                        f"terminal status {row.canonical_status} has rank {row.rank}, not above "
                        f"every non-terminal rank (highest {highest_open}) for {_show(row.key)}",
                    )
                )
    for (system, field), codes in sorted((vocabularies or {}).items()):
        for code in codes:
            if (system, field, code) not in first_line:
                problems.append(
                    Problem(0, f"not covered: {_show((system, field, code))} (sandbox vocabulary)")
                )
    return sorted(problems, key=lambda problem: (problem.line, problem.message))


__all__ = ["DEFAULT_SEED", "Problem", "Row", "crosswalk_rows", "crosswalk_version", "lint", "read"]
