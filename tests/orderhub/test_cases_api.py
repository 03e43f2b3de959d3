"""Cases over the API, with real tokens through PostgREST: the ops role acts on cases
(/rpc/assign_case, acknowledge_case, resolve_case, dismiss_case), nobody else may, and a
refused action answers PostgREST's error body with the right status, message and hint.
The built world's exceptions and review queue become cases routed to their teams."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest
from api_world import ApiWorld

from orderhub import cases
from orderhub.cases.store import open_counts, raise_from_marts


@pytest.fixture(scope="module")
def raised(api_world: ApiWorld) -> dict[str, int]:
    """The world's cases, raised once from its marts."""
    with psycopg.connect(api_world.url, autocommit=True) as conn:
        cases.ensure_schema(conn)
        raise_from_marts(conn)
        return open_counts(conn)


def _post(world: ApiWorld, name: str, token: str | None, **body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{world.base}/rpc/{name}", json=body, headers=headers, timeout=30)


def _case(world: ApiWorld, kind: str) -> int:
    """The first open case of ``kind`` (``*``: of any kind but the review team's)."""
    rows = world.query(
        "select case_id from cases.cases where (kind = %s or %s = '*' and team <> 'review')"
        " and state = 'open' order by case_id",
        kind,
        kind,
    )
    assert rows, f"no open {kind} case"
    return int(rows[0][0])


def test_exceptions_and_review_queue_become_routed_cases(
    api_world: ApiWorld, raised: dict[str, int]
) -> None:
    exceptions = dict(
        api_world.query(
            "select exception_type, count(distinct coalesce(order_id, exception_id))"
            " from marts.fct_order_exceptions group by 1"
        )
    )
    assert exceptions, "the scenario has exceptions"
    for kind, orders in exceptions.items():
        assert raised.get(kind) == orders, kind  # one open case per (order, kind)
    review = api_world.query(
        "select count(distinct order_id) from marts.fct_order_tags where tag = 'manual_review'"
    )[0][0]
    assert review and raised["manual_review"] >= review
    teams = dict(api_world.query("select kind, min(team) from cases.cases group by kind"))
    assert teams["manual_review"] == "review"
    assert teams["misroute"] == "operations"
    with psycopg.connect(api_world.url) as conn:  # raised again: nothing new
        assert raise_from_marts(conn) == 0


def test_only_ops_acts(api_world: ApiWorld, raised: dict[str, int]) -> None:
    case_id = _case(api_world, "manual_review")
    claims = {"partner": {"partner_id": "DHL"}, "customer": {"customer_id": "C1"}}
    for role in ("analyst", "partner", "auditor", "customer"):
        token = api_world.token(role, **claims.get(role, {}))
        answer = _post(api_world, "acknowledge_case", token, case_id=case_id)
        assert answer.status_code in (401, 403), (role, answer.text)
    assert _post(api_world, "acknowledge_case", None, case_id=case_id).status_code == 401
    state = api_world.query("select state from cases.cases where case_id = %s", case_id)
    assert state == [("open",)]


def test_ops_lifecycle_and_errors(api_world: ApiWorld, raised: dict[str, int]) -> None:
    ops = api_world.token("ops", sub="ana@ops")
    case_id = _case(api_world, "misroute")
    answer = _post(api_world, "assign_case", ops, case_id=case_id, assignee="bo")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["state"], answer.json()["assignee"]) == ("assigned", "bo")
    assert _post(api_world, "acknowledge_case", ops, case_id=case_id).json()["state"] == (
        "acknowledged"
    )
    resolved = _post(api_world, "resolve_case", ops, case_id=case_id, note="rerouted")
    assert resolved.json()["state"] == "resolved"
    again = _post(api_world, "acknowledge_case", ops, case_id=case_id)
    assert again.status_code == 409
    body = again.json()
    assert "a resolved case cannot be acknowledged" in body["message"]
    assert body["hint"] and body["details"]
    other = _case(api_world, "*")
    no_note = _post(api_world, "dismiss_case", ops, case_id=other)
    assert no_note.status_code == 400
    assert no_note.json()["message"] == "a note is required to dismiss a case"
    assert "why" in no_note.json()["hint"]
    missing = _post(api_world, "resolve_case", ops, case_id=10**9)
    assert missing.status_code == 404
    assert (
        _post(api_world, "dismiss_case", ops, case_id=other, note="duplicate").json()["state"]
        == "dismissed"
    )
    actions = api_world.query(
        "select action, actor, note from cases.case_actions where case_id = %s order by action_id",
        case_id,
    )
    assert actions == [
        ("opened", "orderhub", None),
        ("assigned", "ana@ops", None),
        ("acknowledged", "ana@ops", None),
        ("resolved", "ana@ops", "rerouted"),
    ]
