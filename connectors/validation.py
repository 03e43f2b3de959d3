"""Does a record fit its stream's schema well enough to load? Schema drift, decided per record.

Each manifest's stream declares an inline JSON schema (``schema_loader.schema``): the fields
that are ``required`` and the type (and, for strings, ``format``/``pattern``) of the fields it
knows. :class:`RecordCheck` compiles the top level of that schema into a few fast tests and
answers, for one record, the reasons it cannot be loaded:

- a **new field** (one the schema does not name) is fine: the raw table keeps the whole record;
- a **missing required field** (absent or null; airbyte-cdk drops top-level nulls anyway) is a
  reason, which is how a renamed field shows up;
- a **value of the wrong type** is fine when it can be cast to a declared type the way the dbt
  staging models cast it from ``data ->> 'field'`` (``"17"`` for an integer, ``12.5`` for a
  string, ``"2026-10-03T14:05:09Z"`` for a date-time) and a reason when it cannot (an object
  where a string is declared, ``"n/a"`` for a number, ``"yesterday"`` for a date-time).

A record with reasons goes to ``orderhub_meta.quarantine`` with them (``connectors.loader``);
nothing is dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

Test = Callable[[Any], bool]

_INTEGER = re.compile(r"^[+-]?[0-9]+$")
_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_DATE_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?")


def _is_date_time(text: str) -> bool:
    if not _DATE_TIME.match(text):
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


def _string_test(fmt: str | None, pattern: str | None) -> Test:
    """A scalar whose text form is a valid string of this format and pattern."""
    compiled = re.compile(pattern) if pattern else None

    def test(value: Any) -> bool:
        if isinstance(value, (dict, list)):
            return False
        if isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = value if isinstance(value, str) else str(value)
        if fmt == "date-time" and not _is_date_time(text):
            return False
        # a pattern constrains strings only (JSON schema); a number is its own cast
        return not (compiled is not None and isinstance(value, str) and not compiled.search(text))

    return test


def _integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, str) and bool(_INTEGER.match(value.strip()))


def _number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and bool(_NUMBER.match(value.strip()))


def _boolean(value: Any) -> bool:
    return isinstance(value, bool) or (
        isinstance(value, str) and value.strip().lower() in ("true", "false")
    )


#: The Python types (exactly) of the values a declared type's test passes whatever they hold:
#: a plain string (no ``format``, no ``pattern``) takes any scalar, as its text.
_ALWAYS: dict[str, frozenset[type]] = {
    "string": frozenset({str, int, float, bool}),
    "integer": frozenset({int}),
    "number": frozenset({int, float}),
    "boolean": frozenset({bool}),
    "object": frozenset({dict}),
    "array": frozenset({list}),
}


def _type_tests(schema: Mapping[str, Any]) -> tuple[list[Test], list[str], frozenset[type]]:
    """The tests of a property's declared types (any one passing is enough), their names, and
    the value types one of them passes without being asked (:data:`_ALWAYS`)."""
    declared = schema.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or [])
    tests: list[Test] = []
    names: list[str] = []
    always: set[type] = set()
    for kind in types:
        if kind == "null":
            continue
        names.append(kind if kind != "string" or not schema.get("format") else schema["format"])
        if kind != "string" or not (schema.get("format") or schema.get("pattern")):
            always |= _ALWAYS.get(kind, frozenset())
        if kind == "string":
            tests.append(_string_test(schema.get("format"), schema.get("pattern")))
        elif kind == "integer":
            tests.append(_integer)
        elif kind == "number":
            tests.append(_number)
        elif kind == "boolean":
            tests.append(_boolean)
        elif kind == "object":
            tests.append(lambda value: isinstance(value, dict))
        elif kind == "array":
            tests.append(lambda value: isinstance(value, list))
    return tests, names, frozenset(always)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class RecordCheck:
    """The top-level checks of one stream's schema: required fields and castable types."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.required: tuple[str, ...] = tuple(schema.get("required") or ())
        self._fields: list[tuple[str, list[Test], str, frozenset[type]]] = []
        for name, prop in (schema.get("properties") or {}).items():
            if not isinstance(prop, Mapping):
                continue
            tests, names, always = _type_tests(prop)
            if tests:
                self._fields.append((name, tests, " or ".join(names), always))

    @classmethod
    def for_stream(cls, manifest: Mapping[str, Any], stream: str) -> RecordCheck:
        """The check of ``stream`` in a declarative manifest (its inline schema)."""
        for definition in manifest.get("streams", []):
            if definition.get("name") == stream:
                schema = (definition.get("schema_loader") or {}).get("schema") or {}
                return cls(schema)
        raise KeyError(f"the manifest has no stream {stream!r}")

    def problems(self, record: Mapping[str, Any]) -> list[str]:
        """Why ``record`` cannot be loaded (empty when it can)."""
        found: list[str] = []
        for name in self.required:
            if record.get(name) is None:
                found.append(f"missing required field {name!r}")
        for name, tests, expected, always in self._fields:
            value = record.get(name)
            if value is None or type(value) in always:
                continue
            for test in tests:
                if test(value):
                    break
            else:
                found.append(
                    f"field {name!r} is {type(value).__name__} {_describe(value)}, "
                    f"which cannot be cast to {expected}"
                )
        return found


def reason(problems: Sequence[str]) -> str:
    """The quarantine reason of a record's problems (one line)."""
    return "; ".join(problems)
