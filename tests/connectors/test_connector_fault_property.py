"""Random combinations and timings of the sandbox's faults, over several syncs with kills in
between: a sync that succeeds lost nothing, one that fails says so and changes nothing.

The property and its ground truth are in :mod:`fault_property`; the suite runs a few examples
(settings profile ``connector-faults``), ``uv run python bench/connector_faults.py`` many
more. A failing example prints the case: its system, plan, seeds and kills.
"""

from __future__ import annotations

import pytest
from fault_property import SUITE, Case, cases, run_case
from hypothesis import example, given, note, settings

pytestmark = pytest.mark.timeout(600)


@settings(settings.get_profile(SUITE))
@given(case=cases())
@example(
    case=Case(  # the first report: a killed sync, then its last page served again
        system="erp",
        seed=7,
        page_size=3,
        faults=("duplicates:2@5", "late:300@3", "503@7"),
        kills=(4, None, None),
        fault_seed=1,
    )
)
@example(
    case=Case(  # the CRM pages by the server's query locator: changes and repeats mid-walk
        system="crm",
        seed=11,
        page_size=4,
        faults=("change:2@3", "duplicates:2@4", "503@6", "late:300@2"),
        kills=(5, None, None),
        fault_seed=3,
    )
)
@example(
    case=Case(  # the TMS reads its whole list by before_id: changes behind and ahead of it
        system="tms",
        seed=5,
        page_size=3,
        faults=("change:2@2", "duplicates:2@3", "late:300@4", "502@5"),
        kills=(6, None, None),
        fault_seed=2,
    )
)
@example(
    case=Case(  # the WMS pages Odoo's search_read by a (write_date, id) domain, no offset
        system="wms",
        seed=9,
        page_size=3,
        faults=("change:2@2", "short@3", "duplicates:2@5", "late:300@4", "503@6"),
        kills=(7, None, None),
        fault_seed=4,
    )
)
def test_no_sync_that_succeeds_has_lost_a_record(pg_server: str, case: Case) -> None:
    note(str(case))
    report = run_case(pg_server, case)
    note("; ".join(report.outcomes))
