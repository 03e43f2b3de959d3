"""The dbt project as Dagster sees it: where it is, and its manifest, prepared once.

dbt parse costs seconds, so the manifest is parsed once per content of the
project (models, seeds, macros, tests, configs) and reused: the parse output
lives under ``<home>/dbt/target`` next to a stamp holding the project's hash. A new home
takes the manifest another home of this machine parsed for the same project (its folder,
its hash and the dbt version: :func:`shared_manifest`, under the user's cache folder)
instead of parsing again.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from pathlib import Path

from dagster_dbt import DbtProject

from orderhub.dbt_env import dbt_env
from orderhub.dbt_parse import keep_copy, partial_parse
from orderhub.settings import Settings, disable_telemetry

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
_SOURCE_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".md"}
_SKIP_DIRS = {"target", "logs", "dbt_packages"}


def project_hash(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """Hex SHA-256 over the path and content of every source file of the project."""
    digest = hashlib.sha256()
    for path in sorted(project_dir.rglob("*")):
        relative = path.relative_to(project_dir)
        if not path.is_file() or path.suffix not in _SOURCE_SUFFIXES:
            continue
        if relative.parts and relative.parts[0] in _SKIP_DIRS:
            continue
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def target_dir(settings: Settings) -> Path:
    path = settings.home_dir / "dbt" / "target"
    path.mkdir(parents=True, exist_ok=True)
    return path


def dbt_log_dir(settings: Settings) -> Path:
    path = settings.home_dir / "dbt" / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def set_dbt_environment(settings: Settings, database_url: str | None) -> None:
    """Export the profile's variables (from the URL; placeholders when there is none)
    and keep every dbt artefact and log under the home folder."""
    disable_telemetry()
    runs = settings.home_dir / "dbt" / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    os.environ["DBT_TARGET_PATH"] = str(runs)
    os.environ["DBT_LOG_PATH"] = str(dbt_log_dir(settings))
    env = dbt_env(database_url or "postgresql://orderhub@127.0.0.1:5432/orderhub")
    for key, value in env.items():
        if database_url or key not in os.environ:
            os.environ[key] = value


def shared_manifest(current: str, database: str) -> Path:
    """Where homes of this machine share the manifest of the project ``current`` hashes to:
    ``$XDG_CACHE_HOME/orderhub/dbt-manifests`` (else ``~/.cache/...``), per project folder
    (its nodes carry their absolute paths), hash, dbt version and target database (named in
    every node)."""
    from dbt.version import __version__ as dbt_version

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    text = f"{DBT_PROJECT_DIR}\0{current}\0{dbt_version}\0{database}"
    key = hashlib.sha256(text.encode()).hexdigest()
    return cache / "orderhub" / "dbt-manifests" / f"{key[:32]}.json"


def prepare_manifest(settings: Settings) -> Path:
    """Parse the project if it changed since the last parse; return the manifest path.

    Processes sharing a home (the demo and the UI, or test workers) parse one at a time: a
    lock file beside the manifest is held while it is checked and written."""
    target = target_dir(settings)
    manifest = target / "manifest.json"
    stamp = target / "project.sha256"
    current = project_hash()
    with (target / "parse.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest.exists() and stamp.exists() and stamp.read_text() == current:
            return manifest
        set_dbt_environment(settings, settings.database_url)
        database = os.environ["ORDERHUB_PGDATABASE"]
        shared = shared_manifest(current, database)
        if shared.is_file():
            shutil.copyfile(shared, manifest)
            stamp.write_text(current)
            return manifest
        from dbt.cli.main import dbtRunner

        # the parse is kept for the home's commands without --vars (source freshness)
        cache = settings.home_dir / "dbt" / "parse"
        with partial_parse(cache, DBT_PROJECT_DIR, (), target, database):
            result = dbtRunner().invoke(
                [
                    "parse",
                    "--project-dir", str(DBT_PROJECT_DIR),
                    "--profiles-dir", str(DBT_PROJECT_DIR),
                    "--target-path", str(target),
                    "--log-path", str(dbt_log_dir(settings)),
                    "--quiet",
                ]
            )  # fmt: skip
        if not result.success or not manifest.exists():
            raise RuntimeError(f"dbt parse failed for {DBT_PROJECT_DIR}: {result.exception}")
        stamp.write_text(current)
        keep_copy(manifest, shared)
    return manifest


def dbt_project(settings: Settings) -> DbtProject:
    """The DbtProject with its manifest prepared under the home folder."""
    target = target_dir(settings)
    prepare_manifest(settings)
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=target)
