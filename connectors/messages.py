"""Drive a run's stream loaders from the Airbyte protocol messages of its connector.

RECORD messages go to the loader of their stream, each STATE commits its stream's loader
(checking the record count it announces), and a TRACE error rolls every open checkpoint
back; :func:`load_messages` raises :class:`~connectors.errors.ConnectorError` when the run
failed or ended with records no STATE covered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from connectors.errors import ConnectorError

if TYPE_CHECKING:  # the loader imports this module
    from connectors.loader import StreamLoader

LOGGER = logging.getLogger("connectors.loader")


def load_messages(
    system: str,
    messages: Iterable[Mapping[str, Any]],
    loaders: Mapping[str, StreamLoader],
    progress: Callable[[str], None] | None = None,
    every: int = 10_000,
) -> None:
    """Drive ``loaders`` from a connector's messages; raise :class:`ConnectorError` on failure.

    On failure the open checkpoint of every stream is rolled back (the caller marks the
    batches failed). Messages after a TRACE error are drained but not loaded.
    """
    error: str | None = None
    seen = 0
    for message in messages:
        kind = message["type"]
        if kind == "RECORD" and error is None:
            record = message.get("record") or {}
            loader = loaders.get(record.get("stream", ""))
            if loader is None:
                LOGGER.warning(
                    "%s sent a record of unknown stream %r", system, record.get("stream")
                )
                continue
            loader.add(record.get("data") or {})
            seen += 1
            if progress is not None and seen % every == 0:
                progress(f"{system}: {seen} records received")
        elif kind == "STATE" and error is None:
            _checkpoint(system, message.get("state") or {}, loaders)
        elif (
            kind == "TRACE"
            and error is None
            and (message.get("trace") or {}).get("type") == "ERROR"
        ):
            error = str(((message["trace"].get("error") or {}).get("message")) or "error")
            for loader in loaders.values():
                loader.rollback()
    if error is not None:
        raise ConnectorError(system, error)
    for name, loader in loaders.items():
        if loader.uncommitted or not loader.checkpoints:
            raise ConnectorError(
                system,
                f"the connector ended without a STATE covering {loader.uncommitted} records",
                name,
            )


def _checkpoint(system: str, state: Mapping[str, Any], loaders: Mapping[str, StreamLoader]) -> None:
    if state.get("type", "STREAM") != "STREAM":
        raise ConnectorError(system, f"unsupported {state.get('type')} state message")
    stream = state.get("stream") or {}
    name = (stream.get("stream_descriptor") or {}).get("name", "")
    loader = loaders.get(name)
    if loader is None:
        LOGGER.warning("%s sent state for unknown stream %r", system, name)
        return
    blob = stream.get("stream_state")
    if not isinstance(blob, Mapping):
        raise ConnectorError(system, "a STATE message carries no stream_state", name)
    expected = (state.get("sourceStats") or {}).get("recordCount")
    loader.commit(blob, None if expected is None else int(expected))
