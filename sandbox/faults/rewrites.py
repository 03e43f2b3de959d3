"""What the body faults do to a page: where its records sit, and how they are rewritten.

:func:`rewrite_page` applies one request's body faults (``duplicates``, ``shuffle``,
``new_field``, ``rename``, ``wrong_type``, ``offset``, ``missing_key``) to a decoded page;
:func:`rewrite_record` is the per-record schema rewrite, shared with the plan's ground
truth (:meth:`sandbox.faults.FaultPlan.served_version`).
"""

from __future__ import annotations

import copy
import hashlib
import random
from datetime import timedelta, timezone
from typing import Any

from sandbox.clock import ISO_PATTERN, ODATA_PATTERN, from_epoch, parse_instant
from sandbox.faults.spec import Fault
from sandbox.store import KEY_FIELD

#: Where each system's records sit in a page.
RECORDS_PATH: dict[str, tuple[str, ...]] = {
    "erp": ("d", "results"),
    "crm": ("records",),
    "wms": ("result",),
    "tms": ("trackers",),
}
#: The faults that rewrite each record served.
RECORD_KINDS = frozenset({"new_field", "rename", "wrong_type", "offset"})
#: The faults that rewrite a page's body.
BODY_KINDS = RECORD_KINDS | {"duplicates", "shuffle", "missing_key"}


def wrong_value(value: Any) -> Any:
    """A value no declared type of ``value`` can be cast from."""
    if isinstance(value, (dict, list)):
        return "not-a-structure"
    if isinstance(value, bool):
        return {"unexpected": value}
    if isinstance(value, (int, float)):
        return "n/a"
    if isinstance(value, str):
        return {"unexpected": value}
    return ["unexpected"]


def in_offset(text: str, offset: str) -> str:
    """The instant ``text`` (the sandbox's ``...Z`` form) written in the UTC ``offset``."""
    sign, hours, minutes = offset[0], int(offset[1:3]), int(offset[4:6])
    zone = timezone((-1 if sign == "-" else 1) * timedelta(hours=hours, minutes=minutes))
    return from_epoch(int(parse_instant(text))).astimezone(zone).isoformat()


def odata_in_offset(text: str, offset: str) -> str:
    """The OData V2 ``/Date(ms[+hhmm])/`` ``text`` as an ``Edm.DateTimeOffset`` written in the
    UTC ``offset`` (``+05:30``): the same milliseconds, the offset after them."""
    found = ODATA_PATTERN.match(text)
    assert found is not None
    return f"/Date({found[1]}{offset[0]}{offset[1:3]}{offset[4:6]})/"


def rewrite_record(fault: Fault, record: dict[str, Any]) -> None:
    """Apply a per-record fault (new_field, rename, wrong_type, offset) in place."""
    arg = fault.arg or ""
    if fault.kind == "offset":
        for name, value in record.items():
            if isinstance(value, str) and ISO_PATTERN.match(value):
                record[name] = in_offset(value, arg)
            elif isinstance(value, str) and ODATA_PATTERN.match(value) and value[-7] in "+-":
                record[name] = odata_in_offset(value, arg)  # an Edm.DateTimeOffset
        return
    if fault.kind == "new_field":
        key = record.get(KEY_FIELD[fault.system])
        record[arg] = f"sandbox-{hashlib.sha256(str(key).encode()).hexdigest()[:8]}"
    elif fault.kind == "rename":
        old, new = arg.split("/")
        if old in record:
            record[new] = record.pop(old)
    elif fault.kind == "wrong_type" and arg in record:
        record[arg] = wrong_value(record[arg])


def records_of(system: str, page: Any) -> list[dict[str, Any]] | None:
    """The records of ``system``'s ``page``, None when the page does not hold them."""
    node = page
    for step in RECORDS_PATH[system]:
        if not isinstance(node, dict) or step not in node:
            return None
        node = node[step]
    return node if isinstance(node, list) else None


def _records_parent(system: str, page: Any) -> tuple[dict[str, Any], str]:
    """The object holding ``system``'s records in ``page``, and their key in it."""
    *parents, last = RECORDS_PATH[system]
    node = page
    for step in parents:
        node = node[step]
    return node, last


def rewrite_page(
    system: str,
    page: Any,
    records: list[dict[str, Any]],
    previous: list[dict[str, Any]] | None,
    firing: list[Fault],
    shuffler: random.Random,
    rewritten: dict[str, dict[Any, dict[str, Any]]],
) -> None:
    """Apply the body faults among ``firing`` (one request's faults) to ``page`` in place.

    ``records`` are the page's records, ``previous`` those of the page served before
    (``duplicates`` repeats its tail), ``shuffler`` orders a ``shuffle``; every record a
    schema fault rewrote is kept in ``rewritten[system]`` under its key before the rewrite.
    """
    kinds = {fault.kind: fault for fault in firing}
    served = [copy.deepcopy(r) for r in records]
    if "duplicates" in kinds and previous:
        served = [dict(r) for r in previous[-int(kinds["duplicates"].number()) :]] + served
    if "shuffle" in kinds:
        shuffler.shuffle(served)
    rewrites = [fault for fault in firing if fault.kind in RECORD_KINDS]
    if rewrites:
        log = rewritten.setdefault(system, {})
        key_field = KEY_FIELD[system]
        for record in served:
            key = record.get(key_field)
            for fault in rewrites:
                rewrite_record(fault, record)
            log[key] = record
    parent, key = _records_parent(system, page)
    parent[key] = served
    if "missing_key" in kinds:
        parent.pop(key, None)
