"""A pushed micro-batch whose second transaction never committed (a crash, a failure) is
closed the next time the intake's writer opens a session: its tree, status and ledger event
written then, so its records are proved like any other batch's; a writer without the
intake's lock closes none."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from live_world import SECRETS, live, sandbox_store

from ledger.batches import BatchTree, load_tree
from orderhub.audit.queries import batch_hashes
from orderhub.live.intake import PushLoader
from orderhub.live.intake_repair import INTAKE_LOCK
from sandbox.push import message


def fail_second_transactions(monkeypatch: pytest.MonkeyPatch, times: int) -> list[str]:
    """Make the intake's next ``times`` second transactions fail (after the first committed);
    the ids of the batches they left open."""
    original = PushLoader.succeed
    left: list[str] = []

    def succeed(self: PushLoader, started: float, now: float) -> Any:
        if len(left) < times:
            left.append(self.batch.batch_id)
            raise RuntimeError("the process died between the intake's two commits")
        return original(self, started, now)

    monkeypatch.setattr(PushLoader, "succeed", succeed)
    return left


def batch(url: str, batch_id: str) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "select status, merkle_root, records_new, finished_at is not null"
            " from orderhub_meta.extraction_batches where batch_id = %s",
            (batch_id,),
        ).fetchone()
    assert found is not None
    return found


def logged_batches(url: str) -> dict[str, dict[str, Any]]:
    """The ``extraction_batch`` events in the ledger, by batch id."""
    with psycopg.connect(url) as conn:
        bodies = [json.loads(bytes(r[0])) for r in conn.execute("select body from ledger.leaves")]
    events = [body.get("payload", body) for body in bodies]
    return {event["batch_id"]: event for event in events if "batch_id" in event}


def test_a_batch_left_open_is_closed_when_the_writer_connects_again(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    left = fail_second_transactions(monkeypatch, times=1)
    records = sandbox_store().records("tms")
    body, headers = message("tms", records[0], SECRETS["tms"])
    with live(db_url) as world:
        assert world.post("tms", body, headers).status_code == 503
        (open_id,) = left
        assert batch(db_url, open_id)[0] == "running"  # rows stored, no tree, no event
        assert open_id not in logged_batches(db_url)
        assert world.query("select batch_id from raw_tms.trackers") == [(open_id,)]

        # the failure closed the writer's session; the next micro-batch opens one
        assert world.push("tms", records[1]).status_code == 200
        assert world.intake.counters["batches_closed"] == 1
        status, root, new, finished = batch(db_url, open_id)
        with psycopg.connect(db_url) as conn:
            tree = load_tree(conn, open_id)
            rebuilt = BatchTree(batch_hashes(conn, "raw_tms", "trackers", open_id))
        assert (status, new, finished) == ("succeeded", 1, True)
        assert tree is not None and tree.root().hex() == root == rebuilt.root().hex()
        event = logged_batches(db_url)[open_id]
        assert (event["merkle_root"], event["records_stored"]) == (root, 1)

        # the sender pushes again: a redelivery, nothing new stored
        assert world.post("tms", body, headers).status_code == 200
        assert world.intake.counters["duplicates"] == 1
        assert world.query("select count(*) from raw_tms.trackers") == [(2,)]


def test_a_writer_without_the_intake_lock_closes_no_batch(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    left = fail_second_transactions(monkeypatch, times=1)
    records = sandbox_store().records("crm")
    with psycopg.connect(db_url, autocommit=True) as other:
        # another intake's writer holds the lock, and may be between its two commits
        assert other.execute("select pg_try_advisory_lock(%s)", (INTAKE_LOCK,)).fetchone()
        with live(db_url) as world:
            assert world.push("crm", records[0]).status_code == 503
            assert world.push("crm", records[1]).status_code == 200
            assert world.intake.counters["batches_closed"] == 0
            assert batch(db_url, left[0])[0] == "running"
    # that writer gone, the next one to connect closes it
    with live(db_url) as world:
        assert world.push("crm", records[2]).status_code == 200
        assert world.intake.counters["batches_closed"] == 1
        assert batch(db_url, left[0])[0] == "succeeded"
