"""``orderhub connectors``: the connectors on an Airbyte server; fault options of the sandbox.

``orderhub connectors deploy --airbyte-url URL --workspace ID`` publishes each declarative
manifest as a custom source definition of that workspace, with its source, one PostgreSQL
destination pointed at the warehouse and a connection per system
(:func:`connectors.airbyte_server.deploy`, through the ``airbyte-api`` SDK). Re-running
updates them. The Airbyte API's OAuth client id comes from ``--client-id`` or
``ORDERHUB_AIRBYTE_CLIENT_ID``, its secret from ``ORDERHUB_SECRET_AIRBYTE_CLIENT_SECRET`` or
``<home>/secrets/airbyte-client-secret`` (never from the command line). The sources' base URLs
are the configured ones (``ORDERHUB_<SYSTEM>_URL``) or the running sandbox's; ``--source-url
SYSTEM=URL`` and ``--warehouse-host``/``--warehouse-port`` say how the server reaches them
when it sees them under other names (e.g. from inside a container).

:func:`register` also gives ``orderhub sandbox`` its ``--faults SPEC`` and ``--fault-seed N``
options (:mod:`orderhub.sandbox.faults`), which it passes on as ``ORDERHUB_SANDBOX_FAULTS`` and
``ORDERHUB_SANDBOX_FAULT_SEED``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from orderhub.progress import say
from orderhub.settings import Settings

Command = Callable[[argparse.Namespace, Settings], int]


def _source_urls(args: argparse.Namespace, settings: Settings) -> dict[str, str]:
    from connectors.catalog import SYSTEMS
    from orchestration.resources import sandbox_urls

    published = sandbox_urls(settings)
    urls = {s: getattr(settings, f"{s}_url") or published.get(s) for s in SYSTEMS}
    for override in args.source_url or []:
        system, equals, url = override.partition("=")
        if not equals or system not in SYSTEMS:
            raise ValueError(f"--source-url takes SYSTEM=URL with SYSTEM one of {list(SYSTEMS)}")
        urls[system] = url
    wanted = args.systems.split(",") if args.systems else list(SYSTEMS)
    missing = [s for s in wanted if not urls.get(s)]
    if missing:
        raise ValueError(
            f"no base URL for {', '.join(missing)}: set ORDERHUB_<SYSTEM>_URL, pass --source-url"
            " or start `orderhub sandbox`"
        )
    return {s: str(urls[s]) for s in wanted}


def _cmd_deploy(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.airbyte_server import AirbyteServer, Warehouse, deploy
    from connectors.config import source_config
    from orderhub.secrets import airbyte_client_secret, source_credentials
    from orderhub.warehouse import warehouse_url

    url = args.airbyte_url or settings.airbyte_url
    workspace = args.workspace or settings.airbyte_workspace_id
    if not url or not workspace:
        raise ValueError("name the server and workspace: --airbyte-url URL --workspace ID")
    client_id = args.client_id or settings.airbyte_client_id
    client_secret = airbyte_client_secret(settings, client_id)
    configs = {
        system: source_config(
            system,
            base_url,
            source_credentials(settings, system),
            start_date=settings.sync_start_date,
        )
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


def _with_faults(command: Command) -> Command:
    """``command`` (``orderhub sandbox``) with ``--faults``/``--fault-seed`` in its environment."""

    def run(args: argparse.Namespace, settings: Settings) -> int:
        from orderhub.sandbox.faults import ENV_FAULTS, ENV_SEED, FaultPlan

        if args.faults is not None:
            os.environ[ENV_FAULTS] = args.faults
        if args.fault_seed is not None:
            os.environ[ENV_SEED] = str(args.fault_seed)
        plan = FaultPlan.from_env()  # a bad spec fails here, naming the entry
        if plan:
            say(plan.describe())
        return command(args, settings)

    return run


def register(subparsers: Any) -> None:
    """Add ``connectors`` to the ``orderhub`` parser, and fault options to ``sandbox``."""
    connectors = subparsers.add_parser(
        "connectors", help="publish the connectors to an Airbyte server"
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

    sandbox = subparsers.choices.get("sandbox")
    if sandbox is not None:
        sandbox.add_argument(
            "--faults",
            help="faults to inject, e.g. erp:429@3,crm:503=0.1,wms:expire@2 "
            "(see orderhub/sandbox/faults.py; default ORDERHUB_SANDBOX_FAULTS)",
        )
        sandbox.add_argument(
            "--fault-seed", type=int, help="seed of probabilistic faults (default 7)"
        )
        sandbox.set_defaults(func=_with_faults(sandbox.get_default("func")))
