"""Regenerate the audit vectors of docs/audit-vectors/ (see its README.md).

    uv run python docs/audit-vectors/generate.py                 # embedded PostgreSQL
    uv run python docs/audit-vectors/generate.py --database-url postgresql://...

In a fresh database: loads the records of ``inputs/records.json`` delivery by delivery
with the real loader (each batch extracted at the delivery's fixed time) and logs each
batch; builds the dbt project for real and logs its ``dbt_build`` event (crosswalk,
derivation spec, the orders' claims); logs a publish, signs a checkpoint, has the witness
cosign it. Then traces every order of the inputs into ``valid/<order>.json``, writes the
named tamperings of ``invalid/`` (each with the item its refusal must name), the keys to
trust (``keys.json``), the list of vectors (``manifest.json``) and the seeds the build
derived with (``inputs/seeds/``, which the dbt tests build the vectors with again), and the
crosswalk version of each crosswalk of ``crosswalk/`` (``crosswalk/roots.json``, which the
dbt model must compute too). Every vector is checked with ``ledger.bundle.verify_bundle``
before it is written.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from connectors.catalog import get_connector
from connectors.loader import Batch, BatchResult, StreamLoader
from connectors.schema import ensure_schema
from connectors.sync import batch_id
from ledger.bundle import BundleError, verify_bundle
from ledger.checkpoint import parse_body
from ledger.cosignature import Cosigner
from ledger.keys import load_or_create_signer, public_key_path
from ledger.log import ProvenanceLog
from ledger.note import split_note
from ledger.receipts import anchor_latest
from orchestration.anchoring import WITNESS_KEY_FILE, witness_anchor
from orchestration.dbt_run import build_and_log
from orchestration.provenance import extraction_event
from orderhub.audit import trace_order
from orderhub.crosswalk import crosswalk_version
from orderhub.provenance import PROVENANCE_KINDS
from orderhub.seeds import PROJECT_DIR
from orderhub.settings import SIGNING_KEY_FILE, Settings, disable_telemetry
from orderhub.warehouse import scratch_database

HERE = Path(__file__).resolve().parent
#: The seeds a build derives events and statuses with, copied beside the inputs.
SEEDS = ("status_crosswalk", "status_fields", "source_precedence", "clock_skew_tolerances",
         "locations")  # fmt: skip
#: The order whose bundle the tamperings start from, and the node it was delivered at.
TAMPERED_ORDER, DELIVERED_AT = "SO-V1", "Köln"


def load(url: str, system: str, records: list[dict[str, Any]], at: datetime) -> BatchResult:
    """``records`` as one batch of ``system``'s first stream extracted at ``at`` (what
    ``connectors.sync.load_records`` does, at a fixed extraction time)."""
    connector = get_connector(system)
    stream = connector.streams[0]
    batch = Batch(batch_id(system, stream.name, at), system, stream.name, at, None)
    loader = StreamLoader(url, connector, stream, batch)
    started = time.monotonic()
    try:
        loader.open_batch()
        for record in records:
            if not loader.add(record):
                raise ValueError(f"{system} record {record} does not fit its stream's schema")
        loader.commit({stream.cursor_field: at.isoformat()}, len(records))
        return loader.succeed(started, time.monotonic())
    except BaseException:
        loader.fail()
        raise
    finally:
        loader.close()


def build(url: str, home: Path, inputs: dict[str, Any]) -> dict[str, str]:
    """The warehouse of the vectors; the keys to trust."""
    settings = Settings(home=home, database_url=url)
    with psycopg.connect(url) as conn:
        ensure_schema(conn)
    signer = load_or_create_signer(settings.secrets_dir / SIGNING_KEY_FILE, settings.ledger_origin)
    with ProvenanceLog(url, settings.ledger_origin, signer, kinds=PROVENANCE_KINDS) as log:
        for delivery in inputs["deliveries"]:
            at = datetime.fromisoformat(delivery["extracted_at"])
            for system, records in delivery["records"].items():
                batch = load(url, system, records, at)
                log.append_event("extraction_batch", extraction_event(batch))
        build_and_log(url, log, home / "dbt")
        log.append_event("publish", {"schema": "api", "views": ["api_orders"], "run_id": "vectors"})
        log.checkpoint()
        _, failed = anchor_latest(log, [witness_anchor(settings, log, signer)])
        if failed:
            raise RuntimeError(f"the witness did not cosign: {failed}")
    witness = public_key_path(settings.secrets_dir / WITNESS_KEY_FILE).read_text().strip()
    return {"log_key": signer.verifier_key(), "witness_key": witness}


def _last(bundle: dict[str, Any], node: str) -> dict[str, Any]:
    return next(e for e in bundle["events"] if e["row"]["node"] == node
                and e["row"]["canonical_status"] == "delivered")  # fmt: skip


def _drop_record(bundle: dict[str, Any], position: int) -> None:
    del bundle["records"][position]
    bundle["events"] = [e for e in bundle["events"] if e["record"] != position]
    bundle["not_events"] = [n for n in bundle["not_events"] if n["record"] != position]
    for item in (*bundle["events"], *bundle["not_events"]):
        item["record"] -= item["record"] > position


def _swap_witness(bundle: dict[str, Any]) -> None:
    details = bundle["anchors"][0]["details"]
    stranger = Cosigner.generate(details["witness"])
    body = parse_body(split_note(bundle["log"]["checkpoint"])[0]).body()
    details["verifier_key"] = stranger.verifier_key()
    details["cosignature"] = stranger.cosign(body, details["timestamp"])


def _record_with(bundle: dict[str, Any], field: str) -> dict[str, Any]:
    return next(r for r in bundle["records"] if field in r["data"])


#: name -> (what it does, the tampering, the item its refusal names).
TAMPERINGS: dict[str, tuple[str, Callable[[dict[str, Any]], None], str]] = {
    "status_edited": (
        "the delivered scan's canonical_status edited to in_transit",
        lambda b: _last(b, DELIVERED_AT)["row"].update(canonical_status="in_transit"), "event #"),
    "node_edited": (
        "the delivered scan's node edited",
        lambda b: _last(b, DELIVERED_AT)["row"].update(node="Bonn"), "event #"),
    "event_id_edited": (
        "the delivered scan's event_id edited",
        lambda b: _last(b, DELIVERED_AT)["row"].update(event_id="0" * 32), "event #"),
    "event_dropped": (
        "the delivered scan taken out of events",
        lambda b: b["events"].remove(_last(b, DELIVERED_AT)), "event "),
    "event_dropped_with_its_record": (
        "the delivered scan taken out with the tracker version that carried it",
        lambda b: _drop_record(b, _last(b, DELIVERED_AT)["record"]), "claim: it names event"),
    "claim_status_edited": (
        "the order's claimed status edited",
        lambda b: b["claim"]["order"].update(canonical_status="in_transit"), "claim row #0"),
    "witness_key_swapped": (
        "the witness receipt names another key and carries that key's cosignature",
        _swap_witness, "anchors: no receipt is cosigned by the trusted witness key"),
    "float_changed": (
        "a float of a record's data changed in its last digit (0.1 to 0.10000000000000002)",
        lambda b: _record_with(b, "Weight")["data"].update(Weight=0.10000000000000002),
        "record #"),
    "non_ascii_normalised": (
        "a non-ASCII text of a record's data in another Unicode normal form (NFD)",
        lambda b: _record_with(b, "SoldToParty")["data"].update(
            SoldToParty="Mu\u0308ller & So\u0308hne GmbH"), "record #"),
    "large_integer_changed": (
        "a large integer of a record's data (2**53 - 1) changed by one",
        lambda b: _record_with(b, "CustomerNumber")["data"].update(
            CustomerNumber=9007199254740990), "record #"),
}  # fmt: skip


def write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def vectors(url: str, keys: dict[str, str], orders: list[str]) -> list[dict[str, Any]]:
    """Write every vector, checked; the manifest's entries."""
    trusted = {"witness_keys": [keys["witness_key"]]}
    manifest, bundles = [], {}
    with psycopg.connect(url) as conn:
        for order in orders:
            bundles[order] = bundle = trace_order(conn, order)
            verify_bundle(json.loads(json.dumps(bundle)), keys["log_key"], **trusted)
            write(HERE / "valid" / f"{order}.json", bundle)
            status = bundle["claim"]["order"]["canonical_status"]
            manifest.append(
                {"file": f"valid/{order}.json", "valid": True, "about": f"order {order}: {status}"}
            )
    for name, (about, tamper, expect) in TAMPERINGS.items():
        forged = copy.deepcopy(bundles[TAMPERED_ORDER])
        tamper(forged)
        try:
            verify_bundle(json.loads(json.dumps(forged)), keys["log_key"], **trusted)
        except BundleError as exc:
            if not str(exc).startswith(expect):
                raise RuntimeError(f"{name}: refused with {exc}, not {expect}") from exc
        else:
            raise RuntimeError(f"{name}: the tampered bundle verifies")
        write(HERE / "invalid" / f"{name}.json", forged)
        manifest.append({"file": f"invalid/{name}.json", "valid": False, "about": about,
                         "expect": expect})  # fmt: skip
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="server to create the scratch database on")
    args = parser.parse_args(argv)
    disable_telemetry()
    inputs = json.loads((HERE / "inputs" / "records.json").read_text(encoding="utf-8"))
    for folder in ("valid", "invalid"):
        shutil.rmtree(HERE / folder, ignore_errors=True)
    with (
        scratch_database(args.database_url, prefix="audit_vectors") as url,
        tempfile.TemporaryDirectory(prefix="audit-vectors-") as home,
    ):
        keys = build(url, Path(home), inputs)
        manifest = vectors(url, keys, inputs["orders"])
    write(HERE / "keys.json", keys)
    write(HERE / "manifest.json", {"vectors": manifest})
    for seed in SEEDS:
        target = HERE / "inputs" / "seeds" / f"{seed}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PROJECT_DIR / "seeds" / f"{seed}.csv", target)
    roots = {p.name: crosswalk_version(p) for p in sorted((HERE / "crosswalk").glob("*.csv"))}
    write(HERE / "crosswalk" / "roots.json", roots)
    print(f"{len(manifest)} vectors written to {HERE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
