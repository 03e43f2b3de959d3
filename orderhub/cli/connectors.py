"""``orderhub connectors``: the connectors on an Airbyte server.

``orderhub connectors deploy --airbyte-url URL --workspace ID`` publishes each declarative
manifest as a custom source definition of that workspace, with its source, one PostgreSQL
destination pointed at the warehouse and a connection per system
(:func:`connectors.airbyte_server.deploy`, through the ``airbyte-api`` SDK). Re-running
updates them. The Airbyte API's OAuth client id comes from ``--client-id`` or
``ORDERHUB_AIRBYTE_CLIENT_ID``, its secret from ``ORDERHUB_SECRET_AIRBYTE_CLIENT_SECRET`` or
``<home>/secrets/airbyte-client-secret`` (never from the command line). The sources are the
configured ones (``ORDERHUB_SOURCES__<SYSTEM>__BASE_URL``, :mod:`orderhub.sources`);
``--source-url SYSTEM=URL`` and ``--warehouse-host``/``--warehouse-port`` say how the server
reaches them when it sees them under other names (e.g. from inside a container).

``orderhub connectors reconcile [--systems erp]`` lists each source's keys and stores a
flagged deletion version of every stored key the source no longer serves and no deletion
event announced (:mod:`connectors.reconcile`), logging its extraction batch in the ledger;
it exits 1 naming the system when a listing cannot be trusted, having stored nothing.
"""

from __future__ import annotations

import argparse
from typing import Any

from orderhub.progress import say
from orderhub.settings import Settings
from orderhub.sources import API_SYSTEMS


def _source_urls(args: argparse.Namespace, settings: Settings) -> dict[str, str]:
    """Each wanted system's base URL: its source configuration, or ``--source-url``."""
    urls = {system: source.base_url for system, source in settings.sources.items()}
    for override in args.source_url or []:
        system, equals, url = override.partition("=")
        if not equals or system not in API_SYSTEMS:
            raise ValueError(
                f"--source-url takes SYSTEM=URL with SYSTEM one of {list(API_SYSTEMS)}"
            )
        urls[system] = url
    wanted = args.systems.split(",") if args.systems else list(API_SYSTEMS)
    unknown = [s for s in wanted if s not in API_SYSTEMS]
    if unknown:
        raise ValueError(f"--systems: unknown {', '.join(unknown)}; known: {list(API_SYSTEMS)}")
    return {s: urls[s] for s in wanted}


def _cmd_deploy(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.airbyte_server import AirbyteServer, Warehouse, deploy
    from connectors.config import configured_source
    from orderhub.secrets import airbyte_client_secret
    from orderhub.warehouse import warehouse_url

    url = args.airbyte_url or settings.airbyte_url
    workspace = args.workspace or settings.airbyte_workspace_id
    if not url or not workspace:
        raise ValueError("name the server and workspace: --airbyte-url URL --workspace ID")
    client_id = args.client_id or settings.airbyte_client_id
    client_secret = airbyte_client_secret(settings, client_id)
    configs = {
        system: configured_source(settings, system, base_url=base_url)
        for system, base_url in _source_urls(args, settings).items()
    }
    warehouse = Warehouse.from_url(
        warehouse_url(settings), host=args.warehouse_host, port=args.warehouse_port
    )
    server = AirbyteServer(url, workspace, client_id, client_secret)
    deployed = deploy(server, configs, warehouse, progress=say)
    for item in deployed:
        print(
            f"{item.system}: connection {item.connection_id} (source {item.source_id},"
            f" definition {item.definition_id})"
        )
    say(
        f"deployed {len(deployed)} connections to workspace {workspace}; set ORDERHUB_AIRBYTE_URL,"
        " ORDERHUB_AIRBYTE_WORKSPACE_ID and ORDERHUB_AIRBYTE_CLIENT_ID for Dagster to run them"
    )
    return 0


def _cmd_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.config import configured_source
    from connectors.errors import ConnectorError
    from connectors.reconcile import RECONCILED, reconcile
    from ledger.keys import load_or_create_signer
    from ledger.log import ProvenanceLog
    from orchestration.bootstrap import prepare_warehouse
    from orchestration.provenance import log_extraction_batches
    from orderhub.provenance import PROVENANCE_KINDS
    from orderhub.settings import SIGNING_KEY_FILE
    from orderhub.warehouse import warehouse_url

    wanted = args.systems.split(",") if args.systems else list(RECONCILED)
    unknown = [s for s in wanted if s not in RECONCILED]
    if unknown:
        raise ValueError(f"--systems: no key listing for {', '.join(unknown)}: {list(RECONCILED)}")
    url = warehouse_url(settings)
    prepare_warehouse(settings, url)
    signer = load_or_create_signer(settings.secrets_dir / SIGNING_KEY_FILE, settings.ledger_origin)
    failed = 0
    with ProvenanceLog(url, settings.ledger_origin, signer, kinds=PROVENANCE_KINDS) as log:
        for system in wanted:
            try:
                found = reconcile(system, configured_source(settings, system), url, progress=say)
            except ConnectorError as error:
                say(str(error))
                failed += 1
                continue
            if found.batch is not None:
                log_extraction_batches(log, [found.batch], say)
            print(f"{system}: {found.listed} keys listed, {found.stored} stored, "
                  f"{len(found.missing)} gone: {', '.join(found.missing) or '-'}")  # fmt: skip
    return 1 if failed else 0


def register(subparsers: Any) -> None:
    """Add ``connectors`` to the ``orderhub`` parser."""
    connectors = subparsers.add_parser(
        "connectors",
        help="publish the connectors to an Airbyte server; reconcile the sources' keys",
    )
    commands = connectors.add_subparsers(dest="connectors_command", required=True)
    deploy = commands.add_parser(
        "deploy",
        help="publish the manifests as custom sources, with a destination and connections",
    )
    deploy.add_argument("--airbyte-url", help="server root, e.g. http://localhost:8000")
    deploy.add_argument("--workspace", help="workspace id (default ORDERHUB_AIRBYTE_WORKSPACE_ID)")
    deploy.add_argument("--client-id", help="OAuth client id (default ORDERHUB_AIRBYTE_CLIENT_ID)")
    deploy.add_argument("--systems", help="comma-separated systems (default: all four)")
    deploy.add_argument(
        "--source-url",
        action="append",
        metavar="SYSTEM=URL",
        help="a source's base URL as the server reaches it (repeatable)",
    )
    deploy.add_argument("--warehouse-host", help="warehouse host as the server reaches it")
    deploy.add_argument("--warehouse-port", type=int, help="warehouse port as the server sees it")
    deploy.set_defaults(func=_cmd_deploy)
    reconcile = commands.add_parser(
        "reconcile",
        help="store a deletion for each stored key the source no longer lists (SAP)",
    )
    reconcile.add_argument("--systems", help="comma-separated systems (default: erp)")
    reconcile.set_defaults(func=_cmd_reconcile)
