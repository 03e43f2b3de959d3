"""``orderhub crosswalk``: commands on the status crosswalk seed.

``orderhub crosswalk lint [--seed PATH]`` checks the seed (:func:`orderhub.crosswalk.lint`)
and the coverage of the sandbox systems' vocabularies
(:data:`orderhub.vocabularies.SERVED`); it prints one line per problem and exits
1, or prints the crosswalk's size and version and exits 0.
``orderhub crosswalk version [--seed PATH]`` prints the version every canonical event of
a build with this seed will carry.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from orderhub.crosswalk import DEFAULT_SEED, crosswalk_version, lint, read
from orderhub.settings import Settings


def _cmd_lint(args: argparse.Namespace, settings: Settings) -> int:
    # the sandbox stands for the outside world; its vocabularies are what the simulated
    # vendors document, imported here only to check the seed covers them
    from orderhub.vocabularies import SERVED

    path = Path(args.seed)
    problems = lint(path, vocabularies=None if args.no_vocabularies else SERVED)
    for problem in problems:
        print(problem.render(path))
    if problems:
        return 1
    rows, _ = read(path)
    print(f"{path}: {len(rows)} rows, no problems; version {crosswalk_version(path)}")
    return 0


def _cmd_version(args: argparse.Namespace, settings: Settings) -> int:
    print(crosswalk_version(Path(args.seed)))
    return 0


def register(subparsers: Any) -> None:
    """Add the ``crosswalk`` command to the ``orderhub`` parser's subparsers."""
    crosswalk = subparsers.add_parser("crosswalk", help="check the status crosswalk seed")
    commands = crosswalk.add_subparsers(dest="crosswalk_command", required=True)

    lint_parser = commands.add_parser(
        "lint",
        help="duplicate keys, unknown canonical values, terminal ranks, vocabulary coverage",
    )
    lint_parser.add_argument("--seed", default=str(DEFAULT_SEED), help="crosswalk CSV to check")
    lint_parser.add_argument(
        "--no-vocabularies",
        action="store_true",
        help="skip the check that the sandbox systems' codes are covered",
    )
    lint_parser.set_defaults(func=_cmd_lint)

    version = commands.add_parser(
        "version", help="print the crosswalk version (the Merkle root of its rows)"
    )
    version.add_argument("--seed", default=str(DEFAULT_SEED), help="crosswalk CSV")
    version.set_defaults(func=_cmd_version)


__all__ = ["register"]
