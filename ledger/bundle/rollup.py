"""An order's status re-derived from its canonical events, and the claim a build commits.

The rules are the warehouse's (README, "How the current status is decided"), applied to
the mapped events of one order with the names a derivation spec gives them
(``rules``: which system's records are warehouse deliveries and which are carrier
trackers, which canonical statuses mean delivered, returned, cancelled, partially
fulfilled, placed, which statuses say the goods have left, the unpaid payment state) and
its return nodes (company warehouses that receive returns):

1. **shipments** (:func:`_scope`): a delivery's events and the tracker its delivery names
   (or the order's only tracker, when the order's only delivery names none) are one
   shipment; a tracker no delivery claims is a shipment of its own, a return when it was
   delivered to a return node or when every delivery names another tracker;
2. **steps** (:func:`_flag`): ordered by event time, ties by status precedence (higher
   first), lifecycle rank, source field and event id (bytewise, descending); a lifecycle
   step after a terminal step of higher rank of its shipment or of the order's own steps
   never decides; a clock-skewed step never does;
3. **decisions** (:func:`_decide`): each shipment's last step that may decide; the order
   rolled up from its outbound shipments, its own steps and its payment.

:func:`order_claim` is what a build commits for an order (its ``claims_root``); a
verifier compares it with the claim :func:`rederive_claim` makes from the events.
SQL's three-valued logic is kept where the warehouse's rules rely on it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

Step = dict[str, Any]

#: The fields of an order's claim, and of each shipment in it.
CLAIM_FIELDS = (
    "order_id", "canonical_status", "status_event_id", "status_node", "status_shipment_id",
    "updated_at", "status_since", "status_since_event_id", "payment_state", "shipments",
    "event_ids",
)  # fmt: skip
SHIPMENT_FIELDS = (
    "shipment_id", "direction", "canonical_status", "status_event_id", "status_node",
    "updated_at", "status_since",
)  # fmt: skip
_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _b(text: str | None) -> bytes | None:
    return None if text is None else text.encode()


def _eq_upper(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.translate(_UPPER) == b.translate(_UPPER)


def _min(values: Sequence[str | None]) -> str | None:
    present = [v for v in values if v is not None]
    return min(present, key=_b) if present else None


def _max(values: Sequence[str | None]) -> str | None:
    present = [v for v in values if v is not None]
    return max(present, key=_b) if present else None


def _groups(steps: Sequence[Step], *columns: str) -> dict[tuple[Any, ...], list[Step]]:
    found: dict[tuple[Any, ...], list[Step]] = defaultdict(list)
    for s in steps:
        found[tuple(s[c] for c in columns)].append(s)
    return found


def _scope(events: Sequence[Mapping[str, Any]], spec: Mapping[str, Any]) -> list[Step]:
    rules, nodes = spec["rules"], spec["return_nodes"]
    wms, tms = rules["delivery_system"], rules["tracker_system"]
    steps = [dict(e) for e in events]
    for s in steps:
        s["at_return_node"] = any(
            _eq_upper(s["node_country"], n["country"])
            and (
                _eq_upper(s["node_postal_code"], n["postal_code"])
                or (s["node_postal_code"] is None and _eq_upper(s["node"], n["city"]))
            )
            for n in nodes
        )
    for group in _groups(steps, "source_system", "shipment_ref").values():
        first = min(group, key=lambda s: s["event_id"].encode())
        code = _max([s["tracking_code"] for s in group])
        returned = any(
            s["canonical_status"] == rules["delivered"]
            and s["at_return_node"]
            and not s["is_clock_skewed"]
            for s in group
        )
        for s in group:
            s.update(opens=s is first, ref_code=code, to_return_node=returned)
    for (code,), group in _groups(steps, "ref_code").items():
        named = _min([s["shipment_ref"] for s in group if s["source_system"] == wms])
        of_tracker = any(s["source_system"] == tms for s in group)
        for s in group:
            s["named_by"] = None if code is None else named
            s["of_tracker"] = code is not None and of_tracker
    opened = [s for s in steps if s["opens"]]
    deliveries = sum(s["source_system"] == wms for s in opened)
    unnamed = sum(s["source_system"] == wms and s["ref_code"] is None for s in opened)
    named = sum(s["source_system"] == wms and s["of_tracker"] for s in opened)
    trackers = sum(s["source_system"] == tms for s in opened)
    first_delivery = _min([s["shipment_ref"] for s in steps if s["source_system"] == wms])
    for s in steps:
        carried = None
        if s["source_system"] == tms:
            carried = s["named_by"]
            if carried is None and deliveries == 1 and unnamed == 1 and trackers == 1:
                carried = first_delivery
        ref, system = s["shipment_ref"], s["source_system"]
        s["shipment_id"] = s["shipment_direction"] = None
        if system == wms:
            s["shipment_id"] = None if ref is None else f"{wms}:{ref}"
            s["shipment_direction"] = "outbound"
        elif system == tms:
            own = None if ref is None else f"{tms}:{ref}"
            s["shipment_id"] = f"{wms}:{carried}" if carried is not None else own
            s["shipment_direction"] = (
                "outbound" if carried is not None
                else "return" if s["to_return_node"] or (deliveries > 0 and named == deliveries)
                else "outbound"
            )  # fmt: skip
    return steps


def _order_steps(steps: list[Step]) -> None:
    """Number the steps: time ascending (nulls last), then the reverse of the tie-break."""
    steps.sort(key=lambda s: _b(s["event_id"]), reverse=True)
    steps.sort(key=lambda s: (s["source_field"] is None, _b(s["source_field"]) or b""),
               reverse=True)  # fmt: skip
    steps.sort(key=lambda s: (s["lifecycle_rank"] is None, s["lifecycle_rank"] or 0))
    steps.sort(key=lambda s: s["status_precedence"], reverse=True)
    steps.sort(key=lambda s: (s["event_time"] is None, s["event_time"] or ""))
    for n, s in enumerate(steps, start=1):
        s["step_number"] = n


def _earlier(step: Step, other: Step) -> bool:
    """Whether ``other`` happened strictly before ``step`` (no time: after every time)."""
    mine, theirs = step["event_time"], other["event_time"]
    return theirs is not None and (mine is None or theirs < mine)


def _terminal_rank(s: Step) -> int | None:
    terminal = s["is_lifecycle"] and s["is_terminal"] and not s["is_clock_skewed"]
    return s["lifecycle_rank"] if terminal else None


def _flag(steps: list[Step], rules: Mapping[str, Any]) -> None:
    for s in steps:
        s["is_lifecycle"] = s["payment_state"] is None
    _order_steps(steps)
    for s in steps:
        ranks = [
            _terminal_rank(o)
            for o in steps
            if _earlier(s, o) and (o["shipment_id"] == s["shipment_id"] or o["shipment_id"] is None)
        ]
        highest = max((r for r in ranks if r is not None), default=None)
        s["is_after_terminal"] = bool(
            s["is_lifecycle"] and not s["is_terminal"] and not s["is_clock_skewed"]
            and highest is not None and highest > s["lifecycle_rank"]
        )  # fmt: skip
        s["is_regression"] = s["is_after_terminal"] and s["event_class"] == rules["physical"]
        s["may_decide"] = (
            s["is_lifecycle"] and not s["is_after_terminal"] and not s["is_clock_skewed"]
        )
    last: dict[Any, Any] = {}
    for s in steps:
        if s["is_clock_skewed"] or (s["is_lifecycle"] and not s["may_decide"]):
            s["starts_status_run"] = False
            continue
        axis, value = ("life", s["shipment_id"]), s["canonical_status"]
        if not s["is_lifecycle"]:
            axis, value = ("payment",), s["payment_state"]
        s["starts_status_run"] = axis not in last or last[axis] != value
        last[axis] = value


def _first(steps: Sequence[Step], condition: str, order: str = "step") -> Step | None:
    """The first step meeting ``condition``: by step number descending, or (``rank``) by
    lifecycle rank, then step number descending."""
    meeting = [s for s in steps if s[condition]]
    if order == "rank":
        meeting.sort(key=lambda s: (s["lifecycle_rank"] is None, s["lifecycle_rank"] or 0,
                                    -s["step_number"]))  # fmt: skip
    else:
        meeting.sort(key=lambda s: -s["step_number"])
    return meeting[0] if meeting else None


def _get(step: Step | None, column: str) -> Any:
    return None if step is None else step[column]


def _roles(steps: list[Step], rules: Mapping[str, Any]) -> None:
    shipped = set(rules["shipped_statuses"])
    for (_,), group in _groups(steps, "shipment_id").items():
        deciding = [s["step_number"] for s in group if s["may_decide"]]
        left = any(s["may_decide"] and s["canonical_status"] in shipped for s in group)
        for s in group:
            s["decides_shipment"] = bool(
                s["may_decide"] and s["shipment_id"] is not None
                and s["step_number"] == max(deciding)
            )  # fmt: skip
            s["has_left"] = left
    for (shipment, _), group in _groups(steps, "shipment_id", "source_field").items():
        deciding = [s["step_number"] for s in group if s["may_decide"]]
        for s in group:
            s["field_latest"] = bool(
                s["may_decide"] and shipment is None and s["step_number"] == max(deciding)
            )
    for s in steps:
        status, direction = s["canonical_status"], s["shipment_direction"]
        s["shipment_status"] = None
        if s["decides_shipment"]:
            returned = direction == "return" and status == rules["delivered"]
            s["shipment_status"] = rules["returned"] if returned else status
        s["decides_outbound"] = (
            s["decides_shipment"] and direction == "outbound" and status != rules["cancelled"]
        )
        s["decides_return"] = (
            s["decides_shipment"] and direction == "return" and status == rules["delivered"]
        )
        s["own_may_decide"] = s["may_decide"] and s["shipment_id"] is None
        s["says_partial"] = s["field_latest"] and status == rules["partially_fulfilled"]
        s["payment_step"] = not s["is_lifecycle"] and not s["is_clock_skewed"]
        s["waiting"] = s["decides_outbound"] and not s["is_terminal"] and not s["has_left"]
        s["open"] = s["decides_outbound"] and not s["is_terminal"]
        s["outbound_terminal"] = s["decides_outbound"] and s["is_terminal"]


def _and(*values: bool | None) -> bool | None:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _or(*values: bool | None) -> bool | None:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _not(value: bool | None) -> bool | None:
    return None if value is None else not value


def _gt(a: int | None, b: int | None) -> bool | None:
    return None if a is None or b is None else a > b


def _shipment_choice(steps: list[Step], rules: Mapping[str, Any]) -> tuple[Any, ...]:
    """What the shipments make of the order: (rule, deciding step, terminal?, its step)."""
    any_left = any(s["decides_outbound"] and s["has_left"] for s in steps)
    delivered = sum(s["decides_outbound"] and s["canonical_status"] == rules["delivered"]
                    for s in steps)  # fmt: skip
    returned = sum(s["decides_return"] for s in steps)
    waiting, opened = _first(steps, "waiting", "rank"), _first(steps, "open", "rank")
    partial, own = _first(steps, "says_partial"), _first(steps, "own_may_decide")
    back, terminal = _first(steps, "decides_return"), _first(steps, "outbound_terminal")
    latest = _first(steps, "decides_shipment")
    if any_left and (waiting is not None or partial is not None):
        return "partial", partial or waiting, False, None
    if opened is not None:
        return "open", opened, False, None
    if returned > 0 and returned >= delivered:
        return "returned", back, True, _get(back, "step_number")
    if terminal is not None:
        return "terminal", terminal, True, terminal["step_number"]
    if own is None:
        return "latest", latest, _get(latest, "is_terminal"), _get(latest, "step_number")
    return None, None, False, None


def _decide(steps: list[Step], rules: Mapping[str, Any]) -> None:
    _roles(steps, rules)
    rule, chosen, is_terminal, terminal_step = _shipment_choice(steps, rules)
    own, paying = _first(steps, "own_may_decide"), _first(steps, "payment_step")
    own_decides = _or(
        rule is None,
        _and(_get(own, "is_terminal"), _not(_and(is_terminal,
                                                 _gt(terminal_step, _get(own, "step_number"))))),
    )  # fmt: skip
    own_status = _get(own, "canonical_status") or rules["placed"]
    payment_decides = _and(
        _get(paying, "payment_state") == rules["unpaid"] if paying else None,
        _or(_and(own_decides, own_status == rules["placed"]), own is None and rule is None),
    )
    deciding = paying if payment_decides else own if own_decides else chosen
    for s in steps:
        s["decides_status"] = deciding is not None and s is deciding
        s["decided_status"] = None
        if s["decides_status"]:
            s["decided_status"] = (
                s["canonical_status"] if payment_decides or own_decides
                else rules["partially_fulfilled"] if rule == "partial"
                else rules["returned"] if rule == "returned"
                else s["canonical_status"]
            )  # fmt: skip


def order_steps(events: Sequence[Mapping[str, Any]], spec: Mapping[str, Any]) -> list[Step]:
    """The steps of one order's mapped events, with every role the rules give them."""
    steps = _scope(events, spec)
    _flag(steps, spec["rules"])
    _decide(steps, spec["rules"])
    return steps


