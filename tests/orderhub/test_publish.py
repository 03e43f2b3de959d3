"""Write-audit-publish through PostgREST: a bad build never reaches the API.

The generated scenario is built into blue and published; PostgREST serves it, read with
real tokens of every role. A second build goes to green; a deliberately bad row in it (a
status outside the vocabulary, a duplicated event, a negative quantity) fails a blocking
check, raises a case, and leaves every endpoint byte for byte as it was. Fixed, green is
published in one transaction: the api views read it. A change the live path made after
green's build started is still served after green is published (the publish rule,
:mod:`orderhub.publishing`), and a publish waits for a micro-batch holding the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from api_world import SCENARIO, ApiWorld, Built, served
from dbt_builds import build, database, load
from dbt_records import Batch
from dbt_worlds import extracted
from hot_path_world import pending, push

from orchestration import wap
from orchestration.dbt_run import FLOW_BUILD_EXCLUDES
from orderhub import publish_recompute, publishing
from orderhub.cases import open_cases
from orderhub.live.hot_path import HotPath
from orderhub.live.runtime import CompiledSelects
from orderhub.sources import API_SYSTEMS

API_MODELS = Path(__file__).resolve().parents[2] / "dbt_project/models/api/_api__models.yml"
VIEWS = [
    model["config"]["alias"]
    for model in yaml.safe_load(API_MODELS.read_text())["models"]
    if "alias" in model.get("config", {})
]
#: the api functions (/rpc/...): the models without an alias, named after the model
FUNCTIONS = [
    model["name"].removeprefix("api_")
    for model in yaml.safe_load(API_MODELS.read_text())["models"]
    if "alias" not in model.get("config", {})
]


def _build(url: str, work: Path) -> str:
    """A write-audit-publish build's write step: the colour it wrote."""
    colour, _ = wap.start_build(url)
    built = build(
        url, work, *FLOW_BUILD_EXCLUDES, "--exclude", wap.API_SELECTION,
        "--vars", wap.colour_vars(colour),
    )  # fmt: skip
    assert built.success, built.not_passing()
    return colour


