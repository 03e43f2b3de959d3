"""``orderhub crosswalk lint`` and the crosswalk library: the shipped seed is clean, and each
kind of defect is reported on one line naming the file, the line and what is wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orderhub.cli import main
from orderhub.crosswalk import DEFAULT_SEED, crosswalk_version, lint
from orderhub.vocabularies import SERVED


def test_the_shipped_crosswalk_is_clean_and_covers_the_sandbox(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert lint(DEFAULT_SEED, vocabularies=SERVED) == []
    assert main(["crosswalk", "lint"]) == 0
    out = capsys.readouterr().out
    assert "no problems" in out and crosswalk_version(DEFAULT_SEED) in out


def test_every_defect_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = tmp_path / "status_crosswalk.csv"
    shutil.copy(DEFAULT_SEED, seed)
    kept = [
        line
        for line in seed.read_text().splitlines()
        if not line.startswith("tms,tracker.status,error,")
    ]
    kept += [
        "erp,OverallSDProcessStatus,A,placed,accepting,active,10,false,,a second A",
        "wms,PICK.state,x,shipped,picking,reserved,31,false,,unknown status",
        "wms,PICK.state,y,processing,picking,weird,31,false,,unknown disposition",
        "tms,tracker.status,lost,cancelled,void_shipping,inactive,40,true,,low terminal",
        "tms,tracker.status,gone,problem,holding,unknown,45,true,,problem is not terminal",
        "crm,Order.displayFinancialStatus,X,placed,other,active,10,false,owed,bad payment",
    ]
    seed.write_text("\n".join(kept) + "\n")
    first = len(kept) - 5
    assert main(["crosswalk", "lint", "--seed", str(seed)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{seed}: not covered: (tms, tracker.status, error) (sandbox vocabulary)",
        f"{seed}:{first}: duplicate key (erp, OverallSDProcessStatus, A) (first on line 2)",
        f"{seed}:{first + 1}: unknown canonical status 'shipped' for (wms, PICK.state, x)",
        f"{seed}:{first + 2}: unknown CBV disposition 'weird' for (wms, PICK.state, y)",
        f"{seed}:{first + 3}: terminal status cancelled has rank 40, not above every "
        "non-terminal rank (highest 60) for (tms, tracker.status, lost)",
        f"{seed}:{first + 4}: problem is flagged terminal for (tms, tracker.status, gone)",
        f"{seed}:{first + 4}: terminal status problem has rank 45, not above every "
        "non-terminal rank (highest 60) for (tms, tracker.status, gone)",
        f"{seed}:{first + 5}: unknown payment state 'owed' for "
        "(crm, Order.displayFinancialStatus, X)",
    ]


def test_a_malformed_file_names_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = tmp_path / "status_crosswalk.csv"
    seed.write_text("source_system,source_field,source_code\nerp,X,A\n")
    assert main(["crosswalk", "lint", "--seed", str(seed), "--no-vocabularies"]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(f"{seed}:1: header must be source_system,source_field,")


def test_version_is_the_content_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["crosswalk", "version"]) == 0
    assert capsys.readouterr().out.strip() == crosswalk_version(DEFAULT_SEED)
    changed = tmp_path / "status_crosswalk.csv"
    changed.write_text(DEFAULT_SEED.read_text().replace("nothing rejected", "no rejection"))
    assert crosswalk_version(changed) != crosswalk_version(DEFAULT_SEED)
