"""Who sees what, through PostgREST with real tokens on the real dbt ``api`` schema.

The world is the sandbox's generated scenario built by the dbt project (``api_world.py``).
What each role may read is what ``models/api/_api__models.yml`` declares; these tests hold
the API to it, row by row: a customer reads exactly their orders, a partner exactly the
orders and shipments routed to it (and not the columns hidden from it), anon nothing but the
tracking lookup, and no query parameter or embedding widens what a token sees.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

import jwt
import pytest
import yaml
from api_world import ApiWorld

from orderhub.api_auth import API_MODELS_FILE, JWT_SECRET, api_vars, mint_token
from orderhub.secrets import get_secret


def _declared() -> dict[str, dict[str, Any]]:
    """Per api view (alias): its access and its columns, as the yml declares them."""
    views = {}
    for model in yaml.safe_load(API_MODELS_FILE.read_text())["models"]:
        alias = model.get("config", {}).get("alias")
        if alias:
            access = model["config"]["meta"]["access"]
            views[alias] = {**access, "columns": [c["name"] for c in model["columns"]]}
    return views


VIEWS = _declared()


def _orders_of_customers(world: ApiWorld) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for customer, order in world.query(
        "select customer_id, order_id from marts.fct_order_current_status"
        " where customer_id is not null"
    ):
        found[customer].add(order)
    return found


def _routed(world: ApiWorld) -> dict[str, set[tuple[str, str]]]:
    """Per partner, the (order, shipment) pairs routed to it (its carrier or warehouse)."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for order, shipment, partner, operator in world.query(
        "select order_id, shipment_id, partner_id, warehouse_operator"
        " from marts.fct_shipment_current_status"
    ):
        found[partner].add((order, shipment))
        if operator:
            found[operator].add((order, shipment))
    return found


def _token(world: ApiWorld, role: str) -> str:
    claims = {"customer": {"customer_id": "C-none"}, "partner": {"partner_id": "P-none"}}
    return world.token(role, **claims.get(role, {}))


def test_the_roles_are_the_issues() -> None:
    assert set(api_vars()["roles"]) == {"anon", "customer", "partner", "analyst", "ops", "auditor"}
    assert api_vars()["anon"] == "anon"


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_anon_reads_no_view(api_world: ApiWorld, view: str) -> None:
    response = api_world.get(view, limit="1")
    assert response.status_code == 401, response.text
    assert "permission denied" in response.json()["message"]


def test_anon_can_list_nothing_not_even_through_the_lookup(api_world: ApiWorld) -> None:
    # no order id or no token: not found, whatever else is asked
    for params in ({}, {"order_id": "1000001"}, {"tracking_token": ""}, {"order_id": "*"}):
        assert api_world.get("rpc/track", **params).status_code in (400, 404)
    wrong = api_world.get("rpc/track", order_id="1000001", tracking_token="0" * 24)
    assert wrong.status_code == 404
    assert "customer" not in wrong.text and "1000001" not in wrong.text


@pytest.mark.parametrize("role", ["customer", "partner", "analyst", "ops", "auditor"])
def test_each_role_reads_the_views_declared_for_it(api_world: ApiWorld, role: str) -> None:
    token = _token(api_world, role)
    for view, access in VIEWS.items():
        allowed = role in access["roles"]
        response = api_world.get(view, token, select=access["columns"][0], limit="1")
        assert response.status_code == (200 if allowed else 403), (role, view, response.text)


@pytest.mark.parametrize("role", ["analyst", "ops", "auditor"])
def test_roles_that_read_all_rows_see_every_row(api_world: ApiWorld, role: str) -> None:
    token = api_world.token(role)
    served = {}
    for view, access in VIEWS.items():
        if role not in access["roles"]:
            continue
        (count,) = api_world.query(f"select count(*) from api.{view}")[0]
        served[view] = len(api_world.rows(view, token, select=access["columns"][0]))
        assert served[view] == count, view
    assert served.get("orders", 0) > 0 or served.get("ledger_checkpoints") is not None


def test_a_customer_reads_exactly_their_orders(api_world: ApiWorld) -> None:
    customers = _orders_of_customers(api_world)
    customer, own = max(customers.items(), key=lambda item: len(item[1]))
    token = api_world.token("customer", customer_id=customer)
    assert {row["order_id"] for row in api_world.rows("orders", token)} == own
    for view in ("order_timeline", "shipments", "delivery_estimates"):
        served = {row["order_id"] for row in api_world.rows(view, token, select="order_id")}
        assert served and served <= own, view
    (timeline,) = api_world.query(
        "select count(*) from api.order_timeline where order_id = any(%s)", sorted(own)
    )[0]
    assert len(api_world.rows("order_timeline", token)) == timeline


