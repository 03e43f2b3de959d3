"""Every response-filter predicate of every manifest, evaluated the way airbyte-cdk does.

airbyte-cdk evaluates a ``HttpResponseFilter`` predicate without the config
(``HttpResponseFilter._response_matches_predicate`` passes ``None``): a predicate reading
``config`` raises an undefined error inside Jinja, which the interpolation turns into its
default, false, so the guard never fires (connectors/README.md, "Response-filter predicates
see no config"). Here each manifest's error handler is built by airbyte-cdk's own component
factory from the resolved manifest, and each predicate filter is asked to match real
``requests.Response`` objects through ``HttpResponseFilter.matches``: it must fire on every
page it guards and stay quiet on good pages, and the whole handler must answer a good page
with success.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import requests
from test_manifests import declarative_source, offline_config

from connectors.catalog import SYSTEMS

Page = Any


def page(body: Page, status: int = 200) -> requests.Response:
    """A response as requests builds it (``body`` bytes as they are, anything else as JSON)."""
    response = requests.Response()
    response.status_code = status
    response._content = body if isinstance(body, bytes) else orjson.dumps(body)
    response.url = "http://127.0.0.1:9/page?token=secret"
    response.headers["Content-Type"] = "application/json"
    response.encoding = "utf-8"
    return response


def erp(*rows: tuple[Any, Any], more: bool = True) -> Page:
    results = [_row("LastChangeDateTime", "SalesOrder", c, k) for c, k in rows]
    return {"d": {"results": results, **({"__next": "http://127.0.0.1:9/next"} if more else {})}}


def crm(*rows: tuple[Any, Any], more: bool = True) -> Page:
    records = [_row("SystemModstamp", "Id", c, k) for c, k in rows]
    more_url = {"nextRecordsUrl": "/services/data/v60.0/query/01gABC-2000"} if more else {}
    return {"totalSize": len(records), "done": not more, **more_url, "records": records}


def tms(*rows: tuple[Any, Any], more: bool = True) -> Page:
    # EasyPost lists trackers newest first: the rows, given oldest first, are reversed
    trackers = [_row("created_at", "id", c, k) for c, k in reversed(rows)]
    return {"trackers": trackers, "has_more": more}


def wms(*rows: tuple[Any, Any], more: bool = True) -> Page:
    # Odoo's JSON-RPC answer; its ids are whole numbers ("1" -> 1), and no flag says more
    result = [_row("write_date", "id", c, int(k) if isinstance(k, str) and k.isdigit() else k)
              for c, k in rows]  # fmt: skip
    return {"jsonrpc": "2.0", "id": 1, "result": result}


def odoo_error(name: str) -> Page:
    data = {"name": name, "message": "Access Denied", "arguments": [], "context": {}}
    return {"jsonrpc": "2.0", "id": 1, "error": {"code": 200, "message": "Odoo Server Error",
                                                 "data": data}}  # fmt: skip


def _row(cursor_field: str, key_field: str, cursor: Any, key: Any) -> dict[str, Any]:
    row = {"other": "x"}
    if cursor is not None:
        row[cursor_field] = cursor
    if key is not None:
        row[key_field] = key
    return row


T1, T2, T3 = "2026-10-01T10:00:00Z", "2026-10-01T10:00:05Z", "2026-10-02T00:00:00Z"
BUILD = {"erp": erp, "crm": crm, "tms": tms, "wms": wms}
#: Pages the error handler must answer with success (the keys sort as the servers sort them:
#: case-sensitively, "B" before "a").
GOOD = [
    ((T1, "1"), (T1, "2"), (T2, "1")),
    ((T1, "B"), (T1, "a"), (T3, "0")),
    ((T1, "1"), (None, "2"), (T2, "3")),  # a record lacking its cursor: quarantined later
    ((T1, "1"), (T1, "1"), (T2, "2")),  # the same record twice: stored once
]
#: system -> one entry per predicate filter, in manifest order: the pages it must fail.
GUARDED: dict[str, list[list[Page]]] = {
    "erp": [
        [{"d": {}}, {"d": {"results": {"a": 1}}}, [], "text", b"{not json", {"error": "x"}],
        [erp(), erp((T1, None), (None, "2"))],
        [erp((T2, "1"), (T1, "2")), erp((T1, "2"), (T1, "1")), erp((T1, "a"), (T1, "B"))],
    ],
    "crm": [
        [{"records": []}, {"done": "yes", "records": []}, [{"errorCode": "X"}], b"<html>"],
        [{"totalSize": 1, "done": False, "records": []}, {**crm(), "nextRecordsUrl": ""}],
        [crm((T2, "1"), (T1, "2")), crm((T1, "b"), (T1, "a"), more=False)],
    ],
    "tms": [
        [{"trackers": []}, {"has_more": False}, {"trackers": "x", "has_more": True}, b""],
        [tms(), tms((T1, None))],
        [tms((T3, "trk_1"), (T1, "trk_2")), tms((T1, "trk_9"), (T1, "trk_1"), more=False)],
    ],
    "wms": [
        [odoo_error("odoo.exceptions.AccessDenied")],
        [odoo_error("builtins.ValueError"), odoo_error("odoo.exceptions.UserError")],
        [{"jsonrpc": "2.0", "id": 1}, {"result": {"a": 1}}, [], b"{"],
        [wms((T1, None)), wms((None, "1"), (None, "2"))],
        [wms((T2, "1"), (T1, "2")), wms((T1, "2"), (T1, "1"))],
    ],
}


def error_handler(system: str) -> Any:
    """``system``'s error handler, built by airbyte-cdk's factory from the resolved manifest."""
    config = offline_config(system)
    resolved = declarative_source(SYSTEMS[system].manifest(), config).resolved_manifest
    definition = resolved["streams"][0]["retriever"]["requester"]["error_handler"]
    with contextlib.redirect_stdout(io.StringIO()):
        from airbyte_cdk.sources.declarative.models.declarative_component_schema import (
            DefaultErrorHandler,
        )
        from airbyte_cdk.sources.declarative.parsers.model_to_component_factory import (
            ModelToComponentFactory,
        )

        return ModelToComponentFactory().create_component(DefaultErrorHandler, definition, config)


def predicate_filters(handler: Any) -> list[Any]:
    return [f for f in handler.response_filters if f.predicate and f.predicate.condition]


def predicates_in(node: Any) -> Iterator[str]:
    """Every ``predicate`` written anywhere in a manifest."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "predicate" and isinstance(value, str):
                yield value
            else:
                yield from predicates_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from predicates_in(item)


