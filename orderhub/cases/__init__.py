"""Cases: exceptions that a team works, end to end (the ``cases`` schema).

- :mod:`.schema` and :mod:`.functions`: the tables, the append-only actions and the SQL
  that raises, acts on, detects and escalates cases - one lifecycle for every raiser;
- :mod:`.store`: the same from Python (``raise_case``, ``open_cases``, ``act``, ...);
- :mod:`.alerts`: routing's targets through apprise, deduplicated, rate-limited, digests;
- :mod:`.provenance`: each action a provenance leaf, appended in batches;
- :mod:`.workers`: the one-minute sweep, the alerter and the logger as workers of
  ``orderhub serve``.
"""

from orderhub.cases.schema import OPEN_STATES, ensure_schema
from orderhub.cases.store import ACTIONS, act, list_cases, open_cases, raise_case, show_case

__all__ = [
    "ACTIONS",
    "OPEN_STATES",
    "act",
    "ensure_schema",
    "list_cases",
    "open_cases",
    "raise_case",
    "show_case",
]
