"""Alerts: tell a case's team through apprise, deduplicated, rate-limited, in digests.

An opening, re-opening or escalation queues its action in ``cases.unalerted``;
:meth:`Alerter.step` takes them (``for update skip locked``) and, per action:

- the target is the routing rule's apprise URL template (``target``; an escalation goes to
  ``escalate_target``) with each ``{secret:<name>}`` read from the secrets store - e-mail
  (``mailto://``), generic webhooks (``json://``), Slack, Microsoft Teams, DingTalk, WeCom,
  Feishu, whatever apprise reaches; a template whose secret is not set alerts nobody
  (outcome ``no_target``);
- deduplicated: one alert per action (the queue row is taken once);
- rate-limited per case: a case sends at most ``alerts_per_case_hour`` alerts an hour (the
  rest: ``rate_limited``); and per target: beyond ``alerts_per_minute`` a minute, alerts
  go into the target's digest (no storm of identical mails);
- a digest rule's cases (low severities) go into the digest too, sent once per
  ``alerts_digest_seconds`` as one message listing them (escalations never wait).

Each outcome is a row of ``cases.alerts`` (sent, failed, digested, rate_limited, no_target).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import apprise
import psycopg

from orderhub.secrets import read_secret
from orderhub.settings import Settings

LOGGER = logging.getLogger("orderhub.cases.alerts")
#: Queued actions one step takes at most.
BATCH = 500
_SECRET = re.compile(r"\{secret:([A-Za-z0-9_.-]+)\}")

_TAKE = """
with taken as (
    delete from cases.unalerted where action_id in (
        select action_id from cases.unalerted order by action_id limit %s for update skip locked)
    returning action_id
)
select a.action_id, a.action, c.case_id, c.kind, c.subject, c.severity, c.team,
    case when a.action = 'escalated' then c.escalate_target else c.target end,
    c.digest and a.action <> 'escalated', c.escalation_level, c.detail,
    (select count(*) from cases.alerts as s where s.case_id = c.case_id
        and s.outcome in ('sent', 'digested') and s.sent_at > now() - interval '1 hour')
from taken join cases.case_actions as a using (action_id) join cases.cases as c using (case_id)
order by a.action_id
"""


@dataclass(frozen=True)
class Alert:
    action_id: int
    action: str
    case_id: int
    kind: str
    subject: str
    severity: str
    team: str
    template: str | None
    digest: bool
    level: int
    detail: dict[str, Any]
    recent: int

    @property
    def title(self) -> str:
        what = "escalated" if self.action == "escalated" else self.action
        return f"[orderhub] case {self.case_id} {what}: {self.kind} {self.subject}"

    @property
    def body(self) -> str:
        return (
            f"case {self.case_id} ({self.severity}) for team {self.team}: {self.kind} on "
            f"{self.subject}; escalation level {self.level}. Act: orderhub cases ack "
            f"{self.case_id}"
        )


def expand(settings: Settings, template: str | None) -> str | None:
    """The template with its ``{secret:<name>}`` read from the secrets store (None when
    there is no template or one of its secrets is not set)."""
    if not template:
        return None
    missing: list[str] = []

    def secret(match: re.Match[str]) -> str:
        value = read_secret(settings, match.group(1))
        if value is None:
            missing.append(match.group(1))
        return value or ""

    url = _SECRET.sub(secret, template)
    return None if missing or not url.strip() else url.strip()


def send(url: str, title: str, body: str) -> str | None:
    """Notify ``url`` through apprise; None when it was sent, else the reason."""
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return "apprise does not understand the target URL"
    return None if notifier.notify(title=title, body=body) else "apprise could not deliver"


class Alerter:
    """Sends the queued alerts and the digests (one connection; see the module)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.counters = {"sent": 0, "failed": 0, "digested": 0, "rate_limited": 0, "no_target": 0}
        self._minute: dict[str, list[float]] = defaultdict(list)

    def _outcome(
        self, alert: Alert, url: str | None, now: float, earlier: int
    ) -> tuple[str, str | None]:
        if url is None:
            return "no_target", None
        if alert.recent + earlier >= self.settings.alerts_per_case_hour:
            return "rate_limited", None
        sent = [t for t in self._minute[url] if now - t < 60.0]
        self._minute[url] = sent
        if alert.digest or len(sent) >= self.settings.alerts_per_minute:
            return "digested", None
        sent.append(now)
        error = send(url, alert.title, alert.body)
        return ("sent", None) if error is None else ("failed", error)

    def step(self, conn: psycopg.Connection[Any], now: float) -> int:
        """Alert the queued actions; how many were taken."""
        with conn.transaction():
            alerts = [Alert(*row) for row in conn.execute(_TAKE, (BATCH,))]
            rows = []
            earlier: dict[int, int] = defaultdict(int)  # this batch's alerts per case
            for alert in alerts:
                url = expand(self.settings, alert.template)
                outcome, error = self._outcome(alert, url, now, earlier[alert.case_id])
                if outcome in ("sent", "digested"):
                    earlier[alert.case_id] += 1
                self.counters[outcome] += 1
                rows.append((alert.case_id, alert.action_id, alert.team, outcome, error))
                if outcome == "digested":
                    conn.execute(
                        "insert into cases.digest (action_id, case_id, target)"
                        " values (%s, %s, %s) on conflict do nothing",
                        (alert.action_id, alert.case_id, url),
                    )
            with conn.cursor() as cur:
                cur.executemany(
                    "insert into cases.alerts (case_id, action_id, team, outcome, error)"
                    " values (%s, %s, %s, %s, %s)",
                    rows,
                )
        return len(alerts)

    def flush_digests(self, conn: psycopg.Connection[Any], force: bool = False) -> int:
        """Send each target's digest once its oldest item waited the digest interval (or
        ``force``); how many cases the digests listed. A target that fails keeps its items
        for the next interval; the others are not held up."""
        due = conn.execute(
            "select target from cases.digest group by target having %s or min(queued_at)"
            " <= clock_timestamp() - make_interval(secs => %s)",
            (force, self.settings.alerts_digest_seconds),
        ).fetchall()
        listed = 0
        for (target,) in due:
            with conn.transaction():
                items = conn.execute(
                    "delete from cases.digest where target = %s returning case_id, action_id",
                    (target,),
                ).fetchall()
                cases = sorted({case_id for case_id, _ in items})
                body = "cases: " + ", ".join(str(c) for c in cases)
                error = send(target, f"[orderhub] digest of {len(items)} alerts", body)
                if error is not None:
                    LOGGER.warning("digest not delivered (%s); kept for the next one", error)
                    conn.execute(
                        "insert into cases.digest (action_id, case_id, target)"
                        " select action_id, case_id, %s from unnest(%s::bigint[], %s::bigint[])"
                        " as i(case_id, action_id)",
                        (target, [c for c, _ in items], [a for _, a in items]),
                    )
                    continue
                with conn.cursor() as cur:
                    cur.executemany(
                        "insert into cases.alerts (case_id, action_id, team, outcome)"
                        " select case_id, %s, team, 'digest_sent' from cases.cases"
                        " where case_id = %s",
                        [(action_id, case_id) for case_id, action_id in items],
                    )
                listed += len(items)
        return listed
