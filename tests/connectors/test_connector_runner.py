"""The runner's handling of the Airbyte protocol, with a scripted stand-in for the connector.

The stand-in is a tiny Python script put in place of ``source-declarative-manifest``: it
reports what it was given (file modes, its folder) and prints whatever the test asks for.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from connectors import runner
from connectors.errors import ConnectorError
from connectors.reporting import REJECTED_AFTER_REFRESH, RetryReporter, error_cause

SECRET = "tms-secret-value-42"
CONFIG = {
    "base_url": "http://127.0.0.1:9/tms",
    "api_key": SECRET,
    "start_date": "2020-01-01T00:00:00Z",
}

SCRIPT = """
import json, os, stat, sys, time
args = sys.argv[1:]
config = args[args.index("--config") + 1]
mode = stat.S_IMODE(os.stat(config).st_mode)
folder = os.path.dirname(config)
manifest = "__injected_declarative_manifest" in json.load(open(config))
print(json.dumps({"type": "RECORD", "record": {"stream": "trackers", "emitted_at": 1,
      "data": {"mode": mode, "folder": folder, "folder_mode": stat.S_IMODE(os.stat(folder).st_mode),
               "manifest": manifest, "catalog": "--catalog" in args}}}))
sys.stdout.flush()
for line in json.load(open(os.environ["FAKE_LINES"])):
    if line == "SLEEP":
        time.sleep(60)
    print(line)
sys.stderr.write(os.environ.get("FAKE_STDERR", ""))
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""


