"""Run a declarative connector the Airbyte way: a subprocess speaking the Airbyte protocol.

airbyte-cdk's declarative launcher is started with ``spec``, ``check --config C``, ``discover
--config C`` or ``read --config C --catalog K [--state S]``; the manifest travels inside the
config as ``__injected_declarative_manifest``. The launcher is ``python -m connectors.launch``
by default: ``source-declarative-manifest`` itself with an exact shortcut for the per-page
record lookup (see :mod:`connectors.launch`); ``launcher=AIRBYTE`` runs the console script
``source-declarative-manifest`` unchanged (the tests read every manifest through both).
Config, catalog and state are written owner-only (0600) in a private temporary folder that is
removed afterwards. The config holds credentials: it is never logged, and every credential
value is masked in whatever the connector says before it reaches a log or an error.

stdout is parsed line by line as Airbyte messages. LOG messages go to the Python logger
``connectors.<system>`` at their level (never to stdout); retries and token refreshes among
them also become progress lines (:mod:`connectors.reporting`) when the caller gives a
``progress`` callable. Every other message is handed to the caller as a dict, a TRACE error
with its cause masked and said accurately. A malformed line, a non-zero exit or a timeout
raises :class:`ConnectorError` naming the system and the cause (the connector's own TRACE
error message when it sent one). The connector process dies with the process that started
it (:mod:`connectors.process`).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from connectors import process as connector_process
from connectors.catalog import ConnectorSpec, get_connector
from connectors.errors import ConnectorError
from connectors.reporting import RetryReporter, backoff_factor, error_cause, max_attempts

EXECUTABLE = "source-declarative-manifest"
MANIFEST_KEY = "__injected_declarative_manifest"
#: ``source-declarative-manifest`` as airbyte-cdk installs it.
AIRBYTE = "airbyte"
#: ``python -m connectors.launch``: the same launcher with the exact record-lookup shortcut.
FAST = "fast"
_LEVELS = {
    "FATAL": logging.CRITICAL,
    "CRITICAL": logging.CRITICAL,
    "ERROR": logging.ERROR,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "INFO": logging.INFO,
    "DEBUG": logging.DEBUG,
    "TRACE": logging.DEBUG,
}
Message = dict[str, Any]


def connector_executable() -> str:
    """Path of ``source-declarative-manifest``: next to this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / EXECUTABLE
    if beside.exists():
        return str(beside)
    found = shutil.which(EXECUTABLE)
    if found is None:
        raise FileNotFoundError(f"{EXECUTABLE} not found next to {sys.executable} or on PATH")
    return found


def connector_command(launcher: str = FAST) -> list[str]:
    """The command that starts the declarative launcher (``FAST`` or ``AIRBYTE``)."""
    if launcher == AIRBYTE:
        return [connector_executable()]
    if launcher == FAST:
        return [sys.executable, "-m", "connectors.launch"]
    raise ValueError(f"unknown launcher {launcher!r} (expected {FAST!r} or {AIRBYTE!r})")


def _write_private(path: Path, data: Any) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(orjson.dumps(data))


def configured_catalog(connector: ConnectorSpec, streams: Sequence[str] | None = None) -> Message:
    """A ConfiguredAirbyteCatalog reading ``streams`` (default: all) incrementally."""
    definitions = {stream["name"]: stream for stream in connector.manifest().get("streams", [])}
    entries = []
    for name in streams or connector.stream_names:
        stream = connector.stream(name)
        schema = definitions.get(name, {}).get("schema_loader", {}).get("schema", {})
        entries.append(
            {
                "stream": {
                    "name": name,
                    "json_schema": schema,
                    "supported_sync_modes": ["full_refresh", "incremental"],
                    "source_defined_cursor": True,
                    "default_cursor_field": [stream.cursor_field],
                    "source_defined_primary_key": [[stream.primary_key]],
                },
                "sync_mode": "incremental",
                "cursor_field": [stream.cursor_field],
                "destination_sync_mode": "append_dedup",
                "primary_key": [[stream.primary_key]],
            }
        )
    return {"streams": entries}


