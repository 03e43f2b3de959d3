"""dbt assets: the canonical model into the unpublished colour, then (after the checks)
the publish of the ``api`` views.

Write-audit-publish (:mod:`orchestration.wap`): ``canonical_models`` builds staging →
marts into the colour not published (``marts_blue`` or ``marts_green``) with their dbt
tests; the Great Expectations suites and the guards on that colour are blocking checks;
only then does ``api_views`` publish it - the api views and the ``marts`` views repointed
at it and the pointer flipped in one transaction - and run the api views' dbt tests. Each
dbt build records a ``dbt_build`` provenance event (:mod:`orchestration.derived_state`:
with the crosswalk, the derivation spec and, after the canonical build, the orders'
claims it derived, read from the colour it built).
"""

import json
import os
import uuid
from collections.abc import Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetsDefinition,
    AssetSpec,
    MaterializeResult,
    Output,
)
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from orchestration import wap
from orchestration.dbt_project import DBT_PROJECT_DIR, dbt_project, set_dbt_environment
from orchestration.dbt_resource import OrderhubDbtCli
from orchestration.dbt_resource import dbt_resource as resource_for
from orchestration.dbt_run import FLOW_BUILD_EXCLUDES
from orchestration.derived_state import log_dbt_build
from orchestration.freshness import policy
from orchestration.resources import LedgerResource, WarehouseResource
from orderhub.dbt_parse import partial_parse
from orderhub.publishing import ColourSchemas
from orderhub.settings import get_settings

API_SELECTION = wap.API_SELECTION
#: dbt sources that other stages write and the models only read: the api views read the
#: forecasts, the fulfilment decisions and the checkpoints (depending on those assets would
#: make a cycle), the SLA clock reads the connectors' batch bookkeeping (no asset of its own).
_READ_ONLY_SOURCES = ("ml", "fulfilment", "ledger", "orderhub_meta")

PROJECT = dbt_project(get_settings())


def model_key(name: str) -> AssetKey:
    """Asset key of the dbt model ``name`` (its model name, not its alias or folder)."""
    return AssetKey([name])


class OrderhubTranslator(DagsterDbtTranslator):
    """Model keys by model name, source keys by ``[schema, table]``; owners on every asset.

    A source's key is the key of the asset that writes it (``raw_erp/sales_orders`` is the
    ERP connector's asset), so the graph runs connectors → dbt without extra wiring. No
    model depends on the read-only ``ml``/``ledger``/``orderhub_meta`` sources in the graph
    (that would be a cycle, or a dependency on no asset).
    """

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
        return model_key(dbt_resource_props["name"])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return "api" if len(fqn) > 1 and fqn[1] == "api" else "canonical_model"

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        deps = [d for d in spec.deps if d.asset_key.path[0] not in _READ_ONLY_SOURCES]
        return spec.replace_attributes(
            deps=deps,
            owners=["team:data-platform"],
            freshness_policy=policy(spec.group_name or "canonical_model"),
        )


#: Source tests (keys and freshness of the raw tables) run as checks on the connector assets.
TRANSLATOR = OrderhubTranslator(DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True))


def _events(
    context: AssetExecutionContext, dbt: DbtCliResource, args: Sequence[str], **options: Any
) -> Generator[Any, None, Any]:
    """The events of ``dbt args`` run by Dagster (then the invocation, as the generator's
    value), with the parse of the run before it
    (:func:`orderhub.dbt_parse.partial_parse`): each invocation writes to a target folder
    of its own, as Dagster names them, under the home's ``dbt/runs``."""
    name = f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-{uuid.uuid4().hex[:7]}"
    target = Path(os.environ["DBT_TARGET_PATH"]) / name
    cache = get_settings().home_dir / "dbt" / "parse"
    database = os.environ["ORDERHUB_PGDATABASE"]  # set_dbt_environment's
    with partial_parse(cache, DBT_PROJECT_DIR, args, target, database):
        invocation = dbt.cli(list(args), context=context, target_path=target, **options)
        yield from invocation.stream()
    return invocation


def _run_dbt(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    ledger: LedgerResource,
) -> Iterator[Any]:
    url = warehouse.url()
    set_dbt_environment(get_settings(), url)
    colour, watermark = wap.start_build(url, context.run_id)
    context.log.info(f"building the marts into {colour} (raw watermark {watermark.isoformat()})")
    args = ["build", *FLOW_BUILD_EXCLUDES, "--vars", wap.colour_vars(colour)]
    invocation = yield from _events(context, dbt, args, raise_on_error=False)
    manifest = json.loads((invocation.target_path / "manifest.json").read_text())
    run_results = invocation.get_artifact("run_results.json")
    index, event = log_dbt_build(
        ledger.log(url),
        url,
        manifest,
        run_results,
        success=invocation.is_successful(),
        marts=ColourSchemas.of(colour).marts,
    )
    context.log.info(f"dbt build {event['invocation_id']}: provenance leaf {index}")
    if not invocation.is_successful():
        failed = [uid for uid, status in event["statuses"].items() if status in ("error", "fail")]
        raise RuntimeError(f"dbt build failed; failing nodes: {', '.join(failed) or 'see logs'}")


def _publish(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
) -> Iterator[Any]:
    """Publish the colour just built and checked, then the api views' dbt tests."""
    url = warehouse.url()
    set_dbt_environment(get_settings(), url)
    work = get_settings().home_dir / "dbt" / "publish"
    published = wap.publish_build(url, work, context.run_id)
    context.log.info(
        f"published {published.colour} (was {published.previous}): {len(published.api_objects)}"
        f" api objects, {published.recomputed_orders} orders recomputed after the watermark"
    )
    metadata = {
        "colour": published.colour,
        "previous_colour": published.previous or "",
        "raw_watermark": published.raw_watermark.isoformat() if published.raw_watermark else "",
        "recomputed_orders": published.recomputed_orders,
    }
    for key in sorted(context.selected_asset_keys, key=AssetKey.to_user_string):
        yield MaterializeResult(asset_key=key, metadata=metadata)
    args = ["test", "--vars", wap.colour_vars(published.colour)]
    for event in _events(context, dbt, args):
        if not isinstance(event, (Output, MaterializeResult, AssetMaterialization)):
            yield event


def _dbt_models(name: str, description: str, **selection: str) -> Any:
    """The decorator of the dbt models ``selection`` picks (``select=`` or ``exclude=``);
    ``description`` describes the op."""

    def decorate(build: Any) -> AssetsDefinition:
        build.__doc__ = description
        return dbt_assets(
            manifest=PROJECT.manifest_path,
            project=PROJECT,
            name=name,
            dagster_dbt_translator=TRANSLATOR,
            **selection,
        )(build)

    return decorate


@_dbt_models(
    "canonical_models",
    "Staging, intermediate and mart models with their dbt tests, built into the colour "
    "not published.",
    exclude=API_SELECTION,
)
def canonical_models(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    ledger: LedgerResource,
) -> Iterator[Any]:
    yield from _run_dbt(context, dbt, warehouse, ledger)


@_dbt_models(
    "api_views",
    "Publish: the views of the ``api`` schema that PostgREST serves, repointed at the colour "
    "just built once its blocking checks passed (one transaction), then their dbt tests.",
    select=API_SELECTION,
)
def api_views(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    yield from _publish(context, dbt, warehouse)


def dbt_resource() -> OrderhubDbtCli:
    """The flow's dbt resource for the project (:mod:`orchestration.dbt_resource`)."""
    return resource_for(PROJECT)
