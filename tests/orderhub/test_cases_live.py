"""Cases on the live path, as a user runs it: ``orderhub serve`` with the sandbox pushing.
An unknown status code injected at the TMS becomes a case and an e-mail within seconds;
a silent source is caught by the sweep on the wall clock within about one sweep interval;
case events reach a webhook subscriber through the outbox; ``orderhub cases`` lists,
shows, acknowledges and resolves; every action has its provenance leaf."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
from cases_world import serving, wait
from cli_process import orderhub
from dbt_builds import database
from subscriber import Subscriber

from orderhub.cases.provenance import unlogged


def test_live_cases_alerts_subscribers_and_the_cli(
    pg_server: str, served_template: str, tmp_path: Path
) -> None:
    subscriber = Subscriber().start()
    with database(pg_server, template=served_template) as url:
        env = {"ORDERHUB_DATABASE_URL": url}
        added = orderhub(tmp_path, "subscriptions", "add", subscriber.url, "--exception-types",
                         "unmapped_status_code,silent_source", **env)  # fmt: skip
        assert added.returncode == 0, added.stderr
        subscriber.secret = added.stdout.split("signing secret (Standard Webhooks): ")[1].strip()
        with serving(url, tmp_path / "home", ORDERHUB_ALERTS_PER_MINUTE="1000") as served:
            moved = served.inject(3)
            orders = {m["order_id"] for m in moved}
            assert orders and None not in orders

            def mailed() -> set[str]:
                return {
                    subject.rsplit(" ", 1)[1]
                    for _, subject, _ in served.mailbox.mails
                    if " opened: unmapped_status_code " in subject
                }

            wait(lambda: orders <= mailed(), 30)
            # the ERP has sent nothing for three hours: the sweep (every second) finds it
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(
                    "update orderhub_meta.extraction_batches set"
                    " started_at = now() - interval '3 hours',"
                    " finished_at = now() - interval '3 hours' where system = 'erp'"
                )
            breached = time.time()
            wait(lambda: any("silent_source erp" in p["title"] for p, _ in served.hooks.posts), 10)
            arrived = next(t for p, t in served.hooks.posts if "silent_source erp" in p["title"])
            assert arrived - breached < 3.0  # within one sweep interval (1 s) and the alert

            def told() -> set[tuple[str, str]]:
                return {(p["type"], p.get("kind", "")) for _, p, _ in subscriber.received}

            wait(lambda: {("case.opened", "unmapped_status_code"),
                          ("case.opened", "silent_source")} <= told(), 20)  # fmt: skip
            listed = orderhub(tmp_path, "cases", "list", "--kind", "unmapped_status_code", **env)
            assert listed.returncode == 0, listed.stderr
            lines = listed.stdout.strip().splitlines()
            assert {line.split("\t")[5] for line in lines} == orders
            case_id = lines[0].split("\t")[0]
            acked = orderhub(tmp_path, "cases", "ack", case_id, "--as", "ana", **env)
            assert acked.stdout.strip() == f"case {case_id}: acknowledged", acked.stderr
            done = orderhub(tmp_path, "cases", "resolve", case_id, "--note", "mapped", **env)
            assert done.stdout.strip() == f"case {case_id}: resolved"
            refused = orderhub(tmp_path, "cases", "ack", case_id, **env)
            assert refused.returncode == 1
            assert "a resolved case cannot be acknowledged" in refused.stdout
            shown = orderhub(tmp_path, "cases", "show", case_id, **env).stdout
            assert [line.split()[-1] for line in shown.splitlines()[2:]][:2] == [
                "opened",
                "acknowledged",
            ]
            assert "resolved: mapped" in shown
            wait(lambda: ("case.resolved", "unmapped_status_code") in told(), 20)
        subscriber.stop()
        assert subscriber.bad_signatures == 0
        with psycopg.connect(url) as conn:  # the service stopped after logging every action
            assert unlogged(conn) == 0