@pytest.fixture(scope="module")
def world(pg_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    work = tmp_path_factory.mktemp("wap")
    with database(pg_server) as url:
        load(url, [Batch(s, extracted(1), SCENARIO.records(s)) for s in API_SYSTEMS])
        assert _build(url, work) == "blue"
        outcomes, published = wap.audit_and_publish(url, work)
        assert published is not None, [o for o in outcomes if not o.passed]
        assert published.colour == "blue"
        assert _build(url, work) == "green"
        with served(Built(url, work / "target" / "manifest.json"), work / "home") as served_world:
            yield served_world


def _readers(world: ApiWorld) -> dict[str, str]:
    customer, partner = world.query(
        "select (select customer_id from marts_blue.fct_order_current_status"
        "  where customer_id is not null order by 1 limit 1),"
        " (select partner_id from marts_blue.fct_shipment_current_status"
        "  where partner_id is not null order by 1 limit 1)"
    )[0]
    tokens = {role: world.token(role) for role in ("analyst", "ops", "auditor")}
    tokens["customer"] = world.token("customer", customer_id=customer)
    tokens["partner"] = world.token("partner", partner_id=partner)
    return tokens


def _served(world: ApiWorld) -> dict[tuple[str, str], bytes]:
    """Every endpoint's bytes, as each role reads it (and anonymously)."""
    found = {}
    for role, token in {"anonymous": None, **_readers(world)}.items():
        for view in VIEWS:
            response = world.get(view, token)
            found[(role, view)] = response.content + str(response.status_code).encode()
    return found


def _serving(world: ApiWorld) -> tuple[str | None, set[str]]:
    """The pointer's colour and the marts schemas the api views read."""
    with psycopg.connect(world.url) as conn:
        colour = publishing.published_colour(conn)
        schemas = conn.execute(
            "select distinct table_schema from information_schema.view_table_usage"
            " where view_schema = 'api' and table_schema like 'marts%'"
        ).fetchall()
    return colour, {row[0] for row in schemas}


def _bad_status(conn: psycopg.Connection[Any]) -> Callable[[], None]:
    """A status outside the vocabulary, written as a build writes: with a new stamp (the
    events suite reads the rows written since it last passed, quality.new_rows)."""
    event, status, stamp = conn.execute(
        "select event_id, canonical_status, built_at from marts_green.fct_order_status_events"
        " order by event_id limit 1"
    ).fetchone()
    conn.execute(
        "update marts_green.fct_order_status_events set canonical_status = 'teleported',"
        " built_at = clock_timestamp() where event_id = %s",
        (event,),
    )
    return lambda: conn.execute(
        "update marts_green.fct_order_status_events set canonical_status = %s, built_at = %s"
        " where event_id = %s",
        (status, stamp, event),
    )


def _duplicated_event(conn: psycopg.Connection[Any]) -> Callable[[], None]:
    """The first event again, under another id (the event id's unique index forbids the
    same id twice), with a new stamp as a build writes it."""
    columns = [
        row[0]
        for row in conn.execute(
            "select column_name from information_schema.columns where table_schema ="
            " 'marts_green' and table_name = 'fct_order_status_events' order by ordinal_position"
        )
    ]
    replaced = {"event_id": "'dup-' || event_id", "built_at": "clock_timestamp()"}
    copied = ", ".join(replaced.get(c, c) for c in columns)
    conn.execute(
        f"insert into marts_green.fct_order_status_events select {copied} from"
        " marts_green.fct_order_status_events order by event_id limit 1"
    )
    return lambda: conn.execute(
        "delete from marts_green.fct_order_status_events where event_id like 'dup-%'"
    )


def _negative_quantity(conn: psycopg.Connection[Any]) -> Callable[[], None]:
    key, units = conn.execute(
        "select ctid::text, units from marts_green.fct_daily_demand order by ctid limit 1"
    ).fetchone()
    conn.execute("update marts_green.fct_daily_demand set units = -3 where ctid = %s::tid", (key,))
    return lambda: conn.execute(
        "update marts_green.fct_daily_demand set units = %s where units = -3", (units,)
    )


BAD_ROWS = {
    "status outside the vocabulary": (_bad_status, "gx_canonical_events"),
    "duplicated event": (_duplicated_event, "gx_canonical_events"),
    "negative quantity": (_negative_quantity, "gx_daily_demand"),
}


@pytest.mark.parametrize("bad", sorted(BAD_ROWS))
def test_a_bad_build_leaves_the_api_byte_for_byte(
    world: ApiWorld, bad: str, tmp_path: Path
) -> None:
    corrupt, check = BAD_ROWS[bad]
    before = _served(world)
    assert _serving(world) == ("blue", {"marts_blue"})
    with psycopg.connect(world.url, autocommit=True) as conn:
        undo = corrupt(conn)
        try:
            outcomes, published = wap.audit_and_publish(world.url, tmp_path)
        finally:
            undo()
    assert published is None
    assert check in {o.name for o in outcomes if not o.passed}
    assert _serving(world) == ("blue", {"marts_blue"})
    assert _served(world) == before
    cases = {case["subject"]: case["detail"] for case in open_cases(world.url, "publish_blocked")}
    assert cases[check]["blocked"].startswith("publish of green")


def _live_change(url: str) -> str:
    """The live path, after green's build started: an order's new status in the published
    colour (blue), under the shared publish lock; the order."""
    with psycopg.connect(url) as conn, conn.transaction():
        publishing.hold_publish_lock(conn, shared=True)
        schema = publishing.published_schemas(conn).marts
        (order,) = conn.execute(
            f"select min(order_id) from {schema}.fct_order_current_status"
            " where canonical_status <> 'cancelled'"
        ).fetchone()
        conn.execute(
            f"update {schema}.fct_order_current_status set canonical_status = 'cancelled'"
            " where order_id = %s",
            (order,),
        )
    return str(order)


def test_publish_keeps_a_live_change_made_after_the_build(world: ApiWorld, tmp_path: Path) -> None:
    order = _live_change(world.url)
    token = world.token("analyst")
    assert world.rows("orders", token, order_id=f"eq.{order}")[0]["canonical_status"] == "cancelled"
    seen: list[tuple[datetime, str]] = []

    def engine(
        conn: psycopg.Connection[Any], after: datetime, into: publishing.ColourSchemas
    ) -> int:
        # stands in for the live path's per-order engine: the order it changed after the
        # watermark, recomputed into the colour being published
        seen.append((after, into.colour))
        conn.execute(
            f"update {into.marts}.fct_order_current_status set canonical_status = 'cancelled'"
            " where order_id = %s",
            (order,),
        )
        return 1

    unregister = publishing.register_recompute(engine)
    try:
        outcomes, published = wap.audit_and_publish(world.url, tmp_path)
    finally:
        unregister()
    assert published is not None, [o for o in outcomes if not o.passed]
    with psycopg.connect(world.url) as conn:
        watermark = publishing.build_watermark(conn, "green")
    assert seen == [(watermark, "green")] and published.recomputed_orders == 1
    assert _serving(world) == ("green", {"marts_green"})
    assert world.rows("orders", token, order_id=f"eq.{order}")[0]["canonical_status"] == "cancelled"
    assert world.query("select count(*) from marts.fct_order_current_status") == world.query(
        "select count(*) from marts_green.fct_order_current_status"
    )


def test_publish_waits_for_a_micro_batch_holding_the_lock(world: ApiWorld, tmp_path: Path) -> None:
    done = threading.Event()
    with psycopg.connect(world.url) as batch:
        publishing.hold_publish_lock(batch, shared=True)

        def publish() -> None:
            with psycopg.connect(world.url) as conn:
                publishing.publish(conn, "green", {})
            done.set()

        thread = threading.Thread(target=publish)
        thread.start()
        assert not done.wait(1.5)
        batch.rollback()
    thread.join(30)
    assert done.is_set()


def test_the_api_schema_holds_the_api_models_only(world: ApiWorld) -> None:
    found = world.query(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'api' and c.relkind = 'v'"
        " union select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
        " where n.nspname = 'api'"
    )
    assert {row[0] for row in found} == {*VIEWS, *FUNCTIONS}
    assert "track" in FUNCTIONS


def test_the_live_engine_recomputes_a_later_change_into_the_colour_it_publishes(
    world: ApiWorld, tmp_path: Path
) -> None:
    # the next build goes to the colour not published; after its watermark a new version
    # of a tracker arrives (as a push stores it) naming another order: publish_build's
    # recompute hook - dbt's compiled per-order selects for that colour - moves the
    # tracker's events there before the colour is served
    colour = _build(world.url, tmp_path)
    # with nothing stored after the build, making the hook runs no dbt compile
    publish_recompute.publish_hook(world.url, tmp_path / "idle", colour)
    assert not (tmp_path / "idle").exists()
    record = dict(SCENARIO.records("tms")[0])
    tracker, before = record["id"], record["reference"]
    after = world.query(
        f"select min(order_id) from marts_{colour}.fct_order_current_status where order_id <> %s",
        before,
    )[0][0]
    record.update(reference=after, updated_at="2026-10-30T00:00:00Z")
    load(world.url, [Batch("tms", datetime.now(UTC), [record])])
    published = wap.publish_build(world.url, tmp_path)
    assert published.colour == colour and published.recomputed_orders == 2
    assert (tmp_path / "recompute" / "target" / "manifest.json").is_file()
    rows = world.query(
        f"select distinct order_id, previous_order_ids from marts_{colour}.fct_order_status_events"
        " where source_system = 'tms' and source_record_key = %s",
        tracker,
    )
    assert rows == [(after, [before])]
    served_events = world.query(
        "select count(*) from marts.fct_order_status_events where order_id = %s"
        " and source_record_key = %s",
        after,
        tracker,
    )
    assert served_events[0][0] > 0


def _moved_on_tracker(world: ApiWorld, token: str) -> tuple[dict[str, Any], str]:
    """A tracker whose order the API serves in transit, as its carrier reports it an hour
    after the order's last event: delivered; and its order. From the last tracker on: the
    test before moves the first to another order."""
    for tracker in reversed(SCENARIO.records("tms")):
        details = tracker["tracking_details"]
        order = tracker["reference"]
        served_now = world.rows("orders", token, order_id=f"eq.{order}")
        if not served_now or served_now[0]["canonical_status"] != "in_transit":
            continue
        ((last,),) = world.query(
            "select max(event_time) from marts.fct_order_status_events where order_id = %s", order
        )
        later = (last + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        status = {"status": "delivered", "status_detail": "arrived_at_destination"}
        delivered = {**details[-1], **status, "message": "Delivered", "datetime": later}
        moved = {
            **tracker,
            **status,
            "updated_at": later,
            "tracking_details": [*details, delivered],
        }
        return moved, order
    raise AssertionError("the scenario has no order in transit")


def test_the_hot_path_recomputes_the_published_colour_after_another_was_built(
    world: ApiWorld, tmp_path: Path
) -> None:
    # `orderhub serve` after a publish, with the other colour built since (as a build whose
    # checks failed leaves it): the hot path recomputes into the published colour, reading
    # that colour's steps; a pushed tracker moves its order to delivered, PostgREST serves it
    with psycopg.connect(world.url) as conn:
        served_colour = publishing.published_colour(conn)
    assert _build(world.url, tmp_path) != served_colour
    token = world.token("analyst")
    tracker, order = _moved_on_tracker(world, token)
    push(world.url, [[("tms", tracker)]])
    worker = HotPath(world.url, CompiledSelects(world.url, tmp_path / "hot"))
    while worker.step():
        pass
    assert pending(world.url) == 0
    (served_row,) = world.rows("orders", token, order_id=f"eq.{order}")
    assert served_row["canonical_status"] == "delivered"
    (last_step,) = world.rows(
        "order_timeline", token, order_id=f"eq.{order}", order="step_number.desc", limit="1"
    )
    assert last_step["canonical_status"] == "delivered"
