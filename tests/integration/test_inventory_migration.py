"""Migration 0015 moves each variant's JSON stock into rows, and back on a downgrade, on fresh
databases of both backends (a shop made at the head, taken down to 0012 and up again)."""

from __future__ import annotations

import json

import pytest
from alembic import command
from sqlalchemy import text

from marketplace.catalog import service as catalog
from marketplace.catalog.schemas import ProductSchema
from marketplace.merchants import accounts
from marketplace.regions import schema
from tests.api.test_merchant_api import product_body
from tests.conftest import own_app
from tests.support import databases


@pytest.fixture
def fresh_config(backend, request, tmp_path):
    if backend == "sqlite":
        overrides = databases.sqlite_config(tmp_path)
        databases.migrate(overrides)
        yield overrides
        return
    with databases.postgres_databases(request.getfixturevalue("postgres_admin_url")) as overrides:
        overrides["CPU_INSTANCE_PATH"] = str(tmp_path)
        databases.migrate(overrides)
        yield overrides


def move(router, name, target):
    config = schema.alembic_config()
    with router.engine(name).begin() as connection:
        config.attributes["connection"], config.attributes["role"] = connection, schema.role(name)
        (command.upgrade if target == "head" else command.downgrade)(config, target)


def test_json_stock_becomes_rows_and_back(fresh_config):
    with own_app(fresh_config) as app:
        router = app.extensions["cpu"].router
        owner = accounts.sign_up(router=router, trading_name="Moving Stock", legal_name="Moving Stock Ltd", home_country="JM",
                                 email="owner@moving.example", password="correct horse battery", handle="moving-stock")
        body = product_body()
        body["variants"][0]["stock"] = {"KGN": 5, "MBJ": 3}
        product = catalog.create_product(router=router, principal=owner, data=ProductSchema().load(body))

        move(router, "kin", "0012")
        with router.engine("kin").connect() as connection:
            stored = {sku: (stock if isinstance(stock, dict) else json.loads(stock))
                      for sku, stock in connection.execute(text("SELECT sku, stock FROM variants"))}
        assert stored == {"BM-250": {"KGN": 5, "MBJ": 3}, "BM-1KG": {"KGN": 60}}

        move(router, "kin", "head")
        again = catalog.get_product(router=router, principal=owner, product_id=product.id)
        assert {v.sku: v.stock for v in again.variants} == {"BM-250": {"KGN": 5, "MBJ": 3}, "BM-1KG": {"KGN": 60}}
        assert all(level.reserved == 0 and level.revision == 1 for v in again.variants for level in v.stock_levels)
