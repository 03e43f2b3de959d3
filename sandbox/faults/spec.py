"""The fault language: what an entry of a fault plan says, and its parser.

The grammar and the meaning of each kind are in the package docstring
(:mod:`sandbox.faults`); this module owns the list of kinds with their argument defaults,
:class:`Fault` (one entry, and whether it fires on a given request) and
:func:`parse_faults`, which rejects a bad entry with a :class:`FaultSpecError` naming it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from orderhub.sources import API_SYSTEMS

#: Every fault kind and the default of its argument (None: takes no argument; "": required).
KINDS: dict[str, str | None] = {
    "429": "1",
    "500": None,
    "502": None,
    "503": None,
    "504": None,
    "timeout": "30",
    "drop": None,
    "malformed": None,
    "missing_key": None,
    "duplicates": "3",
    "shuffle": None,
    "short": None,
    "late": "60",
    "change": "3",
    "new_field": "",
    "rename": "",
    "wrong_type": "",
    "offset": "+02:00",
    "expire": None,
    "delay": "1",
}
#: The systems whose bearer tokens expire (OAuth 2.0).
OAUTH_SYSTEMS = ("crm",)
_ENTRY = re.compile(
    r"^(?P<system>[a-z]+):(?P<kind>[a-z0-9_]+)(?::(?P<arg>[^@=]+))?"
    r"(?:@(?P<at>\d+)(?:x(?P<burst>\d+))?|=(?P<rate>[0-9.]+))?$"
)


_OFFSET = re.compile(r"^[+-](0\d|1[0-4]):[0-5]\d$")


class FaultSpecError(ValueError):
    """A fault plan entry that cannot be understood; the message names it."""


@dataclass(frozen=True)
class Fault:
    """One entry of a fault plan."""

    system: str
    kind: str
    arg: str | None = None
    at: int | None = None
    burst: int = 1
    rate: float | None = None

    def fires(self, seed: int, request: int) -> bool:
        """Whether this fault hits request number ``request`` (1-based) of its system."""
        if self.at is not None:
            return self.at <= request < self.at + self.burst
        if self.rate is not None:
            digest = hashlib.blake2b(
                f"{seed}/{self.system}/{self.kind}/{self.arg}/{request}".encode(), digest_size=8
            ).digest()
            return int.from_bytes(digest, "big") / 2**64 < self.rate
        return True

    @property
    def always(self) -> bool:
        """Whether this fault fires on every request (no ``@N`` and no ``=P``)."""
        return self.at is None and self.rate is None

    def number(self) -> float:
        """The argument as a number (seconds or a count)."""
        try:
            return float(self.arg or "0")
        except ValueError:
            raise FaultSpecError(f"{self}: {self.kind} takes a number, got {self.arg!r}") from None

    def __str__(self) -> str:
        text = f"{self.system}:{self.kind}" + (f":{self.arg}" if self.arg is not None else "")
        if self.at is not None:
            return text + f"@{self.at}" + (f"x{self.burst}" if self.burst != 1 else "")
        return text + (f"={self.rate:g}" if self.rate is not None else "")


def parse_faults(spec: str | None) -> list[Fault]:
    """The faults of a plan (see :mod:`sandbox.faults`); FaultSpecError names a bad entry."""
    return [_parse_entry(entry) for entry in (p.strip() for p in (spec or "").split(",")) if entry]


def _parse_entry(entry: str) -> Fault:
    match = _ENTRY.match(entry)
    if match is None:
        raise FaultSpecError(
            f"fault {entry!r}: expected system:kind[:arg][@N[xK]|=P], e.g. erp:429@3"
        )
    system, kind, arg = match["system"], match["kind"], match["arg"]
    if system not in API_SYSTEMS:
        raise FaultSpecError(f"fault {entry!r}: unknown system {system!r} (known: {API_SYSTEMS})")
    if kind not in KINDS:
        raise FaultSpecError(f"fault {entry!r}: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    default = KINDS[kind]
    if default is None and arg is not None:
        raise FaultSpecError(f"fault {entry!r}: {kind} takes no argument")
    if default == "" and not arg:
        raise FaultSpecError(f"fault {entry!r}: {kind} needs an argument")
    if kind == "rename" and (arg is None or arg.count("/") != 1 or "" in arg.split("/")):
        raise FaultSpecError(f"fault {entry!r}: rename takes old/new, e.g. rename:Status/State")
    if kind == "offset" and not (arg is None or _OFFSET.match(arg)):
        raise FaultSpecError(f"fault {entry!r}: offset takes a UTC offset, e.g. offset:+02:00")
    if kind == "expire" and system not in OAUTH_SYSTEMS:
        raise FaultSpecError(
            f"fault {entry!r}: only {', '.join(OAUTH_SYSTEMS)} use expiring tokens"
        )
    rate = float(match["rate"]) if match["rate"] is not None else None
    if rate is not None and not 0 < rate <= 1:
        raise FaultSpecError(f"fault {entry!r}: a probability is in (0, 1], got {rate}")
    at = int(match["at"]) if match["at"] is not None else None
    burst = int(match["burst"]) if match["burst"] is not None else 1
    if (at is not None and at < 1) or burst < 1:
        raise FaultSpecError(f"fault {entry!r}: request numbers and bursts start at 1")
    fault = Fault(system, kind, arg if arg is not None else default, at, burst, rate)
    if default is not None and default.replace(".", "", 1).isdigit():
        fault.number()  # numeric argument: fail now, not mid-request
    return fault
