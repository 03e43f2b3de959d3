"""The anchoring asset: after a publish, the checkpoint is anchored and the receipt recorded.

Runs the asset for real with ``dagster.materialize`` against a fresh database whose log
has a signed checkpoint, with the default anchors (the witness) and with none.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from dagster import materialize

from ledger.anchors import verify_receipt
from ledger.anchors.base import AnchorError
from ledger.checkpoint import parse_body
from ledger.log import ProvenanceLog
from ledger.note import split_note
from ledger.receipts import receipts_for
from orchestration.anchor_assets import ANCHORS_KEY, CHECKPOINT_KEY, ledger_anchors
from orchestration.anchoring import WITNESS_KEY_FILE, configured_anchors, witness_state_file
from orchestration.resources import LedgerResource, WarehouseResource
from orderhub.settings import Settings, get_settings

if TYPE_CHECKING:
    from audit_warehouse import AuditWarehouse


def publish_payload(run: str) -> dict[str, object]:
    """A ``publish`` event's payload, as the checkpoint asset writes it."""
    return {"schema": "api", "views": [], "run_id": run}


@pytest.fixture
def home(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("ORDERHUB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", db_url)
    monkeypatch.delenv("ORDERHUB_ANCHORS", raising=False)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def published(settings: Settings) -> ProvenanceLog:
    """The home's log with a few entries and a signed checkpoint (what publish leaves)."""
    log = LedgerResource().log(str(settings.database_url))
    log.append_events([("publish", publish_payload(f"r{n}")) for n in range(4)])
    log.checkpoint()
    return log


def run_asset(settings: Settings) -> bool:
    result = materialize(
        [ledger_anchors],
        resources={
            "warehouse": WarehouseResource(database_url=settings.database_url),
            "ledger": LedgerResource(),
        },
        raise_on_error=False,
    )
    return result.success


def test_the_asset_follows_the_checkpoint() -> None:
    assert ANCHORS_KEY.path == ["ledger", "anchors"]
    assert [d.asset_key for d in ledger_anchors.specs_by_key[ANCHORS_KEY].deps] == [CHECKPOINT_KEY]


def test_the_witness_anchors_each_publish(home: Settings) -> None:
    with published(home) as log:
        assert run_asset(home)
        latest = log.latest_checkpoint()
        assert latest is not None
        ((receipt, index),) = receipts_for(log.conn, latest.size, latest.root_hash)
        assert receipt.anchor == "witness" and index == latest.size
        witness_key = (home.secrets_dir / (WITNESS_KEY_FILE + ".pub")).read_text().strip()
        checkpoint = parse_body(split_note(latest.note)[0])
        assert verify_receipt(receipt, checkpoint, witness_key=witness_key)
        assert witness_state_file(home).exists()

        log.append_event("publish", publish_payload("r5"))
        log.checkpoint()
        assert run_asset(home), "the witness cosigns the next checkpoint after a consistency proof"
        assert log.leaf(log.tree_size() - 1)[0]["payload"]["details"]["previous_size"] == 4


def test_no_anchor_configured(home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERHUB_ANCHORS", "")
    get_settings.cache_clear()
    with published(get_settings()) as log:
        assert run_asset(get_settings())
        assert log.tree_size() == 4, "nothing anchored, nothing recorded"


def test_a_misconfigured_anchor_fails_the_asset_naming_what_is_missing(
    home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERHUB_ANCHORS", "witness,evm")
    get_settings.cache_clear()
    settings = get_settings()
    with published(settings) as log:
        with pytest.raises(AnchorError, match="ORDERHUB_EVM_RPC_URL"):
            configured_anchors(settings, log, LedgerResource().signer())
        assert not run_asset(settings)
    monkeypatch.setenv("ORDERHUB_ANCHORS", "fabric")
    get_settings.cache_clear()
    with published(get_settings()) as log, pytest.raises(AnchorError, match="FABRIC_GATEWAY"):
        configured_anchors(get_settings(), log, LedgerResource().signer())


def test_batch_trees_are_stored_as_batches_load(audit_template: AuditWarehouse) -> None:
    from orchestration.derived_state import CLAIMS_TREE_PREFIX
    from orderhub.warehouse import connect

    # the session's audit warehouse (load, log, build, publish, anchor), read as it is
    warehouse = audit_template
    with connect(warehouse.url) as conn:
        stored = dict(conn.execute("select batch_id, root_hash from ledger.batch_trees"))
    claims = [batch_id for batch_id in stored if batch_id.startswith(CLAIMS_TREE_PREFIX)]
    assert len(claims) == 1  # the one dbt build's order claims, stored beside the batches
    assert sorted(set(stored) - set(claims)) == sorted(b.batch_id for b in warehouse.batches)
    assert all(stored[b.batch_id].hex() == b.merkle_root for b in warehouse.batches)
