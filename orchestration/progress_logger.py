"""The ``progress`` Dagster logger: one readable line per step, check and message.

The CLI (``orderhub demo``) configures only this logger for its in-process run, so the
terminal shows progress instead of Dagster's full debug stream; runs launched from the UI
keep Dagster's default console logger.
"""

import logging

from dagster import InitLoggerContext, colored_console_logger, logger

from orderhub.progress import DagsterProgressHandler

LOGGER_NAME = "orderhub.progress.dagster"


@logger(description="One progress line per step, asset check and log message (for the CLI).")
def progress_logger(init_context: InitLoggerContext) -> logging.Logger:
    progress = logging.getLogger(LOGGER_NAME)
    progress.setLevel(logging.DEBUG)
    progress.propagate = False
    if not any(isinstance(h, DagsterProgressHandler) for h in progress.handlers):
        progress.addHandler(DagsterProgressHandler())
    return progress


#: The loggers every job gets: Dagster's console logger (the default) and ``progress``.
LOGGERS = {"console": colored_console_logger, "progress": progress_logger}
