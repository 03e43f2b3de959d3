"""The one error the connectors package raises: a connector run that did not complete."""

from __future__ import annotations


class ConnectorError(RuntimeError):
    """A connector run failed; the message names the system, the stream and the cause.

    ``cause`` is the connector's own error message when it gave one (e.g. the API's 401
    answer), else what the runner saw (exit status, malformed output, missing STATE).
    """

    def __init__(self, system: str, cause: str, stream: str | None = None) -> None:
        self.system = system
        self.stream = stream
        self.cause = cause
        where = f"{system}.{stream}" if stream else system
        super().__init__(f"connector {where} failed: {cause}")

    def for_stream(self, stream: str) -> ConnectorError:
        """The same error, naming ``stream``."""
        if self.stream == stream:
            return self
        error = ConnectorError(self.system, self.cause, stream)
        error.__cause__ = self.__cause__
        return error

    @classmethod
    def from_warehouse(
        cls, system: str, error: Exception, doing: str, stream: str | None = None
    ) -> ConnectorError:
        """The warehouse failed ``doing`` something: the error's own message, on one line."""
        cause = " ".join(str(error).split()) or type(error).__name__
        return cls(system, f"the warehouse failed while {doing}: {cause}", stream)