@pytest.fixture
def fake_connector(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "fake-connector"
    script.write_text(f"#!{sys.executable}\n{SCRIPT}")
    script.chmod(0o755)
    monkeypatch.setattr(runner, "connector_command", lambda launcher=runner.FAST: [str(script)])
    lines = tmp_path / "lines.json"
    lines.write_text("[]")
    monkeypatch.setenv("FAKE_LINES", str(lines))
    return lines


def say(lines: Path, *messages: Any) -> None:
    lines.write_text(json.dumps([m if isinstance(m, str) else json.dumps(m) for m in messages]))


def read_all(**kwargs: Any) -> list[dict[str, Any]]:
    with runner.read("tms", CONFIG, **kwargs) as messages:
        return list(messages)


def test_config_is_private_removed_and_carries_the_manifest(fake_connector: Path) -> None:
    messages = read_all()
    data = messages[0]["record"]["data"]
    assert data["mode"] == 0o600 and data["folder_mode"] == 0o700
    assert data["manifest"] and data["catalog"]
    assert not Path(data["folder"]).exists()


def test_logs_go_to_the_logger_masked_never_to_stdout(
    fake_connector: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    say(
        fake_connector,
        {"type": "LOG", "log": {"level": "WARN", "message": f"key {SECRET} looks odd"}},
        {"type": "LOG", "log": {"level": "INFO", "message": "hello"}},
        {"type": "STATE", "state": {"type": "STREAM"}},
    )
    with caplog.at_level(logging.DEBUG, logger="connectors.tms"):
        messages = read_all()
    assert [m["type"] for m in messages] == ["RECORD", "STATE"]
    levels = {(r.levelno, r.getMessage()) for r in caplog.records if r.name == "connectors.tms"}
    assert (logging.WARNING, "key **** looks odd") in levels
    assert (logging.INFO, "hello") in levels
    assert SECRET not in caplog.text
    assert capfd.readouterr().out == ""


def test_malformed_line_fails(fake_connector: Path) -> None:
    say(fake_connector, "this is not json", {"type": "STATE"})
    with pytest.raises(
        ConnectorError, match="tms failed: malformed Airbyte message on stdout line 2"
    ):
        read_all()


def test_non_zero_exit_names_the_status_and_masked_stderr(
    fake_connector: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_EXIT", "3")
    monkeypatch.setenv("FAKE_STDERR", f"Traceback: bad key {SECRET}")
    with pytest.raises(ConnectorError) as caught:
        read_all()
    assert "exited with status 3" in str(caught.value)
    assert "bad key ****" in str(caught.value) and SECRET not in str(caught.value)


def test_trace_error_is_the_cause(fake_connector: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    error = {"message": "TMS answered HTTP 401 Unauthorized: APIKEY.INACTIVE gone"}
    say(fake_connector, {"type": "TRACE", "trace": {"type": "ERROR", "error": error}})
    monkeypatch.setenv("FAKE_EXIT", "1")
    with pytest.raises(ConnectorError, match="tms failed: TMS answered HTTP 401"):
        read_all()


def test_timeout_stops_the_process(fake_connector: Path) -> None:
    say(fake_connector, "SLEEP")
    started = time.monotonic()
    with pytest.raises(ConnectorError, match="timed out after 1 s"):
        read_all(timeout=1)
    assert time.monotonic() - started < 15


def test_leaving_early_stops_the_process_and_cleans_up(fake_connector: Path) -> None:
    say(fake_connector, "SLEEP")
    with runner.read("tms", CONFIG) as messages:
        first = next(messages)
    folder = Path(first["record"]["data"]["folder"])
    assert not folder.exists()


def test_state_file_is_written_for_stored_state(
    fake_connector: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = tmp_path / "seen.json"
    monkeypatch.setattr(
        runner,
        "_write_private",
        _spy(runner._write_private, seen),
    )
    read_all(state={"trackers": {"updated_at": "2026-10-01T00:00:00Z"}})
    written = json.loads(seen.read_text())
    assert written["state.json"] == [
        {
            "type": "STREAM",
            "stream": {
                "stream_descriptor": {"name": "trackers"},
                "stream_state": {"updated_at": "2026-10-01T00:00:00Z"},
            },
        }
    ]
    catalog = written["catalog.json"]["streams"][0]
    assert catalog["sync_mode"] == "incremental" and catalog["cursor_field"] == ["updated_at"]


def _spy(write: Any, seen: Path) -> Any:
    def spy(path: Path, data: Any) -> None:
        write(path, data)
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == 0o600
        record = json.loads(seen.read_text()) if seen.exists() else {}
        if path.name != "config.json":
            record[path.name] = data
        seen.write_text(json.dumps(record))

    return spy


def test_retry_lines_count_the_attempts_of_one_request() -> None:
    said: list[str] = []
    reporter = RetryReporter("tms", 4, said.append)
    reporter.log(
        "UserDefinedBackoffException: Rate limit exceeded (HTTP 429). Retrying in 3 seconds."
    )
    reporter.log(
        "Caught retryable error 'Read timed out' after 2 tries. Waiting 4 seconds then retrying..."
    )
    reporter.progressed()  # a page came through
    reporter.log("UserDefinedBackoffException: Rate limit exceeded. Retrying in 1.5 seconds.")
    reporter.log("Marking stream trackers as RUNNING")  # not a retry
    assert said == [
        "tms: request failed (HTTP 429), attempt 1 of 4; retrying in 3 s",
        "tms: request failed (Read timed out), attempt 2 of 4; retrying in 4 s",
        "tms: request failed (no answer: connection refused, cut off or timed out), attempt 1 of 4;"
        " retrying in 1.5 s",
    ]


def test_a_new_requests_first_retry_is_attempt_one_even_before_its_records_arrive() -> None:
    """The connector's reader threads log a retry before the main thread has written the
    records of the pages before it; the wait (factor 0.05: 1.1 s, 1.2 s) names the attempt."""
    said: list[str] = []
    reporter = RetryReporter("crm", 4, said.append, factor=0.05)
    for wait in ("1.1", "1.2", "1.1", "1.1"):
        reporter.log(
            f"UserDefinedBackoffException: Rate limit exceeded. Retrying in {wait} seconds."
        )
    reporter.log("UserDefinedBackoffException: Rate limit exceeded. Retrying in 31 seconds.")
    assert [line.split("), ")[1] for line in said] == [
        "attempt 1 of 4; retrying in 1.1 s",
        "attempt 2 of 4; retrying in 1.2 s",
        "attempt 1 of 4; retrying in 1.1 s",
        "attempt 1 of 4; retrying in 1.1 s",
        "attempt 2 of 4; retrying in 31 s",  # a Retry-After wait: counted on from the last
    ]


def test_a_401_after_a_successful_refresh_is_said_as_such() -> None:
    internal = (
        "'GET' request to 'http://x/query' was rejected with status code '401' again after the"
        " OAuth token was refreshed; not refreshing again. Error handler message: 'CRM answered"
        " HTTP 401 Unauthorized: INVALID_SESSION_ID Session expired or invalid'"
    )
    cause = error_cause({"message": REJECTED_AFTER_REFRESH, "internal_message": internal})
    assert cause.startswith("CRM answered HTTP 401 Unauthorized: INVALID_SESSION_ID Session")
    assert "again right after the access token was refreshed successfully" in cause
    assert "rejected" not in cause.lower().replace("refreshed successfully", "")
    assert error_cause({"message": "ERP answered HTTP 400"}) == "ERP answered HTTP 400"
