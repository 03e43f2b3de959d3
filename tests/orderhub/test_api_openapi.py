"""The OpenAPI document PostgREST serves: valid (PostgREST 12 serves Swagger 2.0), and every
api view and function in it described - with the descriptions written in dbt
(``_api__models.yml``), carried into PostgreSQL as comments (``persist_docs``, and the
``api_function`` materialization) - as each role sees it (PostgREST shows a role only what
it may read)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from api_world import ApiWorld
from openapi_spec_validator import validate
from openapi_spec_validator.validation import OpenAPIV2SpecValidator


def _api_models(world: ApiWorld) -> dict[str, dict[str, Any]]:
    """The api models of the build's manifest, by the name PostgREST serves them under."""
    manifest = json.loads(world.manifest.read_text())
    return {
        node["alias"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["original_file_path"].startswith("models/api/")
    }


def _document(world: ApiWorld, role: str) -> dict[str, Any]:
    claims = {"customer": {"customer_id": "C1"}, "partner": {"partner_id": "DHL"}}
    token = world.token(role, **claims.get(role, {})) if role != "anon" else None
    response = world.get("", token)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/openapi+json")
    document: dict[str, Any] = response.json()
    return document


@pytest.mark.parametrize("role", ["anon", "customer", "partner", "analyst", "ops", "auditor"])
def test_the_openapi_document_is_valid_and_shows_what_the_role_reads(
    api_world: ApiWorld, role: str
) -> None:
    document = _document(api_world, role)
    assert document["swagger"] == "2.0"
    validate(document, cls=OpenAPIV2SpecValidator)
    models = _api_models(api_world)
    readable = {
        alias
        for alias, node in models.items()
        if node["config"]["materialized"] == "view"
        and role in node["config"]["meta"]["access"]["roles"]
    }
    assert set(document.get("definitions", {})) == readable
    callable_ = {
        f"/rpc/{alias}"
        for alias, node in models.items()
        if node["config"]["materialized"] == "api_function"
        and role in node["config"]["meta"]["access"]["roles"]
    }
    assert {path for path in document["paths"] if path.startswith("/rpc/")} == callable_


def _text(text: str) -> str:
    """The words of a description, without the key notes PostgREST appends."""
    return " ".join(
        re.sub(r"\s*Note:\s*This is a (Primary|Foreign) Key.*$", "", text, flags=re.S).split()
    )


def test_every_view_column_and_function_is_described_as_written_in_dbt(
    api_world: ApiWorld,
) -> None:
    models = _api_models(api_world)
    described: set[str] = set()
    for role in ("anon", "analyst", "ops", "auditor"):
        document = _document(api_world, role)
        for alias, definition in document.get("definitions", {}).items():
            node = models[alias]
            assert node["description"] and alias in node["description"]
            assert _text(definition["description"]) == _text(node["description"]), alias
            for column, schema in definition["properties"].items():
                written = node["columns"][column]["description"]
                assert written, f"{alias}.{column}"
                assert _text(schema["description"]) == _text(written), f"{alias}.{column}"
            described.add(alias)
        for path, item in document["paths"].items():
            if path.startswith("/rpc/"):
                node = models[path.removeprefix("/rpc/")]
                operation = item["post"]
                shown = " ".join((operation.get("summary", ""), operation.get("description", "")))
                assert _text(shown) == _text(node["description"]), path
                described.add(path.removeprefix("/rpc/"))
    assert described == set(models)
