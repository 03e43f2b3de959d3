"""After each publish: anchor the signed checkpoint (``ledger/anchors``).

Each anchor configured in the settings (``ORDERHUB_ANCHORS``: witness, evm, fabric; see
:mod:`orchestration.anchoring`) records the latest checkpoint; each receipt (chain,
transaction, block) is stored in ``ledger.anchor_receipts`` and appended to the log as an
``anchor`` event, so the next checkpoint covers it. (The record tree of each extraction
batch, which audit traces read, is stored by the loader as the batch succeeds.)
"""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from ledger.receipts import anchor_latest
from orchestration.anchoring import configured_anchors
from orchestration.freshness import policy
from orchestration.resources import LedgerResource, WarehouseResource
from orderhub.settings import get_settings

ANCHORS_KEY = AssetKey(["ledger", "anchors"])
#: publish_assets.CHECKPOINT_KEY, named here so that loading this module parses no dbt project.
CHECKPOINT_KEY = AssetKey(["ledger", "checkpoint"])


@asset(
    key=ANCHORS_KEY,
    deps=[CHECKPOINT_KEY],
    group_name="ledger",
    kinds={"postgres"},
    owners=["team:data-platform"],
    freshness_policy=policy("ledger"),
    description=(
        "Anchor receipts of the latest checkpoint: a witness cosignature, an EVM "
        "transaction, a Fabric transaction (as configured in ORDERHUB_ANCHORS)."
    ),
)
def ledger_anchors(
    context: AssetExecutionContext, warehouse: WarehouseResource, ledger: LedgerResource
) -> MaterializeResult:
    settings = get_settings()
    signer = ledger.signer()
    with ledger.log(warehouse.url()) as log:
        anchors = configured_anchors(settings, log, signer)
        if not anchors:
            context.log.info("no anchor configured (ORDERHUB_ANCHORS is empty)")
            return MaterializeResult(metadata={"anchors": 0})
        done, failed = anchor_latest(log, anchors)
    for receipt, index in done:
        where = receipt.transaction or receipt.details.get("witness", "")
        block = f" block {receipt.block}" if receipt.block is not None else ""
        context.log.info(
            f"anchored checkpoint {receipt.tree_size} on {receipt.chain}: {where}{block} "
            f"(receipt is ledger leaf {index})"
        )
    if failed:
        reasons = "; ".join(f"{kind}: {why}" for kind, why in failed.items())
        raise RuntimeError(f"anchoring failed for {', '.join(failed)}: {reasons}")
    return MaterializeResult(
        metadata={
            "anchors": len(done),
            "tree_size": done[0][0].tree_size if done else 0,
            "receipts": ", ".join(
                f"{r.chain}:{r.transaction or r.details.get('timestamp', '')}" for r, _ in done
            ),
        }
    )
