"""The read records of the hot paths carry every column of the rows they copy, under the same
names, so code written against a model reads a record alike (and a new column cannot be
forgotten in the record: the read would fail on it)."""

import dataclasses

import pytest

from marketplace.catalog.models import Product, Variant
from marketplace.catalog.records import ProductRecord, VariantRecord
from marketplace.merchants.models import Merchant
from marketplace.merchants.service import MerchantRecord


@pytest.mark.parametrize(("record", "model", "more"), [
    (MerchantRecord, Merchant, set()),
    (ProductRecord, Product, {"variants"}),
    (VariantRecord, Variant, {"stock_levels"}),
])
def test_a_record_has_the_columns_of_its_table(record, model, more):
    assert {field.name for field in dataclasses.fields(record)} == {c.name for c in model.__table__.columns} | more

