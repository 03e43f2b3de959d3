"""Self-service tracking: ``/rpc/track`` for whoever holds an order's tracking token, the
tokens themselves (``orderhub.tracking``, ``orderhub token tracking``), ``orderhub track``
and ``orderhub token issue`` as a user runs them."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import httpx
import jwt
import psycopg
from api_world import ApiWorld
from cli_process import orderhub

from orderhub import tracking
from orderhub.client import OrderhubClient
from orderhub.secrets import get_secret


def _token(world: ApiWorld, order_id: str) -> str:
    with psycopg.connect(world.url) as conn:
        return tracking.tracking_token(conn, order_id)


def _order(world: ApiWorld, condition: str) -> str:
    rows = world.query(f"select order_id from marts.fct_order_current_status where {condition}")
    assert rows, condition
    return str(sorted(rows)[0][0])


def test_the_token_is_the_orders_hmac_with_the_home_secret(api_world: ApiWorld) -> None:
    secret = get_secret(api_world.settings, tracking.TRACKING_SECRET).encode()
    order_id = _order(api_world, "true")
    expected = hmac.new(secret, order_id.encode(), hashlib.sha256).digest()[:12].hex()
    assert _token(api_world, order_id) == expected
    # RFC 4231 test case 2: the SQL HMAC is HMAC-SHA256
    with psycopg.connect(api_world.url) as conn:
        (digest,) = conn.execute(
            "select api_private.hmac_sha256(%s, %s)", (b"Jefe", b"what do ya want for nothing?")
        ).fetchone()
    assert bytes(digest).hex() == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_the_lookup_shows_the_order_to_the_exact_node(api_world: ApiWorld) -> None:
    order_id = _order(
        api_world,
        "order_id in (select order_id from marts.fct_shipment_current_status"
        " where arrived_at is not null and carrier is not null)",
    )
    with OrderhubClient(api_world.base) as hub:
        found = hub.track(order_id, _token(api_world, order_id).upper())  # case is no secret
    assert found is not None
    (status,) = api_world.query(
        "select canonical_status from marts.fct_order_current_status where order_id = %s",
        order_id,
    )[0]
    assert found.status == status
    # the journey: the first step, then where the goods moved (no paperwork)
    kinds = {step.node_type for step in found.steps[1:]}
    assert "warehouse" in kinds and kinds & {"carrier_hub", "carrier_location"}
    assert kinds <= {"warehouse", "carrier_hub", "carrier_location"}
    warehouse = next(step for step in found.steps if step.node_type == "warehouse")
    assert warehouse.place in ("Warehouse Kassel", "Warehouse Dijon") and warehouse.city
    assert all(step.city for step in found.steps if step.node_type == "carrier_hub")
    assert [step.at for step in found.steps] == sorted(step.at for step in found.steps)
    assert found.promised_delivery_at and found.estimated_delivery_at and found.delivered_at
    assert found.parcels and found.parcels[0].carrier


def test_an_open_problem_is_told_in_plain_words(api_world: ApiWorld) -> None:
    order_id = _order(
        api_world,
        "order_id in (select order_id from marts.fct_order_exceptions"
        " where exception_type = 'stuck_beyond_sla')",
    )
    with OrderhubClient(api_world.base) as hub:
        found = hub.track(order_id, _token(api_world, order_id))
    assert found is not None
    (warning,) = [w for w in found.warnings if w["type"] == "stuck_beyond_sla"]
    assert warning["message"]["en"].startswith("Your order is taking longer than usual")
    assert "订单" in warning["message"]["zh-Hans"]
    # an internal exception (a code the crosswalk lacks) is not a customer's business
    unmapped = _order(
        api_world,
        "order_id in (select order_id from marts.fct_order_exceptions"
        " where exception_type = 'unmapped_status_code')",
    )
    with OrderhubClient(api_world.base) as hub:
        other = hub.track(unmapped, _token(api_world, unmapped))
    assert other is not None
    assert "unmapped_status_code" not in {w["type"] for w in other.warnings}


def test_a_wrong_token_and_an_unknown_order_look_the_same(api_world: ApiWorld) -> None:
    order_id = _order(api_world, "true")
    right = _token(api_world, order_id)
    wrong_token = right[:-1] + ("1" if right.endswith("0") else "0")  # one hex digit off
    wrong = api_world.get("rpc/track", order_id=order_id, tracking_token=wrong_token)
    unknown = api_world.get(
        "rpc/track", order_id="9999999", tracking_token=_token(api_world, "9999999")
    )
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()
    with OrderhubClient(api_world.base) as hub:
        assert hub.track(order_id, right[::-1]) is None
    # a token is for its order only
    other = _order(api_world, f"order_id <> '{order_id}'")
    assert api_world.get("rpc/track", order_id=other, tracking_token=right).status_code == 404
    # the lookup is the only function anon may call
    private = httpx.post(f"{api_world.base}/rpc/tracking_token", json={"order_id": order_id})
    assert private.status_code == 404


def test_orderhub_token_and_track_as_a_user_runs_them(api_world: ApiWorld, tmp_path: Path) -> None:
    home = str(api_world.settings.home_dir)
    env = {"ORDERHUB_HOME": home, "ORDERHUB_DATABASE_URL": api_world.url}
    order_id = _order(api_world, "canonical_status = 'delivered'")
    printed = orderhub(tmp_path, "token", "tracking", order_id, **env)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip() == _token(api_world, order_id)
    link = orderhub(tmp_path, "token", "tracking", order_id, "--link", **env)
    assert link.stdout.strip().endswith(
        f"/track#order={order_id}&token={_token(api_world, order_id)}"
    )

    tracked = orderhub(tmp_path, "track", order_id, "--url", api_world.base, **env)
    assert tracked.returncode == 0, tracked.stderr
    assert tracked.stdout.startswith(f"order {order_id}: delivered since ")
    assert "Warehouse" in tracked.stdout and "delivered" in tracked.stdout
    refused = orderhub(
        tmp_path, "track", order_id, "--token", "0" * 24, "--url", api_world.base, **env
    )
    assert refused.returncode == 2 and "no order" in refused.stderr

    issued = orderhub(
        tmp_path, "token", "issue", "--role", "partner", "--partner", "DHL", "--ttl", "1h", **env
    )
    assert issued.returncode == 0, issued.stderr
    secret = get_secret(api_world.settings, "api-jwt-secret")
    claims = jwt.decode(issued.stdout.strip(), secret, algorithms=["HS256"])
    assert claims["role"] == "partner" and claims["partner_id"] == "DHL"
    assert claims["exp"] - claims["iat"] == 3600
    rows = api_world.rows(
        "shipments", issued.stdout.strip(), select="partner_id,warehouse_operator"
    )
    assert rows and all("DHL" in (row["partner_id"], row["warehouse_operator"]) for row in rows)
    missing = orderhub(tmp_path, "token", "issue", "--role", "partner", **env)
    assert missing.returncode == 2 and "partner_id" in missing.stderr


def test_the_lookup_and_the_api_show_an_orders_co2e(api_world: ApiWorld) -> None:
    mine = _order(api_world, "customer_id is not null")
    (customer,) = api_world.query(
        "select customer_id from marts.fct_order_current_status where order_id = %s", mine
    )[0]
    theirs = _order(api_world, f"customer_id <> '{customer}'")
    with psycopg.connect(api_world.url) as conn:
        for order_id in (mine, theirs):
            conn.execute(
                "insert into fulfilment.order_emissions values"
                " (%s, 1, 2.5, 0.4321, 'electric_last_mile', 0.4, 0.0321, '2026.1')",
                (order_id,),
            )
    try:
        with OrderhubClient(api_world.base) as hub:
            found = hub.track(mine, _token(api_world, mine))
            assert found is not None and found.carbon is not None
            assert found.carbon["wtw_kg_co2e"] == 0.4321
            assert found.carbon["low_carbon_option"] == "electric_last_mile"
        token = api_world.token("customer", customer_id=str(customer))
        seen = {row["order_id"] for row in api_world.rows("order_emissions", token)}
        assert mine in seen and theirs not in seen  # a customer sees its own orders' CO2e
    finally:
        with psycopg.connect(api_world.url) as conn:
            conn.execute(
                "delete from fulfilment.order_emissions where order_id in (%s, %s)", (mine, theirs)
            )