@pytest.mark.parametrize("system", sorted(SYSTEMS))
def test_every_predicate_fires_on_the_page_it_guards_and_not_on_a_good_page(system: str) -> None:
    handler = error_handler(system)
    filters = predicate_filters(handler)
    written = list(predicates_in(SYSTEMS[system].manifest()))
    assert len(filters) == len(written) == len(GUARDED[system])  # each has its test pages
    assert not any("config" in predicate for predicate in written)
    for rule, pages in zip(filters, GUARDED[system], strict=True):
        for bad in pages:
            resolution = rule.matches(page(bad))
            assert resolution is not None, (rule.predicate.condition, bad)
            assert resolution.response_action.name == "FAIL"
            whole = handler.interpret_response(page(bad))
            assert whole.error_message == resolution.error_message  # no earlier rule took it
            assert "secret" not in resolution.error_message  # the query string is left out
    for rows in GOOD:
        for more in (True, False):
            good = BUILD[system](*rows, more=more)
            assert [r for r in filters if r.matches(page(good))] == [], good
            assert handler.interpret_response(page(good)).response_action.name == "SUCCESS"


def test_a_predicate_reading_the_config_never_fires() -> None:
    # The trap itself: the same condition fires when it reads only the page, and never when it
    # compares the page with the config, because airbyte-cdk gives predicates no config.
    handler = error_handler("crm")
    (structure, *_rest) = predicate_filters(handler)
    full = crm((T1, "1"), (T2, "2"))
    reads_page = "{{ response['records'] | length >= 2 }}"
    reads_config = "{{ response['records'] | length >= (config.get('page_size') or 200) }}"
    assert structure.predicate.condition  # a real filter of the manifest, its condition swapped
    structure.predicate.condition = reads_page
    assert structure.matches(page(full)) is not None
    structure.config = {**structure.config, "page_size": 2}
    structure.predicate.condition = reads_config
    assert structure.matches(page(full)) is None