def test_a_customer_cannot_widen_what_they_see(api_world: ApiWorld) -> None:
    customers = _orders_of_customers(api_world)
    (customer, own), (other, theirs) = sorted(customers.items())[:2]
    token = api_world.token("customer", customer_id=customer)
    other_order = sorted(theirs)[0]
    attempts = [
        {"customer_id": f"eq.{other}"},
        {"order_id": f"eq.{other_order}"},
        {"or": f"(customer_id.eq.{other},customer_id.eq.{customer})"},
        {"customer_id": "is.null"},
        {"customer_id": f"neq.{customer}"},
        {"order_id": "like.*"},
    ]
    for params in attempts:
        served = {row["order_id"] for row in api_world.rows("orders", token, **params)}
        assert served <= own, params
    # embedding another resource finds no relationship to follow, and serves nothing
    for select in ("*,shipments(*)", "order_id,order_timeline(*)", "*,orders!inner(*)"):
        response = api_world.get("orders", token, select=select)
        assert response.status_code == 400, (select, response.text)
        assert other_order not in response.text
    # a token with no customer id, or an empty one, sees no order at all
    for claims in ({}, {"customer_id": ""}):
        assert api_world.rows("orders", _forged(api_world, "customer", **claims)) == []


def test_a_partner_reads_exactly_what_is_routed_to_it(api_world: ApiWorld) -> None:
    routed = _routed(api_world)
    for partner in ("DHL", "UPS", "NORDLOG", "SAONELOG"):
        token = api_world.token("partner", partner_id=partner)
        pairs = routed[partner]
        assert pairs, partner
        shipments = api_world.rows("shipments", token)
        assert {(row["order_id"], row["shipment_id"]) for row in shipments} == pairs
        orders = api_world.rows("orders", token, select="order_id,canonical_status")
        assert {row["order_id"] for row in orders} == {order for order, _ in pairs}
        steps = api_world.rows("order_timeline", token, select="order_id,shipment_id")
        assert steps and {(row["order_id"], row["shipment_id"]) for row in steps} <= pairs


def test_a_partner_reading_another_partners_order_gets_nothing(api_world: ApiWorld) -> None:
    routed = _routed(api_world)
    dhl_orders = {order for order, _ in routed["DHL"]}
    ups_only = sorted({order for order, _ in routed["UPS"]} - dhl_orders)
    assert ups_only
    token = api_world.token("partner", partner_id="DHL")
    for view in ("orders", "shipments", "order_timeline", "delivery_estimates"):
        rows = api_world.rows(view, token, select="order_id", order_id=f"eq.{ups_only[0]}")
        assert rows == [], view
    assert api_world.get("order_exceptions", token, select="order_id").status_code == 403


def test_customer_ids_and_amounts_are_hidden_from_partners(api_world: ApiWorld) -> None:
    token = api_world.token("partner", partner_id="DHL")
    hidden = VIEWS["orders"]["hidden"]["partner"]
    assert set(hidden) == {"customer_id", "total_net_amount"}
    for select in ("*", "customer_id", "order_id,total_net_amount"):
        response = api_world.get("orders", token, select=select)
        assert response.status_code == 403, select
    for column in hidden:  # nor can a filter or an order on them tell anything
        response = api_world.get("orders", token, select="order_id", **{column: "not.is.null"})
        assert response.status_code == 403, column
    visible = [c for c in VIEWS["orders"]["columns"] if c not in hidden]
    rows = api_world.rows("orders", token, select=",".join(visible))
    assert rows and set(rows[0]) == set(visible)


def _forged(world: ApiWorld, role: str, secret: str | None = None, **claims: Any) -> str:
    """A token outside ``mint_token``'s checks (any role, any claims), signed with the home's
    secret unless another is given."""
    key = secret or get_secret(world.settings, JWT_SECRET)
    return jwt.encode({"role": role, **claims}, key, algorithm="HS256")


def test_tokens_the_api_refuses(api_world: ApiWorld) -> None:
    # minted as usual, an hour ago, for half an hour
    expired = mint_token(
        api_world.settings, "analyst", ttl=timedelta(minutes=30), now=time.time() - 3600
    )
    wrong_key = _forged(api_world, "analyst", secret="another-secret-of-at-least-32-characters")
    for token in (expired, wrong_key, "not-a-token", wrong_key[:-4] + "AAAA"):
        response = api_world.get("orders", token, select="order_id", limit="1")
        assert response.status_code == 401, (token, response.text)
    assert "expired" in api_world.get("orders", expired).json()["message"].lower()
    # roles a token may not switch to: the tracker, the authenticator, the server's owner
    for role in ("api_tracker", "authenticator", "postgres", "nobody"):
        response = api_world.get("orders", _forged(api_world, role), select="order_id")
        assert response.status_code in (400, 401, 403), (role, response.text)
        assert "order_id" not in response.text
