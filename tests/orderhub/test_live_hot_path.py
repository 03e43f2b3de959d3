"""The hot path: random pushed sequences - late, duplicated, contradictory, unmapped
versions, in random micro-batches - recomputed by the hot path leave the per-order marts
equal, row for row (build stamps aside), to a ``dbt run --full-refresh`` of the same raw
data; parallel workers on micro-batches of the same orders never leave a wrong status; a
worker killed mid-batch leaves its records pending and loses nothing; a change stored
while a worker holds its record is stored at once; a tracker's new versions alone (the
narrow path) leave the marts equal to a full refresh too; a worker's take locks no record
beyond its batch; a colour's selects not compiled yet are compiled outside the micro-batch."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from dbt_builds import database
from dbt_scenarios import unknown_batches
from hot_path_world import Version, drain, full_refresh, marts, pending, push, versions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderhub import recompute
from orderhub.live.hot_path import APPLICATION_NAME, HotPath, NotCompiled, session, take
from orderhub.live_tables import ensure_live_schema
from orderhub.recompute import CompiledModel, order_lock_name
from sandbox.changes import move_on
from sandbox.clock import iso, parse_instant
from sandbox.store import SandboxStore

POOL = versions(unknown_batches())
#: the order whose lock the tests hold, to stop a worker mid-batch
LOCKED = order_lock_name("1000001")


def test_the_hot_path_runs_the_compiled_dbt_selects(hot_models: list[CompiledModel]) -> None:
    models = hot_models
    assert models[0].name == "fct_order_status_events"
    names = [m.name for m in models]
    assert names.index("fct_order_timeline") < names.index("fct_order_current_status")
    assert names.index("fct_order_current_status") < names.index("fct_order_exceptions")
    events = models[0].select
    assert "source_record_key = any(cast(%(tms_records)s as text[]))" in events
    for model in models[1:]:
        assert "order_id = any(cast(%(orders)s as text[]))" in model.select


micro_batches = st.lists(
    st.lists(st.sampled_from(POOL), min_size=1, max_size=6), min_size=1, max_size=6
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=micro_batches)
def test_pushed_sequences_through_the_hot_path_equal_a_full_refresh(
    pg_server: str,
    hot_template: str,
    hot_models: list[CompiledModel],
    tmp_path_factory: pytest.TempPathFactory,
    sequence: list[list[Version]],
) -> None:
    with database(pg_server, template=hot_template) as url:
        push(url, sequence[:1])
        drain(url, hot_models)
        push(url, sequence[1:])
        drain(url, hot_models)
        hot = marts(url)
        full_refresh(url, tmp_path_factory.mktemp("hot-full"))
        assert hot == marts(url)


def test_parallel_workers_on_the_same_orders_equal_a_full_refresh(
    pg_server: str, hot_template: str, hot_models: list[CompiledModel], tmp_path: Path
) -> None:
    with database(pg_server, template=hot_template) as url:
        # every version on its own micro-batch, latest first: the orders' records arrive
        # late and out of order, and three workers take one record at a time in parallel
        push(url, [[version] for version in reversed(POOL)])
        drain(url, hot_models, workers=3, batch=1)
        hot = marts(url)
        full_refresh(url, tmp_path)
        assert hot == marts(url)


def test_a_worker_killed_mid_batch_loses_nothing(
    pg_server: str, hot_template: str, hot_models: list[CompiledModel], tmp_path: Path
) -> None:
    with database(pg_server, template=hot_template) as url:
        push(url, [POOL])
        before = pending(url)
        # hold one order's lock so the worker stops mid-batch, after taking the pending
        # records and rewriting their events, then end its session there
        blocker = psycopg.connect(url, autocommit=True)
        blocker.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (LOCKED,))
        hot = HotPath(url, lambda _colour: hot_models)
        failures: list[BaseException] = []

        def step() -> None:
            try:
                hot.step()
            except BaseException as error:
                failures.append(error)

        worker = threading.Thread(target=step)
        worker.start()
        _wait_for_lock_wait(blocker)
        blocker.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where application_name = %s",
            (APPLICATION_NAME,),
        )
        worker.join(timeout=30)
        blocker.close()
        assert failures and isinstance(failures[0], psycopg.OperationalError)
        assert pending(url) == before  # rolled back: every record is pending again
        drain(url, hot_models)
        hot_tables = marts(url)
        full_refresh(url, tmp_path)
        assert hot_tables == marts(url)


def test_selects_not_compiled_yet_are_compiled_outside_the_micro_batch(
    pg_server: str, hot_template: str, hot_models: list[CompiledModel]
) -> None:
    """The first micro-batch after a publish of a colour not compiled yet: it rolls back,
    the worker compiles with no transaction open (no publish lock, no record taken), and
    the next micro-batch takes the records."""
    with database(pg_server, template=hot_template) as url:
        push(url, [POOL])
        before = pending(url)
        states: list[tuple[psycopg.pq.TransactionStatus, int]] = []
        hot: HotPath

        def models(colour: str | None) -> list[CompiledModel]:
            if not states:
                conn = hot._connection()
                raise NotCompiled(
                    lambda: states.append((conn.info.transaction_status, pending(url)))
                )
            return hot_models

        hot = HotPath(url, models)
        assert hot.step() == 0
        assert states == [(psycopg.pq.TransactionStatus.IDLE, before)]
        assert hot.step() > 0


def test_a_record_changed_while_a_worker_holds_it_is_stored_at_once(
    pg_server: str, hot_template: str, hot_models: list[CompiledModel], tmp_path: Path
) -> None:
    """Storing a pushed change never waits for a hot-path transaction: a new version of a
    record a worker has taken (and holds, stopped on an order's lock) is stored and pending
    at once, and recomputed after the worker's batch; the marts equal a full refresh."""
    tracker = next(record for system, record in POOL if system == "tms")
    with database(pg_server, template=hot_template) as url:
        push(url, [POOL])
        blocker = psycopg.connect(url, autocommit=True)
        blocker.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (LOCKED,))
        worker = threading.Thread(target=HotPath(url, lambda _colour: hot_models).step)
        worker.start()
        try:
            _wait_for_lock_wait(blocker)
            held = pending(url)  # the worker holds what it took
            stored = threading.Thread(
                target=push, args=(url, [[("tms", {**tracker, "updated_at": _later(tracker)})]])
            )
            stored.start()
            stored.join(timeout=10)
            assert not stored.is_alive(), "storing waited for the hot-path transaction"
            assert pending(url) == held + 1
        finally:
            blocker.execute("select pg_advisory_unlock_all()")
            worker.join(timeout=60)
            blocker.close()
        drain(url, hot_models)
        hot = marts(url)
        full_refresh(url, tmp_path)
        assert hot == marts(url)