def _since(deciding: Step, steps: Sequence[Step], same_axis: bool) -> Step | None:
    runs = [
        s for s in steps
        if s["starts_status_run"] and s["step_number"] <= deciding["step_number"]
        and (s["payment_state"] is None) == (deciding["payment_state"] is None)
        and (not same_axis or s["shipment_id"] == deciding["shipment_id"])
    ]  # fmt: skip
    return max(runs, key=lambda s: s["step_number"], default=None)


def order_claim(
    order_id: str,
    status: Mapping[str, Any] | None,
    shipments: Sequence[Mapping[str, Any]],
    event_ids: Sequence[str],
) -> dict[str, Any]:
    """The claim of an order: its status row's fields, its shipments (by id, bytewise) and
    the ids of all its events (sorted)."""
    status = status or {}
    claim = {name: status.get(name) for name in CLAIM_FIELDS[1:-2]}
    ordered = sorted(shipments, key=lambda s: _b(s["shipment_id"]) or b"")
    return {
        "order_id": order_id,
        **claim,
        "shipments": [{name: s.get(name) for name in SHIPMENT_FIELDS} for s in ordered],
        "event_ids": sorted(event_ids),
    }


def rederive_claim(
    order_id: str, events: Sequence[Mapping[str, Any]], spec: Mapping[str, Any]
) -> dict[str, Any]:
    """The claim the rules give ``order_id`` from all its canonical events."""
    steps = order_steps([e for e in events if e["is_mapped"]], spec)
    status: dict[str, Any] = {}
    deciding = next((s for s in steps if s["decides_status"]), None)
    if deciding is not None:
        since = _since(deciding, steps, deciding["payment_state"] is None)
        status = {
            "canonical_status": deciding["decided_status"],
            "status_event_id": deciding["event_id"],
            "status_node": deciding["node"],
            "status_shipment_id": deciding["shipment_id"],
            "updated_at": deciding["event_time"],
            "status_since": _get(since, "event_time"),
            "status_since_event_id": _get(since, "event_id"),
        }
    payments = [s for s in steps if s["payment_state"] is not None]
    status["payment_state"] = payments[-1]["payment_state"] if payments else None
    shipments = []
    for (shipment,), group in _groups(steps, "shipment_id").items():
        if shipment is None:
            continue
        decides = next((s for s in group if s["decides_shipment"]), None)
        since = None if decides is None else _since(decides, group, True)
        shipments.append({
            "shipment_id": shipment,
            "direction": _min([s["shipment_direction"] for s in group]),
            "canonical_status": _get(decides, "shipment_status"),
            "status_event_id": _get(decides, "event_id"),
            "status_node": _get(decides, "node"),
            "updated_at": _get(decides, "event_time"),
            "status_since": _get(since, "event_time"),
        })  # fmt: skip
    return order_claim(order_id, status, shipments, [e["event_id"] for e in events])
