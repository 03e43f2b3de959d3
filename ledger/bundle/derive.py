"""Canonical events re-derived from source records by a derivation spec (data, not code).

The ledger knows no source system: a *derivation spec* (``docs/audit-bundle.md``,
"The derivation spec") names, per raw table, where a record keeps its order reference,
its times, its node and its status codes (expressions of :mod:`ledger.bundle.values`),
whether its versions are snapshots (ERP, CRM, WMS: a code is an event when it appears) or
carry a list of events (TMS tracking details), how a version says its record is gone
at the source (its ``deletion``: one more observation, the deletion event), how each
status field's codes are normalised, and the seeds the warehouse derived with
(precedence, clock-skew tolerances). :func:`derive_events` applies it to every stored
version of a set of records and the crosswalk rows of the fields they use, and returns
the canonical event rows the warehouse must hold (:data:`EVENT_COLUMNS`) and every status
value that is not an event, with the rule that says so (:data:`NOT_EVENT_RULES`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ledger.bundle.format import BundleError
from ledger.bundle.values import at_path, evaluate, iso_utc, parse_time
from ledger.bundle.values import event_id as make_event_id

#: The columns of a canonical event row in a bundle, every one re-derived by the verifier.
EVENT_COLUMNS: tuple[str, ...] = (
    "event_id", "order_id", "source_system", "source_field", "source_code", "normalised_code",
    "canonical_status", "cbv_biz_step", "cbv_disposition", "lifecycle_rank", "is_terminal",
    "payment_state", "is_mapped", "event_class", "source_precedence", "status_precedence",
    "node", "node_type", "node_region", "node_country", "node_postal_code", "event_message",
    "event_time", "is_clock_skewed", "shipment_ref", "tracking_code", "carrier",
    "crosswalk_version", "source_record_key", "source_content_hash", "source_batch_id",
    "source_extracted_at",
)  # fmt: skip
#: Why a status value of a record is no event, each rule by name.
NOT_EVENT_RULES: dict[str, str] = {
    "blank_without_code": "the code is blank and its field has no blank code",
    "repeats_previous_version": "a snapshot version repeating the code its previous version had",
    "seen_in_earlier_version": "a list item sighted in an earlier version (the first stays)",
    "same_event_id": "another observation has the same event id (the first sighting stays)",
    "summary_field": "a field the spec names as a summary of the record's events",
}
#: The crosswalk attributes an event takes from its row.
CROSSWALK_ATTRIBUTES = (
    "canonical_status", "cbv_biz_step", "cbv_disposition", "lifecycle_rank", "is_terminal",
    "payment_state",
)  # fmt: skip
_SPACE = re.compile(r"[ \t\n\r\f\v]+")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_OBSERVED = (
    "node",
    "node_type",
    "node_region",
    "node_country",
    "node_postal_code",
    "event_message",
)

CrosswalkRows = Callable[[str, str], Sequence[Mapping[str, Any]]]


@dataclass(frozen=True)
class Version:
    """A stored version of a source record, as a bundle carries it (``position``: its index)."""

    position: int
    system: str
    table: str
    record_key: str
    content_hash: str
    batch_id: str
    extracted_at: datetime
    data: Any


@dataclass
class _Observation:
    version: Version
    field: str | None
    code: str | None
    key: str | None
    time: datetime | None
    where: dict[str, str | None]
    sighting: tuple[Any, ...] = ()


@dataclass
class Derivation:
    """What a spec derives from a set of records: events by id, and what is no event."""

    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    not_events: list[dict[str, Any]] = field(default_factory=list)
    records: dict[tuple[str, str], dict[str, str | None]] = field(default_factory=dict)

    def skip(self, version: Version, field_name: str | None, code: str | None, rule: str) -> None:
        self.not_events.append(
            {"record": version.position, "field": field_name, "code": code, "rule": rule}
        )


def normalise(code: str | None, rule: Mapping[str, Any] | None) -> str | None:
    """The key a code is matched on: its field's whitespace, blank and case rules (ASCII)."""
    rule = rule or {}
    text = code
    if text is not None and rule.get("trim_whitespace"):
        text = _SPACE.sub(" ", text).strip(" ")
    if text == "":
        text = None
    if text is None:
        text = rule.get("blank_code") or None
    if text is not None and rule.get("ignore_case"):
        text = text.translate(_LOWER)
    return text


def _by(rows: Sequence[Mapping[str, Any]], *columns: str) -> dict[Any, Mapping[str, Any]]:
    return {tuple(r[c] for c in columns) if len(columns) > 1 else r[columns[0]]: r for r in rows}