def _wait_for_lock_wait(conn: psycopg.Connection) -> None:
    for _ in range(300):
        waiting = conn.execute(
            "select count(*) from pg_stat_activity where application_name = %s"
            " and wait_event_type = 'Lock'",
            (APPLICATION_NAME,),
        ).fetchone()
        if waiting and waiting[0]:
            return
        time.sleep(0.05)
    raise AssertionError("the worker never waited for the order's lock")


def test_a_trackers_new_versions_alone_equal_a_full_refresh(
    pg_server: str,
    hot_template: str,
    hot_models: list[CompiledModel],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A tracker already derived gets only its new versions' events (each micro-batch a
    new detail, one a contradicting copy of the last); a version moving it to another
    order is derived whole. Either way the marts equal a full refresh."""
    added: list[set[str]] = []
    original = recompute.add_new_tracker_versions

    def spy(*args: Any) -> set[str]:
        done = original(*args)
        added.append(done)
        return done

    monkeypatch.setattr(recompute, "add_new_tracker_versions", spy)
    first = next(record for system, record in POOL if system == "tms" and record.get("reference"))
    store = SandboxStore({"tms": [first]})
    with database(pg_server, template=hot_template) as url:
        push(url, [[("tms", first)]])
        drain(url, hot_models)
        for _ in range(4):
            push(url, [[("tms", move_on(store, "tms", first["id"]) or {})]])
            drain(url, hot_models)
        assert any(first["id"] in done for done in added), "no tracker took the narrow path"
        latest = store.get("tms", first["id"]) or {}
        details = [*latest["tracking_details"]]
        details[-1] = {**details[-1], "message": "the same scan, told differently"}
        push(url, [[("tms", {**latest, "tracking_details": details})]])
        drain(url, hot_models)
        other = next(
            r["reference"] for s, r in POOL if s == "tms" and r["reference"] != first["reference"]
        )
        push(url, [[("tms", {**latest, "reference": other, "updated_at": _later(latest)})]])
        drain(url, hot_models)
        assert first["id"] not in added[-1], "a moved tracker is derived whole"
        hot = marts(url)
        full_refresh(url, tmp_path)
        assert hot == marts(url)


def _later(record: dict[str, Any]) -> str:
    return iso(int(parse_instant(record["updated_at"])) + 60)


@pytest.mark.parametrize("plan", ["index scan", "sort"])
def test_a_take_locks_no_record_beyond_its_batch(pg_server: str, plan: str) -> None:
    """A take tries the locks of the records it takes only, whatever the plan (the queue read
    by its index, or sorted): while one worker holds a batch of 5 of 300 pending records,
    another takes all the other 295 at once."""
    with database(pg_server) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            ensure_live_schema(conn)
            conn.execute(
                "insert into orderhub_meta.live_pending (system, record_key)"
                " select 'tms', 'trk_' || lpad(n::text, 3, '0') from generate_series(1, 300) n"
            )
        first, second = session(url), session(url)
        try:
            with first.transaction():
                if plan == "sort":
                    first.execute("set local enable_indexscan = off")
                    first.execute("set local enable_bitmapscan = off")
                taken = take(first, 5)
                assert sorted(key for _, key in taken) == [f"trk_{n:03}" for n in range(1, 6)]
                with second.transaction():
                    rest = take(second, 1000)
                    assert len(rest) == 295
                    assert not {key for _, key in rest} & {key for _, key in taken}
        finally:
            first.close()
            second.close()
