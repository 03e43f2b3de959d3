"""``orderhub audit trace|verify|check|consistency|repair-trees`` as a user runs them
(in-process CLI)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from audit_warehouse import ORDER, AuditWarehouse, publish_payload

from orderhub.cli import main
from orderhub.settings import get_settings


@pytest.fixture
def home(audit_warehouse: AuditWarehouse, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The audited warehouse's home, as the settings of every command."""
    monkeypatch.setenv("ORDERHUB_HOME", str(audit_warehouse.settings.home))
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", audit_warehouse.url)
    get_settings.cache_clear()
    yield audit_warehouse.settings.home
    get_settings.cache_clear()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def traced(capsys: pytest.CaptureFixture[str], bundle: Path) -> Path:
    """``bundle``, written by ``orderhub audit trace ORDER --out bundle`` (which must succeed)."""
    code, out, err = run(capsys, "audit", "trace", ORDER, "--out", str(bundle))
    assert code == 0, out + err
    return bundle


def test_trace_then_verify_offline(
    home: Path,
    audit_warehouse: AuditWarehouse,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle = traced(capsys, tmp_path / "bundle.json")
    assert json.loads(bundle.read_text())["subject"] == {"order_id": ORDER}

    key_file = tmp_path / "log.pub"
    key_file.write_text(audit_warehouse.log_key + "\n")
    # offline: no database in the environment at all
    monkeypatch.delenv("ORDERHUB_DATABASE_URL")
    monkeypatch.setenv("ORDERHUB_HOME", str(tmp_path / "auditor"))
    get_settings.cache_clear()
    code, out, _ = run(
        capsys,
        "audit",
        "verify",
        str(bundle),
        "--key",
        str(key_file),
        "--witness-key",
        audit_warehouse.witness_key,
    )
    assert code == 0, out
    assert out.splitlines()[-1].startswith(f"VERIFIED: {bundle}")
    assert "cosignature/v1" in out


def test_verify_names_the_first_failure(
    home: Path,
    audit_warehouse: AuditWarehouse,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bundle = traced(capsys, tmp_path / "bundle.json")
    document = json.loads(bundle.read_text())
    document["records"][1]["data"]["OverallSDProcessStatus"] = "A"
    bundle.write_text(json.dumps(document))
    code, out, err = run(
        capsys, "audit", "verify", str(bundle), "--key", str(audit_warehouse.log_key_file)
    )
    assert code == 1
    assert err.startswith("FAILED: record #1 (raw_erp.sales_orders SO-1001): its data hashes to")
    assert "VERIFIED" not in out

    bundle.write_text("{not json")
    code, _, err = run(capsys, "audit", "verify", str(bundle), "--key", audit_warehouse.log_key)
    assert code == 1 and err.startswith(f"FAILED: {bundle}: not JSON")


def test_verify_refuses_a_status_edited_or_an_event_dropped(
    home: Path,
    audit_warehouse: AuditWarehouse,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The auditor's tries of issue 19: the last event's status edited, then the event
    dropped - both VERIFIED before the bundle proved the status itself."""
    bundle = traced(capsys, tmp_path / "bundle.json")
    original = json.loads(bundle.read_text())
    last = max(original["events"], key=lambda e: e["row"]["event_time"])
    assert last["row"]["canonical_status"] == "delivered"
    edited = json.loads(json.dumps(original))
    next(e for e in edited["events"] if e == last)["row"]["canonical_status"] = "in_transit"
    dropped = json.loads(json.dumps(original))
    dropped["events"].remove(last)
    for document, failure in (
        (edited, "canonical_status is 'in_transit', its record derives 'delivered'"),
        (dropped, "derived from the bundle's records but missing from its events"),
    ):
        bundle.write_text(json.dumps(document, ensure_ascii=False))
        code, out, err = run(
            capsys, "audit", "verify", str(bundle), "--key", audit_warehouse.log_key,
            "--witness-key", audit_warehouse.witness_key,
        )  # fmt: skip
        assert code == 1 and "VERIFIED" not in out
        assert err.startswith("FAILED: event ") and failure in err, err
        assert last["row"]["event_id"] in err


def test_trace_of_an_unknown_order_is_an_error(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "audit", "trace", "SO-404")
    assert code == 2
    assert err.strip() == (
        "orderhub audit: error: order 'SO-404' has no canonical event in "
        "marts.fct_order_status_events"
    )


def test_check_catches_a_row_edited_with_sql(
    home: Path, audit_warehouse: AuditWarehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "audit", "check")
    assert code == 0, out
    assert "OK: nothing changed since it was logged" in out
    with psycopg.connect(audit_warehouse.url) as conn:
        conn.execute(
            "update raw_erp.sales_orders set data = jsonb_set(data, '{TotalNetAmount}', '12')"
            " where record_key = %s",
            (ORDER,),
        )
    code, out, err = run(capsys, "audit", "check")
    assert code == 1
    changed = [line for line in out.splitlines() if line.startswith("CHANGED ")]
    assert changed[0].startswith(f"CHANGED raw_erp.sales_orders record_key={ORDER} content_hash=")
    assert "change(s) since logged" in err


def test_consistency_between_two_checkpoints(
    home: Path,
    audit_warehouse: AuditWarehouse,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ledger.keys import load_or_create_signer
    from ledger.log import ProvenanceLog
    from orderhub.provenance import PROVENANCE_KINDS
    from orderhub.settings import SIGNING_KEY_FILE

    old_bundle = traced(capsys, tmp_path / "old.json")
    settings = audit_warehouse.settings
    signer = load_or_create_signer(settings.secrets_dir / SIGNING_KEY_FILE, settings.ledger_origin)
    origin = settings.ledger_origin
    with ProvenanceLog(audit_warehouse.url, origin, signer, kinds=PROVENANCE_KINDS) as log:
        log.append_events([("publish", publish_payload(f"r{n}")) for n in range(3)])
        new_size = log.checkpoint().size

    proof = tmp_path / "consistency.json"
    code, out, _ = run(
        capsys, "audit", "consistency", str(old_bundle), str(new_size), "--out", str(proof)
    )
    assert code == 0, out
    assert out.startswith(f"checkpoint {new_size} extends checkpoint 5:")
    code, out, _ = run(capsys, "audit", "verify", str(proof), "--key", audit_warehouse.log_key)
    assert code == 0, out
    assert "extends the log at size 5" in out

    code, _, err = run(capsys, "audit", "consistency", str(new_size), "5")
    assert code == 2 and "give the older first" in err
    code, _, err = run(capsys, "audit", "consistency", "4", str(new_size))
    assert code == 2 and "no stored checkpoint of size 4" in err


def test_repair_trees_lets_an_old_home_trace_again(
    home: Path, audit_warehouse: AuditWarehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(audit_warehouse.url) as conn:  # batches logged before trees were kept
        conn.execute("delete from ledger.batch_trees")
    code, _, err = run(capsys, "audit", "trace", ORDER)
    assert code == 2
    assert err.startswith("orderhub audit: error: batch ")
    assert "has no stored Merkle tree" in err and "run `orderhub audit repair-trees`" in err

    code, out, _ = run(capsys, "audit", "repair-trees")
    assert code == 0, out
    assert out.splitlines()[-1] == "batch trees: 3 stored, 0 already right"
    code, out, _ = run(capsys, "audit", "repair-trees")
    assert (code, out.splitlines()[-1]) == (0, "batch trees: 0 stored, 3 already right")
    assert run(capsys, "audit", "trace", ORDER)[0] == 0

    with psycopg.connect(audit_warehouse.url) as conn:  # a batch's rows changed since
        conn.execute("delete from ledger.batch_trees")
        conn.execute("delete from raw_tms.trackers")
    code, out, _ = run(capsys, "audit", "repair-trees", "--all")
    assert code == 1
    refused = [line for line in out.splitlines() if line.startswith("NOT REPAIRED")]
    assert len(refused) == 1 and refused[0].startswith("NOT REPAIRED batch tms-trackers-")
    assert out.splitlines()[-1] == "batch trees: 2 stored, 0 already right, 1 refused"