#: Pages of odd shapes, for the checks written in Python (connectors/predicates.py).
ODD: list[Page] = [
    {"trackers": [1, "x", None, {"id": 5}, {"id": "trk_1"}], "has_more": True},
    {"trackers": [{"id": "a", "created_at": T1}, {"id": "b", "created_at": 3}], "has_more": 1},
    {"trackers": [{"id": "b", "created_at": "x"}, {"id": "a", "created_at": "X"}]},
    {"trackers": {}, "has_more": True},
    {"trackers": [], "has_more": None},
    {"result": [{"id": True, "write_date": T1}, {"id": 2.0, "write_date": T2}]},
    {"result": [{"id": 1, "write_date": "B"}, {"id": 2, "write_date": "a"}]},
    {"result": [{"id": 2, "write_date": "a"}, {"id": 1, "write_date": "B"}]},
    {"result": [{"id": 1, "write_date": "a"}, {"id": 1, "write_date": "A"}]},
    {"result": [None, [], {"id": 1}]},
    {"result": "abc"},
    {"result": {}},
    {"error": {"data": "x"}},
    {"error": {"data": ["y"]}},
    {"error": {"data": 0}},
    {"error": {"data": {"name": ["odoo.exceptions.AccessDenied"]}}},
    {"error": []},
    {"error": "denied", "result": []},
    *[
        {"d": {"results": rows, **more}}
        for rows in (
            [_row("LastChangeDateTime", "SalesOrder", c, k) for c, k in pairs]
            for pairs in (
                [("/Date(999999999999)/", "1"), ("/Date(1000000000000+0000)/", "0")],
                [("/Date(1000000000000+0000)/", "0"), ("/Date(999999999999)/", "1")],
                [("/Date(-5)/", "1"), ("/Date(12)/\n", "1"), ("/Date(12)/", "0")],
                [("2026-10-01T10:00:00.5+02:00", "2"), ("/Date(1790000000000)/", "1")],
                [("2026-10-01T08:00:00.5Z", "2"), ("2026-10-01T10:00:00.5+02:00", "1")],
                [("2026-10-01T10:00:00", "b"), ("2026-10-01T10:00:00", "a")],
                [("soon", "2"), ("/Date(5)/", "1"), ("/date(1)/", "0"), (3, "0")],
                [("/Date(5)/", 7), ("/Date(4)/", "1"), ("/Date(4)/", None)],
            )
        )
        for more in ({}, {"__next": None}, {"__next": ""}, {"__next": 0}, {"__next": "u"})
    ],
    {"d": {"results": [1, "x", None, {"SalesOrder": 5}], "__next": "u"}},
    {"d": {"results": [], "__next": []}},
    {"d": {"results": "abc", "__next": "u"}},
    {"d": []},
    {"d": {"results": None}},
    [],
    [{"trackers": []}],
    "text",
    5,
    None,
    b"",
    b"\xff",
]


