"""The ERP's paging checks and paginator in Python, for ``python -m connectors.launch``.

The ERP manifest (``manifests/erp.yaml``) guards each page of SAP's ``A_SalesOrder`` with
three response-filter predicates and takes the next ``$filter`` position with a cursor value
template, each rendered by Jinja once a page. On a page of 1,000 sales orders that is about
14 ms (the order check matches two regular expressions per record and grows its key list one
copy at a time): a third of the ERP read's Python. Here each is answered in Python where the
template is, character for character, the manifest's own (:mod:`connectors.predicates` finds
them by their text), deciding what the template decides: Jinja's tests and ``selectattr`` as
:mod:`connectors.predicates` writes them, airbyte-cdk's own ``regex_search`` semantics (the
first group of ``re.search``, else ``''``) with the manifest's two patterns (the same as
:mod:`connectors.odata`'s), airbyte-cdk's
own ``str_to_datetime`` and ``format_datetime`` macros, Jinja's ``int`` filter, and the
rendered text of a value taken the way ``InterpolatedBoolean`` and ``InterpolatedString``
take it. ``tests/connectors/test_manifest_predicates.py`` asks the templates and these for
the same answer on every page it has.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from connectors.jinja_tests import listed, member
from connectors.odata import ISO_DATETIME as _ISO
from connectors.odata import ODATA_DATETIME as _ODATA


def regex_search(value: str, pattern: re.Pattern[str]) -> str:
    """airbyte-cdk's ``regex_search`` filter: the first group of ``re.search``, else ``''``."""
    found = pattern.search(value)
    return found.group(1) if found and found.groups() else ""


def results(response: Any) -> list[Any] | None:
    """``response['d']['results']`` when the page holds a list there (the manifest's
    ``response is mapping and response.get('d') is mapping and ... is sequence and ... is
    not mapping and ... is not string``), else None."""
    if not isinstance(response, Mapping):
        return None
    envelope = response.get("d")
    if not isinstance(envelope, Mapping) or not listed(envelope, "results"):
        return None
    found: list[Any] = envelope["results"]
    return found


def keyed_rows(rows: Any) -> list[Any]:
    """``rows | selectattr('LastChangeDateTime', 'string') | selectattr('SalesOrder',
    'string') | list``."""
    return [
        row
        for row in rows
        if isinstance(member(row, "LastChangeDateTime"), str)
        and isinstance(member(row, "SalesOrder"), str)
    ]


def jinja_int(value: Any) -> int:
    """Jinja's ``int`` filter (default 0)."""
    try:
        return int(value, 10) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return 0


def _macros() -> dict[str, Any]:
    from airbyte_cdk.sources.declarative.interpolation.macros import macros

    found: dict[str, Any] = macros
    return found


def erp_malformed(response: Any) -> bool:
    """No ``d.results`` list."""
    return results(response) is None


def erp_nothing_to_page_from(response: Any) -> bool:
    """``__next`` with no record holding a string LastChangeDateTime and SalesOrder. (A falsy
    ``__next`` renders as ``None``, ``''``, ``0``, ``0.0``, ``False``, ``[]`` or ``{}``: each a
    false answer.)"""
    rows = results(response)
    if rows is None or not response["d"].get("__next"):
        return False
    return not keyed_rows(rows)


def erp_out_of_order(response: Any) -> bool:
    """The keyed records whose LastChangeDateTime is a ``/Date()/`` or an ISO 8601 instant,
    not in (milliseconds, SalesOrder) order."""
    rows = results(response)
    str_to_datetime = _macros()["str_to_datetime"]
    keys: list[list[Any]] = []
    for row in keyed_rows(rows) if rows is not None else []:
        text = row["LastChangeDateTime"]
        ms = regex_search(text, _ODATA)
        if ms or regex_search(text, _ISO):
            instant = ms or (str_to_datetime(text).timestamp() * 1000)
            keys.append([jinja_int(instant), row["SalesOrder"]])
    return keys != sorted(keys)


def iso_millis(text: str) -> str:
    """The cursor value's ``at``: a ``/Date()/`` or ISO 8601 instant as ISO 8601 UTC with
    milliseconds, through airbyte-cdk's macros as the template calls them; other text as it is."""
    macros = _macros()
    ms = regex_search(text, _ODATA)
    moment = None
    if not ms and regex_search(text, _ISO):
        moment = macros["str_to_datetime"](text)
    if ms:
        n: int | None = jinja_int(ms)
    else:
        n = jinja_int(moment.timestamp() * 1000) if moment else None
    if n is None:
        return text
    whole = macros["format_datetime"](n - n % 1000, "%Y-%m-%dT%H:%M:%S", "%ms")
    return f"{whole}.{str(1000 + n % 1000)[1:]}Z"


def erp_last_position(rows: list[dict[str, Any]], response: Any) -> Any:
    """The manifest's ``cursor_value``: ``[at, SalesOrder]`` of the last keyed record,
    rendered and literal-evaluated as airbyte-cdk does (no keyed record: None)."""
    from airbyte_cdk.sources.declarative.interpolation.jinja import JinjaInterpolation

    keyed = keyed_rows(rows)
    if not keyed:
        return None
    last = keyed[-1]
    rendered = str([iso_millis(last["LastChangeDateTime"]), last["SalesOrder"]])
    return JinjaInterpolation()._literal_eval(rendered, None)


def erp_no_next(rows: list[dict[str, Any]], response: Any) -> bool:
    """``{{ not response['d'].get('__next') }}``."""
    return not response["d"].get("__next")


def erp_page(response: Any) -> list[dict[str, Any]] | None:
    """The page's records when the page is an object whose ``d`` is an object listing
    objects, else None (the template decides)."""
    if type(response) is not dict or type(response.get("d")) is not dict:
        return None
    rows = response["d"].get("results")
    if type(rows) is not list or not all(type(row) is dict for row in rows):
        return None
    return rows


CHECKS = [erp_malformed, erp_nothing_to_page_from, erp_out_of_order]