def state_messages(state: Mapping[str, Mapping[str, Any]]) -> list[Message]:
    """Per-stream state blobs (as the connector emitted them) as a ``--state`` file body."""
    return [
        {
            "type": "STREAM",
            "stream": {"stream_descriptor": {"name": stream}, "stream_state": dict(blob)},
        }
        for stream, blob in state.items()
    ]


@dataclass
class Masker:
    """Replaces every credential value in a text with ``****``."""

    secrets: tuple[str, ...]

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "****")
        return text


class ConnectorProcess:
    """One running connector command; iterate :meth:`messages` to drive it."""

    def __init__(
        self,
        system: str,
        command: str,
        config: Mapping[str, Any] | None,
        *,
        catalog: Message | None = None,
        state: Mapping[str, Mapping[str, Any]] | None = None,
        logger: logging.Logger | None = None,
        timeout: float | None = None,
        launcher: str = FAST,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.connector = get_connector(system)
        self.system = system
        self.command = command
        self.launcher = launcher
        self.logger = logger or logging.getLogger(f"connectors.{system}")
        self.timeout = timeout
        self.trace_errors: list[str] = []
        self.returncode: int | None = None
        self._config = config
        self._catalog = catalog
        self._state = state
        secrets = (str((config or {}).get(name, "")) for name in self.connector.secret_fields)
        self.mask = Masker(tuple(s for s in secrets if len(s) >= 4))
        self.retries = (
            RetryReporter(
                system,
                max_attempts(self.connector, config),
                progress,
                backoff_factor(self.connector, config),
            )
            if progress is not None
            else None
        )
        self._timed_out = False

    def _arguments(self, folder: Path) -> list[str]:
        args = [*connector_command(self.launcher), self.command]
        if self._config is not None:
            config = dict(self._config)
            config[MANIFEST_KEY] = self.connector.manifest()
            _write_private(folder / "config.json", config)
            args += ["--config", str(folder / "config.json")]
        if self._catalog is not None:
            _write_private(folder / "catalog.json", self._catalog)
            args += ["--catalog", str(folder / "catalog.json")]
        if self._state:
            _write_private(folder / "state.json", state_messages(self._state))
            args += ["--state", str(folder / "state.json")]
        return args

    def messages(self) -> Iterator[Message]:
        """Start the process and yield its non-LOG messages; raise when it fails."""
        folder = Path(tempfile.mkdtemp(prefix=f"orderhub-{self.system}-"))
        process: subprocess.Popen[bytes] | None = None
        watchdog: threading.Timer | None = None
        try:
            stderr_path = folder / "stderr.log"
            with stderr_path.open("wb") as stderr:
                process = connector_process.start(
                    self._arguments(folder), folder, stderr, {**os.environ, "DO_NOT_TRACK": "1"}
                )
            self.logger.debug("started %s %s (pid %s)", EXECUTABLE, self.command, process.pid)
            assert process.stdout is not None
            if self.timeout is not None:
                watchdog = threading.Timer(self.timeout, self._kill_on_timeout, (process,))
                watchdog.daemon = True
                watchdog.start()
            yield from self._parse(process.stdout)
            self.returncode = process.wait()
            if self.returncode != 0:
                raise ConnectorError(self.system, self._failure(stderr_path))
        finally:
            if watchdog is not None:
                watchdog.cancel()
            if process is not None and process.poll() is None:
                connector_process.stop(process)
            if process is not None and process.stdout is not None:
                process.stdout.close()
            shutil.rmtree(folder, ignore_errors=True)

    def _kill_on_timeout(self, process: subprocess.Popen[bytes]) -> None:
        self._timed_out = True
        connector_process.stop(process)

    def _failure(self, stderr_path: Path) -> str:
        if self._timed_out:
            return f"{self.command} timed out after {self.timeout:g} s and was stopped"
        if self.trace_errors:
            return self.trace_errors[0]
        tail = stderr_path.read_text(errors="replace")[-2000:].strip()
        detail = f": {self.mask(tail)}" if tail else " and printed nothing on stderr"
        return f"{EXECUTABLE} {self.command} exited with status {self.returncode}{detail}"

    def _parse(self, stdout: IO[bytes]) -> Iterator[Message]:
        for number, line in enumerate(stdout, start=1):
            if line[:1].isspace() and not line.strip():  # a message starts with "{"
                continue
            try:
                message = orjson.loads(line)
            except orjson.JSONDecodeError:
                message = None
            if not isinstance(message, dict) or not isinstance(message.get("type"), str):
                snippet = self.mask(line[:200].decode(errors="replace"))
                raise ConnectorError(
                    self.system, f"malformed Airbyte message on stdout line {number}: {snippet!r}"
                )
            kind = message["type"]
            if kind == "LOG":
                self._log(message.get("log") or {})
                continue
            if kind == "TRACE":
                self._trace(message)
            elif self.retries is not None and kind in ("RECORD", "STATE"):
                self.retries.progressed()
            yield message

    def _log(self, log: Mapping[str, Any]) -> None:
        level = _LEVELS.get(str(log.get("level", "INFO")).upper(), logging.INFO)
        text = self.mask(str(log.get("message", "")))
        if self.logger.isEnabledFor(level):
            self.logger.log(level, "%s", text)
        if self.retries is not None:
            self.retries.log(text)

    def _trace(self, message: Message) -> None:
        """Note a TRACE error's cause, and put it in the message masked and said accurately."""
        trace = message.get("trace") or {}
        if trace.get("type") != "ERROR":
            return
        error = trace.get("error") or {}
        cause = self.mask(error_cause(error))
        self.trace_errors.append(cause)
        message["trace"] = {**trace, "error": {**error, "message": cause}}
        internal = error.get("internal_message")
        if internal:
            self.logger.debug("connector error detail: %s", self.mask(str(internal)))


@contextmanager
def read(
    system: str,
    config: Mapping[str, Any],
    *,
    state: Mapping[str, Mapping[str, Any]] | None = None,
    streams: Sequence[str] | None = None,
    logger: logging.Logger | None = None,
    timeout: float | None = None,
    launcher: str = FAST,
    progress: Callable[[str], None] | None = None,
) -> Iterator[Iterator[Message]]:
    """``read``: yields an iterator of RECORD/STATE/TRACE/... messages; stops it on exit.

    ``progress`` gets a line for each retry and token refresh of the connector."""
    connector = get_connector(system)
    process = ConnectorProcess(
        system,
        "read",
        config,
        catalog=configured_catalog(connector, streams),
        state=state,
        logger=logger,
        timeout=timeout,
        launcher=launcher,
        progress=progress,
    )
    messages = process.messages()
    try:
        yield messages
    finally:
        messages.close()


def _collect(process: ConnectorProcess, kind: str) -> Message:
    found: Message | None = None
    for message in process.messages():
        if message["type"] == kind:
            found = message
    if found is None:
        cause = process.trace_errors[0] if process.trace_errors else f"no {kind} message"
        raise ConnectorError(process.system, f"{process.command}: {cause}")
    return found


def spec(system: str, *, timeout: float | None = 120, launcher: str = FAST) -> Message:
    """The launcher's own SPEC (the manifest's is ``ConnectorSpec.connection_specification``)."""
    process = ConnectorProcess(system, "spec", None, timeout=timeout, launcher=launcher)
    return dict(_collect(process, "SPEC")["spec"])


@dataclass(frozen=True)
class CheckResult:
    """Outcome of ``check``: whether the connector reached the API, and why not."""

    succeeded: bool
    message: str | None


def check(
    system: str, config: Mapping[str, Any], *, timeout: float | None = 120, launcher: str = FAST
) -> CheckResult:
    """Run ``check``; a failed connection is a result, a crashed connector an error."""
    process = ConnectorProcess(system, "check", config, timeout=timeout, launcher=launcher)
    try:
        status = _collect(process, "CONNECTION_STATUS")["connectionStatus"]
    except ConnectorError as error:
        if process.trace_errors:
            return CheckResult(False, process.trace_errors[0])
        raise error
    succeeded = status.get("status") == "SUCCEEDED"
    message = status.get("message")
    return CheckResult(succeeded, process.mask(str(message)) if message else None)


def discover(
    system: str, config: Mapping[str, Any], *, timeout: float | None = 120, launcher: str = FAST
) -> Message:
    """Run ``discover`` and return the AirbyteCatalog (``{"streams": [...]}``)."""
    process = ConnectorProcess(system, "discover", config, timeout=timeout, launcher=launcher)
    return dict(_collect(process, "CATALOG")["catalog"])
