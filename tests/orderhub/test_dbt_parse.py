"""dbt's parse carried from one invocation to the next (orderhub/dbt_parse.py), with real dbt:
a second invocation in another target folder, same project and vars, re-parses nothing;
other vars get a parse of their own."""

from __future__ import annotations

import json
from pathlib import Path

from orchestration.dbt_run import invoke_dbt
from orderhub.dbt_parse import PARTIAL_PARSE, cached_parse
from orderhub.seeds import PROJECT_DIR

#: dbt parse connects to nothing: any well-formed URL will do
URL = "postgresql://orderhub@127.0.0.1:1/orderhub"
DATABASE = "orderhub"
BLUE = ("--vars", '{"mart_colour": "blue"}')


def _parse(work: Path, *args: str) -> str:
    """dbt parse in ``work``; what it logged (the lines this invocation added)."""
    log = work / "logs" / "dbt.log"
    before = len(log.read_text()) if log.is_file() else 0
    result = invoke_dbt(URL, work, "parse", *args)
    assert result.success, result.exception
    return log.read_text()[before:]


def test_the_next_invocation_starts_from_the_parse_before_it(tmp_path: Path) -> None:
    cache = tmp_path / "parse"
    first = _parse(tmp_path / "first", *BLUE)
    assert "Starting full parse" in first
    kept = cached_parse(cache, PROJECT_DIR, BLUE, DATABASE)
    assert (
        kept.is_file()
        and kept.read_bytes() == (tmp_path / "first" / "target" / PARTIAL_PARSE).read_bytes()
    )

    second = _parse(tmp_path / "second", *BLUE)
    assert "Starting full parse" not in second
    assert "skipping partial parsing" in second

    other = ("--vars", '{"mart_colour": "green"}')
    assert cached_parse(cache, PROJECT_DIR, other, DATABASE) != kept
    assert "Starting full parse" in _parse(tmp_path / "third", *other)
    assert cached_parse(cache, PROJECT_DIR, other, DATABASE).is_file()

    # a folder used again with other vars starts from their kept parse, not from the one
    # it holds (the publish's compile folder, the tests' build folders)
    assert "skipping partial parsing" in _parse(tmp_path / "third", *BLUE)


def test_a_parse_is_not_carried_to_another_database(tmp_path: Path) -> None:
    """A parse names its target database in every node (the compiled SQL reads it): dbt
    would reuse one made against another database, so the kept parse is per database."""
    _parse(tmp_path / "first", *BLUE)
    other = invoke_dbt(URL.replace("/orderhub", "/elsewhere"), tmp_path / "second", "parse", *BLUE)
    assert other.success, other.exception
    log = (tmp_path / "second" / "logs" / "dbt.log").read_text()
    assert "Starting full parse" in log
    manifest = json.loads((tmp_path / "second" / "target" / "manifest.json").read_text())
    databases = {node["database"] for node in manifest["nodes"].values()}
    assert databases == {"elsewhere"}
