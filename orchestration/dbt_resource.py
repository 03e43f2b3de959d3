"""The dbt resource the flow's dbt assets run with.

dagster-dbt's ``DbtCliResource`` does two things before every dbt command that the flow
does not need, and together they cost more than the command itself on a small warehouse
(2026-12-07, two cores: 2.5 s of CPU, then 2-6 s):

- it runs ``dbt --version`` in a subprocess, once per resource, to learn which dbt it
  drives (dbt Core or the Fusion engine) - the subprocess imports all of dbt to print it;
- it loads every macro of dbt and the adapter in the orchestrating process, to hold an
  adapter with which a dbt asset may call ``fetch_row_counts()`` or
  ``fetch_column_metadata()``.

:class:`OrderhubDbtCli` answers the first from the installed ``dbt-core``'s metadata when
the executable is the one installed beside this interpreter (the same installation the
subprocess would report), and skips the second: the flow's assets fetch neither row counts
nor column metadata (the Fusion engine runs without that adapter too). With another dbt
executable it asks it, as dagster-dbt does.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version as installed_version
from typing import Any

from dagster_dbt import DbtCliResource
from packaging.version import Version

from orderhub.dbt_env import dbt_executable, is_bundled_dbt


class OrderhubDbtCli(DbtCliResource):
    """``DbtCliResource`` without the start-up work the flow does not use (see the module)."""

    @cached_property
    def _cli_version(self) -> Version:
        if is_bundled_dbt(self.dbt_executable):
            return Version(installed_version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        """No adapter: the flow's dbt assets never fetch row counts or column metadata."""
        return None


def dbt_resource(project: Any) -> OrderhubDbtCli:
    """The resource for the dbt project ``project`` (a ``DbtProject``)."""
    return OrderhubDbtCli(
        project_dir=project,
        profiles_dir=str(project.profiles_dir),
        dbt_executable=dbt_executable(),
    )


__all__ = ["OrderhubDbtCli", "dbt_resource"]
