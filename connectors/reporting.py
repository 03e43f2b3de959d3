"""What a connector says, turned into lines a person can follow while a sync runs.

airbyte-cdk logs a retry as one LOG line (``UserDefinedBackoffException: Rate limit exceeded
(HTTP 503). Retrying in 1.1 seconds.``, the same words for a 503 as for a 429, and no attempt
count): :class:`RetryReporter` turns each into a progress line naming what failed, the wait,
and the attempt out of how many the config allows, so a retry storm does not look like a
hang. A token refresh on a 401 is reported too.

:func:`error_cause` is the cause of a connector's TRACE error as the sync reports it. One
message of airbyte-cdk says more than it knows: when a request is answered 401 again after a
*successful* token refresh (the new token expired or was revoked again meanwhile, or lacks
access), it says "Refreshed OAuth access token is rejected by the API."; the cause given
instead says what happened, with the API's own answer from the error handler.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from connectors.catalog import ConnectorSpec

_RETRY = re.compile(
    r"^UserDefinedBackoffException: .*?(?:\(HTTP (?P<status>\d+)\))?\. "
    r"Retrying in (?P<wait>[0-9.]+) seconds\.$"
)
_DEFAULT_RETRY = re.compile(
    r"^Caught retryable error '(?P<error>.*)' after \d+ tries\. "
    r"Waiting (?P<wait>[0-9.]+) seconds then retrying\.\.\.$",
    re.DOTALL,
)
_REFRESHED = "Refreshed OAuth token due to REFRESH_TOKEN_THEN_RETRY response action"
#: airbyte-cdk's message for a request rejected again after a token refresh that succeeded.
REJECTED_AFTER_REFRESH = "Refreshed OAuth access token is rejected by the API."
_HANDLER_MESSAGE = re.compile(r"Error handler message: '(?P<message>.*)'$", re.DOTALL)
NO_ANSWER = "no answer: connection refused, cut off or timed out"


def max_attempts(connector: ConnectorSpec, config: Mapping[str, Any] | None) -> int:
    """How many times one request is tried: ``max_retries`` (the spec's default) plus one."""
    default = connector.connection_specification()["properties"]["max_retries"]["default"]
    return int((config or {}).get("max_retries", default)) + 1


def backoff_factor(connector: ConnectorSpec, config: Mapping[str, Any] | None) -> float | None:
    """The exponential backoff's factor (``backoff_factor``, else the spec's default)."""
    spec = connector.connection_specification()["properties"].get("backoff_factor")
    if spec is None:
        return None
    return float((config or {}).get("backoff_factor", spec.get("default", 5)))


def attempt_of_wait(wait: float, factor: float | None) -> int | None:
    """The attempt whose exponential backoff is ``wait``, if it is one.

    airbyte-cdk waits ``factor * 2**attempt`` plus one second and says only the wait; read
    back, it names the attempt exactly, which the order of the connector's lines cannot: a
    log line from a reader thread may overtake records queued before it. A wait taken from
    a ``Retry-After`` header fits no attempt and gives ``None``.
    """
    if not factor or factor <= 0 or wait <= 1:
        return None
    exponent = math.log2((wait - 1) / factor)
    attempt = round(exponent)
    return attempt if attempt >= 1 and abs(exponent - attempt) < 1e-6 else None


class RetryReporter:
    """Turns the connector's retry and token-refresh LOG lines into progress lines."""

    def __init__(
        self,
        system: str,
        attempts: int,
        progress: Callable[[str], None],
        factor: float | None = None,
    ) -> None:
        self.system = system
        self.attempts = attempts
        self.progress = progress
        self.factor = factor
        self._failed = 0

    def progressed(self) -> None:
        """A page came through (a RECORD or STATE): the next failure is a new request's."""
        self._failed = 0

    def log(self, message: str) -> None:
        """Report ``message`` if it is a retry or a token refresh."""
        if message == _REFRESHED:
            self.progress(
                f"{self.system}: the API rejected the access token (HTTP 401); fetched a new one,"
                " retrying"
            )
            return
        retry = _RETRY.match(message)
        if retry is not None:
            status = retry["status"]
            self._report(f"HTTP {status}" if status else NO_ANSWER, retry["wait"])
            return
        default = _DEFAULT_RETRY.match(message)
        if default is not None:
            self._report(default["error"], default["wait"])

    def _report(self, what: str, wait: str) -> None:
        self._failed = attempt_of_wait(float(wait), self.factor) or self._failed + 1
        self.progress(
            f"{self.system}: request failed ({what}), attempt {self._failed} of"
            f" {self.attempts}; retrying in {float(wait):g} s"
        )


def error_cause(error: Mapping[str, Any]) -> str:
    """The cause of a connector's TRACE ``error`` (its ``message``, said accurately)."""
    message = str(error.get("message") or "the connector reported an error")
    if message != REJECTED_AFTER_REFRESH:
        return message
    found = _HANDLER_MESSAGE.search(str(error.get("internal_message") or ""))
    answer = found["message"] if found else "HTTP 401"
    return (
        f"{answer} again right after the access token was refreshed successfully (the new"
        " token expired or was revoked meanwhile, or lacks access); a request is refreshed"
        " once, so the sync stops here and the next one resumes from the last committed state"
    )