def _time_key(moment: datetime | None) -> tuple[bool, datetime | None]:
    """Ascending with nulls last, as PostgreSQL orders ``asc``."""
    return (moment is None, moment)


def _asc(value: Any) -> tuple[bool, Any]:
    return (value is None, value.encode() if isinstance(value, str) else value)


class Deriver:
    """A derivation spec, ready to apply."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.streams = {s["table"]: s for s in spec["streams"]}
        self.fields = _by(spec["status_fields"], "source_system", "source_field")
        self.precedence = _by(spec["source_precedence"], "source_system")
        self.tolerance = _by(spec["clock_skew_tolerances"], "source_system")
        self.rules = spec["rules"]

    def stream(self, version: Version) -> Mapping[str, Any]:
        stream = self.streams.get(version.table)
        if stream is None or stream["system"] != version.system:
            raise BundleError(
                f"record #{version.position}: the spec has no stream for "
                f"{version.system} {version.table}"
            )
        return stream

    def record_state(self, versions: Sequence[Version]) -> dict[str, str | None]:
        """What a record's latest version says it is about (order, shipment, tracker)."""
        stream = self.stream(versions[0])
        attributes = stream["record"]

        def version_time(v: Version) -> datetime | None:
            return parse_time(evaluate(attributes["version_time"], v.data))

        latest = max(
            versions,
            key=lambda v: ((t := version_time(v)) is None, t or v.extracted_at, v.extracted_at,
                           v.content_hash),
        )  # fmt: skip
        refs = {"order_ref": evaluate(attributes["order_ref"], latest.data)}
        state = {"order_id": refs["order_ref"]}
        for name in ("shipment_ref", "tracking_code", "carrier"):
            expr = attributes.get(name)
            state[name] = None if expr is None else evaluate(expr, latest.data, refs)
        return state

    def _observations(self, version: Version, out: Derivation) -> list[_Observation]:
        stream = self.stream(version)
        found = []
        items = [version.data]
        if stream["kind"] == "list":
            value = at_path(version.data, stream["items"]["path"])
            items = value if isinstance(value, list) else []
        if self._deletion(version, found) and stream["deletion"]["status_fields"] == "skip":
            items = []  # a version saying the record is gone observes no status
        for item in items:
            where = {name: evaluate(stream["observation"][name], item) for name in _OBSERVED}
            time = parse_time(evaluate(stream["observation"]["event_time"], item))
            sighting = tuple(evaluate(e, item) or "" for e in stream.get("sighting", []))
            for status in stream["status_fields"]:
                name = evaluate(status["field"], item)
                code = evaluate(status["code"], item)
                if code is None and status.get("absent") == "skip":
                    continue
                key = normalise(code, self.fields.get((version.system, name)))
                found.append(_Observation(version, name, code, key, time, where, sighting))
        for summary in stream.get("summary_fields", []):
            value = evaluate(summary["value"], version.data)
            if value is not None:
                out.skip(version, summary["name"], value, "summary_field")
        return found

    def _deletion(self, version: Version, found: list[_Observation]) -> bool:
        """Whether ``version`` says its record is gone (the stream's ``deletion`` code is
        not null); if so, its deletion observation is added to ``found``."""
        rule = self.stream(version).get("deletion")
        code = None if rule is None else evaluate(rule["code"], version.data)
        if rule is None or code is None:
            return False
        name = evaluate(rule["field"], version.data)
        exprs = {**self.stream(version)["observation"], **rule.get("observation", {})}
        where = {n: evaluate(exprs[n], version.data) for n in _OBSERVED}
        time = parse_time(evaluate(rule["event_time"], version.data))
        key = normalise(code, self.fields.get((version.system, name)))
        found.append(_Observation(version, name, code, key, time, where))
        return True

    def _events_of(self, versions: list[Version], out: Derivation) -> list[_Observation]:
        """The observations of one record that are events, in the warehouse's order."""
        kind = self.stream(versions[0])["kind"]
        observed = [o for v in versions for o in self._observations(v, out)]
        by_version = {v.content_hash: n for n, v in enumerate(versions)}
        if kind == "list":  # one sighting per (time, code, detail): the earliest version's
            kept, seen = [], set()
            observed.sort(
                key=lambda o: (o.version.extracted_at, o.version.content_hash,
                               by_version[o.version.content_hash])
            )  # fmt: skip
            for o in observed:
                sighting = (o.field, _time_key(o.time), o.sighting)
                if sighting in seen:
                    out.skip(o.version, o.field, o.code, "seen_in_earlier_version")
                    continue
                seen.add(sighting)
                kept.append(o)
            return kept
        kept = []
        runs: dict[str | None, str | None] = {}
        observed.sort(
            key=lambda o: (_time_key(o.time), o.version.extracted_at, o.version.content_hash)
        )
        for o in observed:
            if o.key is None:  # an absent code is no status value at all
                if o.code is not None:
                    out.skip(o.version, o.field, o.code, "blank_without_code")
            elif o.field in runs and runs[o.field] == o.key:
                out.skip(o.version, o.field, o.code, "repeats_previous_version")
            else:
                runs[o.field] = o.key
                kept.append(o)
        return kept

    def _mapped(
        self, o: _Observation, state: Mapping[str, str | None], crosswalk: CrosswalkRows,
        version: str,
    ) -> dict[str, Any]:  # fmt: skip
        v, system = o.version, o.version.system
        matches = []
        if o.field is not None and o.key is not None:
            rule = self.fields.get((system, o.field))
            matches = [r for r in crosswalk(system, o.field)
                       if normalise(r["source_code"], rule) == o.key]  # fmt: skip
        if len(matches) > 1:
            codes = ", ".join(repr(r["source_code"]) for r in matches)
            raise BundleError(f"crosswalk: codes {codes} of {system} {o.field} normalise alike")
        row = matches[0] if matches else None
        attrs = {a: (row or {}).get(a) for a in CROSSWALK_ATTRIBUTES}
        field_rule = self.fields.get((system, o.field)) or {}
        precedence = self.precedence.get(system) or {}
        source_precedence = precedence.get("precedence")
        source_precedence = self.rules["missing_precedence"] if source_precedence is None \
            else source_precedence  # fmt: skip
        authority = precedence.get("authority_on")
        skewed = False
        tolerance = self.tolerance.get(system)
        if tolerance and o.time is not None:
            skewed = o.time > v.extracted_at + timedelta(
                minutes=tolerance["max_ahead_minutes"]
            ) or o.time < v.extracted_at - timedelta(days=tolerance["max_behind_days"])
        return {
            "event_id": make_event_id(
                [system, v.record_key, o.field, o.code or "", iso_utc(o.time)]
            ),
            "order_id": state["order_id"],
            "source_system": system,
            "source_field": o.field,
            "source_code": o.code,
            "normalised_code": row["source_code"] if row else o.key,
            **attrs,
            "is_mapped": row is not None,
            "event_class": field_rule.get("event_class") or self.rules["default_event_class"],
            "source_precedence": source_precedence,
            "status_precedence": 0
            if authority is not None and attrs["canonical_status"] == authority
            else source_precedence,
            **o.where,
            "event_time": iso_utc(o.time),
            "is_clock_skewed": skewed,
            "shipment_ref": state["shipment_ref"],
            "tracking_code": state["tracking_code"],
            "carrier": state["carrier"],
            "crosswalk_version": version,
            "source_record_key": v.record_key,
            "source_content_hash": v.content_hash,
            "source_batch_id": v.batch_id,
            "source_extracted_at": iso_utc(v.extracted_at),
        }

    def derive(
        self, versions: Sequence[Version], crosswalk: CrosswalkRows, crosswalk_version: str
    ) -> Derivation:
        """Every canonical event of the records ``versions`` are stored versions of."""
        out = Derivation()
        records: dict[tuple[str, str], list[Version]] = defaultdict(list)
        for v in versions:
            records[(v.system, v.record_key)].append(v)
        candidates = []
        for key, record in records.items():
            state = out.records[key] = self.record_state(record)
            for o in self._events_of(record, out):
                candidates.append((self._mapped(o, state, crosswalk, crosswalk_version), o))
        candidates.sort(
            key=lambda c: (c[1].version.extracted_at, c[1].version.content_hash,
                           *(_asc(c[0][n]) for n in _OBSERVED))
        )  # fmt: skip
        for row, o in candidates:
            if row["event_id"] in out.events:
                out.skip(o.version, o.field, o.code, "same_event_id")
            else:
                out.events[row["event_id"]] = row
        return out


def derive_events(
    spec: Mapping[str, Any],
    versions: Sequence[Version],
    crosswalk: CrosswalkRows,
    crosswalk_version: str,
) -> Derivation:
    """The canonical events ``spec`` derives from ``versions`` (see :class:`Deriver`)."""
    return Deriver(spec).derive(versions, crosswalk, crosswalk_version)
