"""Alerts for real: routed cases reach a local SMTP server (aiosmtpd) and a local webhook
receiver through apprise; rate limits, digests, escalations; and every action on a case
has its provenance leaf."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alert_receivers import Mailbox, WebhookReceiver

from ledger.keys import load_or_create_signer
from ledger.log import ProvenanceLog
from orderhub import cases
from orderhub.cases.alerts import Alerter
from orderhub.cases.provenance import log_actions, unlogged
from orderhub.provenance import CASE_ACTION_EVENT, PROVENANCE_KINDS
from orderhub.secrets import secret_path, write_private
from orderhub.settings import SIGNING_KEY_FILE, Settings


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


@pytest.fixture(scope="module")
def hooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def world(
    db_url: str, tmp_path: Path, mailbox: Mailbox, hooks: WebhookReceiver
) -> Iterator[tuple[Settings, psycopg.Connection[Any]]]:
    settings = Settings(
        home=tmp_path / "home", database_url=db_url, alerts_per_case_hour=2, alerts_per_minute=3
    )
    for name, url in (
        ("alerts-operations", mailbox.url("ops@example.com")),
        ("alerts-operations-lead", mailbox.url("lead@example.com")),
        ("alerts-review", hooks.url),
    ):
        write_private(secret_path(settings, name), url.encode())
    mailbox.mails.clear()
    hooks.posts.clear()
    with psycopg.connect(db_url, autocommit=True) as conn:
        cases.ensure_schema(conn)
        yield settings, conn


def _outcomes(conn: psycopg.Connection[Any]) -> dict[str, int]:
    return dict(conn.execute("select outcome, count(*) from cases.alerts group by 1").fetchall())


def test_alerts_by_mail_and_webhook(world: tuple[Settings, psycopg.Connection[Any]], db_url: str,
                                    mailbox: Mailbox, hooks: WebhookReceiver) -> None:  # fmt: skip
    settings, conn = world
    misroute = cases.raise_case(db_url, "misroute", "SO-1", {}, order_id="SO-1", condition="a")
    review = cases.raise_case(db_url, "manual_review", "SO-2", {}, condition="tag:x")
    silent = cases.raise_case(db_url, "silent_source", "erp", {})  # integration: no secret set
    alerter = Alerter(settings)
    assert alerter.step(conn, time.monotonic()) == 3
    assert alerter.step(conn, time.monotonic()) == 0  # each action alerted once
    assert [(to, subject) for to, subject, _ in mailbox.mails] == [
        (["ops@example.com"], f"[orderhub] case {misroute} opened: misroute SO-1")
    ]
    ((post, _),) = hooks.posts
    assert post["title"] == f"[orderhub] case {review} opened: manual_review SO-2"
    assert f"orderhub cases ack {review}" in post["message"]
    assert _outcomes(conn) == {"sent": 2, "no_target": 1}
    assert silent is not None
    # not acknowledged within its response target: escalated, and the lead is told
    conn.execute("update cases.cases set respond_by = now() where case_id = %s", (misroute,))
    conn.execute("select cases.sweep()")
    alerter.step(conn, time.monotonic())
    assert mailbox.mails[-1][:2] == (
        ["lead@example.com"],
        f"[orderhub] case {misroute} escalated: misroute SO-1",
    )


def test_rate_limits_and_digests(
    world: tuple[Settings, psycopg.Connection[Any]], db_url: str, mailbox: Mailbox
) -> None:
    settings, conn = world
    alerter = Alerter(settings)
    first = cases.raise_case(db_url, "misroute", "SO-1", {}, order_id="SO-1", condition="a")
    for _ in range(4):  # escalated again and again: at most 2 alerts an hour for one case
        conn.execute("update cases.cases set respond_by = now() where case_id = %s", (first,))
        conn.execute("select cases.sweep()")
    alerter.step(conn, time.monotonic())
    assert _outcomes(conn) == {"sent": 2, "rate_limited": 3}
    # a flood at one target: 3 a minute by mail, the rest in one digest
    for n in range(2, 10):
        cases.raise_case(db_url, "misroute", f"SO-{n}", {}, order_id=f"SO-{n}", condition="a")
    mailbox.mails.clear()
    alerter.step(conn, time.monotonic())
    assert len(mailbox.mails) == 2  # the opening of SO-1 was the first of 3 this minute
    assert alerter.flush_digests(conn) == 0  # not due yet
    assert alerter.flush_digests(conn, force=True) == 6
    assert [subject for _, subject, _ in mailbox.mails][2:] == ["[orderhub] digest of 6 alerts"]
    # low severities go out as a digest (case_routing.csv: warnings)
    cases.raise_case(db_url, "clock_skew", "SO-20", {}, severity="warning", condition="z")
    alerter.step(conn, time.monotonic())
    assert alerter.flush_digests(conn, force=True) == 1
    sent = conn.execute(
        "select count(distinct case_id) from cases.alerts where outcome in ('sent', 'digest_sent')"
    ).fetchone()
    assert sent == (10,)  # every case alerted, none lost


def test_every_action_has_its_leaf(
    world: tuple[Settings, psycopg.Connection[Any]], db_url: str
) -> None:
    settings, conn = world
    ids = [cases.raise_case(db_url, "run_failed", f"job-{n}", {}) for n in range(5)]
    cases.act(conn, ids[0] or 0, "acknowledge", "ana")
    cases.act(conn, ids[0] or 0, "resolve", "ana", note="rerun")
    cases.act(conn, ids[1] or 0, "dismiss", "ana", note="known")
    signer = load_or_create_signer(settings.secrets_dir / SIGNING_KEY_FILE, settings.ledger_origin)
    with ProvenanceLog(db_url, settings.ledger_origin, signer, kinds=PROVENANCE_KINDS) as log:
        assert log_actions(log, batch=4) == 4  # in batches
        assert log_actions(log) == 4
        assert log_actions(log) == 0
        assert unlogged(conn) == 0
        leaves = conn.execute(
            "select a.action_id, a.action, l.leaf_index from cases.case_actions as a"
            " join cases.action_leaves as l using (action_id) order by a.action_id"
        ).fetchall()
        assert len(leaves) == 8
        for action_id, action, index in leaves:
            event, _ = log.leaf(index)
            assert event["kind"] == CASE_ACTION_EVENT
            assert (event["payload"]["action_id"], event["payload"]["action"]) == (
                action_id,
                action,
            )
        assert log.leaf(leaves[-1][2])[0]["payload"]["note"] == "known"
