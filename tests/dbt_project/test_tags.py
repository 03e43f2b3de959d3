"""fct_order_tags (/order_tags): tags from the business rules seed."""

from __future__ import annotations

from dbt_builds import Build


def test_order_tags_from_the_rules_seed(main_build: Build) -> None:
    tags = main_build.query("select order_id, tag, rule_ids from api.order_tags order by 1, 2")
    assert tags == [
        ("1000002", "cold_chain", ["cold_chain_products"]),
        ("1000006", "cold_chain", ["cold_chain_products"]),
        ("1000007", "modifiable", ["modifiable_not_yet_picked"]),
        ("1000009", "modifiable", ["modifiable_not_yet_picked"]),
    ]