@pytest.mark.parametrize("system", ["erp", "tms", "wms"])
def test_the_python_page_checks_answer_what_the_templates_answer(system: str) -> None:
    from airbyte_cdk.sources.declarative.interpolation.interpolated_boolean import (
        InterpolatedBoolean,
    )
    from airbyte_cdk.sources.declarative.requesters.error_handlers import HttpResponseFilter

    from connectors import predicates

    checks = predicates.checks_by_text()
    written = list(predicates_in(SYSTEMS[system].manifest()))
    assert [checks[text] for text in written] == predicates.CHECKS[system]
    bodies = [bad for pages in GUARDED.values() for each in pages for bad in each]
    bodies += [BUILD[s](*rows, more=m) for s in BUILD for rows in GOOD for m in (True, False)]
    bodies += ODD
    for text in written:
        template = InterpolatedBoolean(condition=text, parameters={"model": "stock.picking"})
        python = predicates.page_check(template)
        assert isinstance(python, predicates.PageCheck)
        for body in bodies:
            response = page(body)
            parsed = HttpResponseFilter._safe_response_json(response)
            context = {"response": parsed, "headers": response.headers, "request_url": "x"}
            expected = template.eval(None, **context)  # type: ignore[arg-type]
            assert python.eval(None, **context) == expected, (text, body)
    # an edited predicate is left to airbyte-cdk
    edited = InterpolatedBoolean(condition=written[-1] + " ", parameters={})
    assert predicates.page_check(edited) is edited


@pytest.mark.parametrize("system", ["erp", "tms"])
def test_the_paginators_in_python_answer_what_their_templates_answer(system: str) -> None:
    """The TMS's and the ERP's cursor value and stop condition, as ``connectors.launch``
    builds them (Python for a page of objects), give airbyte-cdk's answer on every page, odd
    ones and ids that look like Python literals included; an edited template stays a
    template."""
    from airbyte_cdk.sources.declarative.requesters.paginators.strategies import (
        CursorPaginationStrategy,
    )

    from connectors import predicates

    (stream,) = SYSTEMS[system].manifest()["streams"]
    written = stream["retriever"]["paginator"]["pagination_strategy"]

    def strategy(value: str, stop: str) -> Any:
        return CursorPaginationStrategy(
            cursor_value=value, stop_condition=stop, config={}, parameters={}
        )

    python = predicates.paging(strategy(written["cursor_value"], written["stop_condition"]))
    assert isinstance(python._cursor_value, predicates.PagingValue)
    assert isinstance(python._stop_condition, predicates.PagingValue)
    template = strategy(written["cursor_value"], written["stop_condition"])
    bodies = [bad for pages in GUARDED.values() for each in pages for bad in each]
    bodies += [BUILD[s](*rows, more=m) for s in BUILD for rows in GOOD for m in (True, False)]
    bodies += [body for body in ODD if not isinstance(body, bytes)]
    bodies += [
        {"trackers": [{"id": ident}, {"id": 7}], "has_more": more}
        for ident in ("123", "1e3", "True", "[1, 2]", "'q'", "1j", "", " 5", "trk_9")
        for more in (True, False, None, 0, [], "yes")
    ]
    bodies += [{"trackers": [{"id": "a"}, {"x": 1}], "has_more": True}, {"has_more": False}]
    bodies += [
        {"d": {"results": [{"LastChangeDateTime": at, "SalesOrder": key}], **more}}
        for at in ("/Date(1759500309123+0000)/", "/Date(-1)/", "/Date(0)/", "2026-10-01T10:00:00Z",
                   "2026-10-01T10:00:00.98765+01:00", "2026-10-01T10:00:00", "x", "")
        for key in ("123", "'q'", "[1]", "1e3", "")
        for more in ({}, {"__next": "u"}, {"__next": 0}, {"__next": None})
    ]  # fmt: skip
    for body in bodies:
        for kept in (python, template):
            kept.decoder = _Parsed(body)
        expected = _answer(template)
        assert _answer(python) == expected, body
        assert type(_answer(python)) is type(expected), body
    edited = strategy(written["cursor_value"] + " ", written["stop_condition"])
    assert not isinstance(predicates.paging(edited)._cursor_value, predicates.PagingValue)


def _answer(strategy: Any) -> Any:
    """The strategy's next page token, or the type of what it raised (a page the ERP's
    template cannot read: the page checks fail such a page before the paginator sees it)."""
    try:
        return strategy.next_page_token(page(b"{}"), 0, None)
    except Exception as error:  # compared with the template's
        return type(error)


class _Parsed:
    """A decoder handing the paginator ``body`` as the parsed page."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def decode(self, response: requests.Response) -> Iterator[Any]:
        yield self.body
