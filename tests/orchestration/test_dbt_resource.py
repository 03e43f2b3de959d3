"""The flow's dbt resource: the dbt version without a subprocess, no adapter."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from orchestration.dbt_assets import PROJECT, dbt_resource
from orchestration.dbt_resource import OrderhubDbtCli
from orderhub.dbt_env import dbt_executable


def test_the_version_is_the_one_the_bundled_dbt_reports() -> None:
    printed = subprocess.run(
        [dbt_executable(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    reported = re.search(r"(\d+\.\d+\.\d+)", printed)
    assert reported is not None, printed
    assert str(dbt_resource()._cli_version) == reported.group(1)


def test_another_dbt_executable_is_asked_for_its_version(tmp_path: Path) -> None:
    fake = tmp_path / "dbt"
    fake.write_text("#!/bin/sh\necho 'Core:'\necho '  - installed: 2.0.7'\n")
    fake.chmod(0o755)
    resource = OrderhubDbtCli(
        project_dir=PROJECT, profiles_dir=str(PROJECT.profiles_dir), dbt_executable=str(fake)
    )
    assert str(resource._cli_version) == "2.0.7"


def test_no_adapter_is_loaded_before_a_command() -> None:
    assert dbt_resource()._initialize_dbt_core_adapter(["build"]) is None
