"""orderhub.dbt_env: a libpq URL becomes the variables dbt_project/profiles.yml reads."""

from __future__ import annotations

import getpass

import pytest

from orderhub.dbt_env import dbt_env


def test_url_parts_become_profile_variables() -> None:
    env = dbt_env("postgresql://app:s%40c%2Fret@127.0.0.1:5433/orderhub")
    assert env == {
        "ORDERHUB_PGHOST": "127.0.0.1",
        "ORDERHUB_PGPORT": "5433",
        "ORDERHUB_PGUSER": "app",
        "ORDERHUB_PGPASSWORD": "s@c/ret",
        "ORDERHUB_PGDATABASE": "orderhub",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PGOPTIONS": "-c TimeZone=UTC -c synchronous_commit=off",
    }


def test_missing_parts_take_libpq_defaults() -> None:
    env = dbt_env("postgresql://")
    user = getpass.getuser()
    assert env["ORDERHUB_PGHOST"] == "localhost"
    assert env["ORDERHUB_PGPORT"] == "5432"
    assert env["ORDERHUB_PGUSER"] == user
    assert env["ORDERHUB_PGPASSWORD"] == ""
    assert env["ORDERHUB_PGDATABASE"] == user


def test_sslmode_and_key_value_form() -> None:
    env = dbt_env("host=db.example port=6432 user=u dbname=d sslmode=require")
    assert env["ORDERHUB_PGHOST"] == "db.example"
    assert env["ORDERHUB_PGPORT"] == "6432"
    assert env["ORDERHUB_PGSSLMODE"] == "require"


def test_unparseable_url_names_the_problem() -> None:
    with pytest.raises(ValueError, match="not a valid libpq connection URL"):
        dbt_env("nonsense://")
