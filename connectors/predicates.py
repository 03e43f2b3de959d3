"""The TMS's and the WMS's paging checks in Python, for ``python -m connectors.launch``
(the ERP's are in :mod:`connectors.erp_paging`, registered here by their text too).

Each page a connector reads passes its error handler's response filters; those with a
``predicate`` render a Jinja template over the parsed page (``HttpResponseFilter``'s
``InterpolatedBoolean``). The TMS's three paging checks cost about 0.3 ms a page of 100
trackers (the order check sorts the page inside Jinja's sandbox), some 5 % of the TMS's
read, and the WMS's five about as much a page of 500 pickings. :func:`page_check` answers a
filter whose predicate is, character for character, one of the TMS's or the WMS's
(``manifests/tms.yaml``, ``manifests/wms.yaml``, read when first needed) with a Python
function deciding what the template decides, on the same page: Jinja's tests as Jinja
writes them (``is mapping``, ``is sequence``, ``is string``, ``is boolean``, ``is integer``),
``selectattr`` looking each key up as Jinja's ``getattr`` does, ``sort`` with its
``attribute`` list and case handling. Any other predicate (a manifest a user edited) is
rendered by airbyte-cdk as before. ``tests/connectors/test_manifest_predicates.py`` asks
both, on every page it has, for the same answer.

The TMS's paginator (and the ERP's, :data:`PAGING`) renders two templates a page as well
(about 0.2 ms: the cursor value walks the page's trackers inside Jinja): :func:`paging`
answers the manifest's own ``cursor_value`` and ``stop_condition`` (:class:`PagingValue`,
character for character) in Python for a page that is an object whose ``trackers`` is a list
of objects - the id of the last tracker holding a string ``id``, through airbyte-cdk's own
``_literal_eval`` as the template's output goes, and ``not has_more`` - and hands any other
page, and any other template, to airbyte-cdk's interpolation.
``tests/connectors/test_manifest_predicates.py`` asks both for the same answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from connectors import erp_paging
from connectors.jinja_tests import is_integer, listed, member
from connectors.manifest_files import system_manifest

Check = Callable[[Any], bool]


def tms_malformed(response: Any) -> bool:
    """No ``trackers`` list or no boolean ``has_more``."""
    if not isinstance(response, Mapping):
        return True
    more = response.get("has_more")
    return not ((more is True or more is False) and listed(response, "trackers"))


def _tms_rows(response: Any) -> list[Any]:
    rows = response["trackers"] if listed(response, "trackers") else []
    return [
        row
        for row in rows
        if isinstance(member(row, "created_at"), str) and isinstance(member(row, "id"), str)
    ]


def tms_nothing_to_page_from(response: Any) -> bool:
    """``has_more`` with no tracker with an id."""
    if not (isinstance(response, Mapping) and response.get("has_more") is True):
        return False
    if not listed(response, "trackers"):
        return False
    return not any(isinstance(member(row, "id"), str) for row in response["trackers"])


def tms_out_of_order(response: Any) -> bool:
    """The trackers with a created_at and an id, not in (created_at, id) order, newest first
    (Jinja's ``sort(attribute='created_at,id', reverse=true, case_sensitive=true)``)."""
    rows = _tms_rows(response)
    return rows != sorted(rows, key=lambda row: [row["created_at"], row["id"]], reverse=True)


def _odoo_error(response: Any) -> Any:
    return response.get("error") if isinstance(response, Mapping) else None


def wms_access_denied(response: Any) -> bool:
    """Odoo's ``AccessDenied`` error (a ``data`` that is no mapping is Jinja's undefined
    error: false)."""
    error = _odoo_error(response)
    if not isinstance(error, Mapping):
        return False
    data = error.get("data") or {}
    return isinstance(data, Mapping) and data.get("name") == "odoo.exceptions.AccessDenied"


def wms_error(response: Any) -> bool:
    """Any Odoo error."""
    return isinstance(_odoo_error(response), Mapping)


def wms_malformed(response: Any) -> bool:
    """No ``result`` list."""
    return not listed(response, "result")


def _wms_rows(rows: Any) -> list[Any]:
    return [
        row
        for row in rows
        if isinstance(member(row, "write_date"), str) and is_integer(member(row, "id"))
    ]


def wms_nothing_to_page_from(response: Any) -> bool:
    """Records, none with a write_date and an id."""
    if not listed(response, "result") or len(response["result"]) == 0:
        return False
    return not _wms_rows(response["result"])


def _ignore_case(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def wms_out_of_order(response: Any) -> bool:
    """The pickings with a write_date and an id, not in (write_date, id) order (Jinja's
    ``sort(attribute='write_date,id')``, which compares strings case-insensitively)."""
    rows = _wms_rows(response["result"]) if listed(response, "result") else []
    ordered = sorted(
        rows, key=lambda row: [_ignore_case(row["write_date"]), _ignore_case(row["id"])]
    )
    return rows != ordered


#: Each manifest's predicates, in the order its error handler lists them.
CHECKS: dict[str, list[Check]] = {
    "erp": erp_paging.CHECKS,
    "tms": [tms_malformed, tms_nothing_to_page_from, tms_out_of_order],
    "wms": [
        wms_access_denied,
        wms_error,
        wms_malformed,
        wms_nothing_to_page_from,
        wms_out_of_order,
    ],
}
_BY_TEXT: dict[str, Check] = {}


def checks_by_text() -> dict[str, Check]:
    """Each predicate's text, as ``manifests/<system>.yaml`` writes it, to its check."""
    if not _BY_TEXT:
        for system, checks in CHECKS.items():
            manifest = system_manifest(system)
            filters = manifest["definitions"]["error_handler"]["response_filters"]
            texts = [rule["predicate"] for rule in filters if rule.get("predicate")]
            _BY_TEXT.update(zip(texts, checks, strict=True))
    return _BY_TEXT


class PageCheck:
    """An ``InterpolatedBoolean`` whose condition is answered by a :data:`Check`."""

    def __init__(self, condition: str, check: Check) -> None:
        self.condition = condition
        self.check = check

    def eval(self, config: Any, **context: Any) -> bool:
        return self.check(context.get("response"))


def page_check(predicate: Any) -> Any:
    """``predicate`` (a filter's ``InterpolatedBoolean``) as a :class:`PageCheck` when its
    condition is one of :data:`CHECKS`' manifests' predicates, else itself."""
    condition = getattr(predicate, "condition", None)
    if not isinstance(condition, str):
        return predicate
    check = checks_by_text().get(condition)
    return predicate if check is None else PageCheck(condition, check)


def _tms_page(response: Any) -> list[dict[str, Any]] | None:
    """The page's trackers when the page is an object listing objects, else None."""
    if type(response) is not dict:
        return None
    trackers = response.get("trackers")
    if type(trackers) is not list or not all(type(row) is dict for row in trackers):
        return None
    return trackers


Rows = Callable[[Any], list[dict[str, Any]] | None]


class PagingValue:
    """An ``InterpolatedString`` or ``InterpolatedBoolean`` of a paginator answered by
    ``answer`` for a page ``rows`` accepts (its records); any other page by ``template``."""

    def __init__(
        self,
        template: Any,
        answer: Callable[[list[dict[str, Any]], Any], Any],
        rows: Rows = _tms_page,
    ) -> None:
        self.template = template
        self.answer = answer
        self.rows = rows
        self.string = getattr(template, "string", None)
        self.condition = getattr(template, "condition", None)

    def eval(self, config: Any, **context: Any) -> Any:
        response = context.get("response")
        records = self.rows(response)
        if records is None:
            return self.template.eval(config, **context)
        return self.answer(records, response)


def _last_tracker_id(trackers: list[dict[str, Any]], response: Any) -> Any:
    """``{%- set rows = response['trackers'] | selectattr('id', 'string') | list -%}{{
    rows[-1]['id'] if rows else '' }}``: rendered, then literal-evaluated as airbyte-cdk does
    (an empty output is None)."""
    from airbyte_cdk.sources.declarative.interpolation.jinja import JinjaInterpolation

    for row in reversed(trackers):
        last = row.get("id")
        if isinstance(last, str):
            return JinjaInterpolation()._literal_eval(last, None) if last else None
    return None


def _no_more(trackers: list[dict[str, Any]], response: Any) -> bool:
    """``{{ not response.get('has_more') }}``."""
    return not response.get("has_more")


#: Per system: the page's records, the cursor value and the stop condition in Python.
PAGING: dict[str, tuple[Rows, Callable[..., Any], Callable[..., Any]]] = {
    "tms": (_tms_page, _last_tracker_id, _no_more),
    "erp": (erp_paging.erp_page, erp_paging.erp_last_position, erp_paging.erp_no_next),
}


def paging(strategy: Any) -> Any:
    """A ``CursorPaginationStrategy`` whose cursor value and stop condition are, character
    for character, the TMS's or the ERP's manifest's, with both answered in Python
    (:class:`PagingValue`); any other strategy as it is."""
    value, stop = strategy._cursor_value, strategy._stop_condition
    for system, (rows, value_answer, stop_answer) in PAGING.items():
        (stream,) = system_manifest(system)["streams"]
        expected = stream["retriever"]["paginator"]["pagination_strategy"]
        if (
            getattr(value, "string", None) == expected["cursor_value"]
            and getattr(stop, "condition", None) == expected["stop_condition"]
        ):
            strategy._cursor_value = PagingValue(value, value_answer, rows)
            strategy._stop_condition = PagingValue(stop, stop_answer, rows)
            break
    return strategy
