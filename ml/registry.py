"""The registered model ``orderhub-demand``: versions, the ``champion`` and ``challenger``
aliases, and the fitted pipeline each version holds.

Every training registers a new version holding its :class:`~ml.pipeline.FittedPipeline`
(an MLflow pyfunc model, :class:`DemandModel`) and points the alias ``challenger`` at it;
the alias ``champion`` moves to it only when :mod:`ml.promotion` says so. Serving always
loads the ``champion``. Each version carries the tags ``data_snapshot_hash``,
``trained_through`` and, once decided, ``promotion`` (``promoted`` or ``kept``).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pandas as pd

from orderhub.settings import disable_telemetry

disable_telemetry()

import mlflow  # noqa: E402  (telemetry must be off before MLflow is imported)
from mlflow import MlflowClient  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode  # noqa: E402
from mlflow.pyfunc import PythonModel  # noqa: E402

from ml.features import build_panel  # noqa: E402
from ml.pipeline import FittedPipeline  # noqa: E402

REGISTERED_MODEL = "orderhub-demand"
CHAMPION = "champion"
CHALLENGER = "challenger"
MODEL_ARTIFACT = "model"
#: Packages the registered model needs to load (pinned to what trained it).
MODEL_REQUIREMENTS = (
    "mlflow",
    "mlforecast",
    "statsforecast",
    "hierarchicalforecast",
    "lightgbm",
    "holidays",
    "scikit-learn",
    "pandas",
    "numpy",
    "cloudpickle",
)


def model_requirements() -> list[str]:
    """Pinned pip requirements of the registered model (no inference, no network)."""
    pins = []
    for package in MODEL_REQUIREMENTS:
        try:
            pins.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            pins.append(package)
    return pins


class DemandModel(PythonModel):
    """The registered forecaster: a fitted pipeline.

    Input: demand rows shaped like the mart (``sku, store_id, region, demand_date, units``
    and optionally ``country, on_promotion``); ``params={"h": days}``. Output: every level's
    forecast with its 80 % and 95 % intervals (:meth:`FittedPipeline.forecast`).
    """

    def __init__(self, pipeline: FittedPipeline) -> None:
        self.pipeline = pipeline

    def predict(self, context: Any, model_input: pd.DataFrame, params: Any = None) -> pd.DataFrame:
        h = int((params or {}).get("h", self.pipeline.config.horizon))
        return self.pipeline.forecast(build_panel(model_input), h)


@contextmanager
def _quiet_model_logging() -> Iterator[None]:
    """Silence what ``log_model`` says about every model of this kind (a pickled wrapper, no
    ``pip`` in uv environments): neither is news."""
    loggers = [logging.getLogger(n) for n in ("mlflow.pyfunc", "mlflow.utils.environment")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def register(
    client: MlflowClient,
    run_id: str,
    pipeline: FittedPipeline,
    tags: Mapping[str, str],
    name: str = REGISTERED_MODEL,
) -> str:
    """Log ``pipeline`` on the active run ``run_id``, register it and make it the
    ``challenger``; its version."""
    with _quiet_model_logging():
        info = mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT,
            python_model=DemandModel(pipeline),
            pip_requirements=model_requirements(),
        )
    try:
        client.create_registered_model(
            name, description="Daily demand per SKU x store, store, region and total."
        )
    except MlflowException as exc:
        if exc.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
            raise
    created = client.create_model_version(
        name, source=info.model_uri, run_id=run_id, model_id=info.model_id, tags=dict(tags)
    )
    client.set_registered_model_alias(name, CHALLENGER, created.version)
    return str(created.version)


def alias_version(client: MlflowClient, alias: str, name: str = REGISTERED_MODEL) -> str | None:
    """The version ``alias`` points at, or None (no model, or no such alias yet)."""
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def load_pipeline(
    client: MlflowClient, model_version: str, name: str = REGISTERED_MODEL
) -> FittedPipeline:
    """The fitted pipeline of a registered version."""
    source = client.get_model_version(name, model_version).source
    with _quiet_model_logging():
        loaded = mlflow.pyfunc.load_model(source)
    return loaded.unwrap_python_model().pipeline


def promote(client: MlflowClient, model_version: str, name: str = REGISTERED_MODEL) -> None:
    """Point ``champion`` at ``model_version``."""
    client.set_registered_model_alias(name, CHAMPION, model_version)


def tag_version(
    client: MlflowClient, model_version: str, tags: Mapping[str, str], name: str = REGISTERED_MODEL
) -> None:
    for key, value in tags.items():
        client.set_model_version_tag(name, model_version, key, str(value))
