"""Bulk import of products and variants (CSV and JSON), held to the rules of the JSON API.

Formats (UTF-8; a byte-order mark is fine; any other encoding is refused, naming the line):
- CSV: a header on line 1 with the `COLUMNS` (missing optional ones are blank), then one row
  per variant. Prices in major units of the merchant's currency ("12.50"); lists separated by
  "|": tiers "12:11.00|144:9.50", options "size=250 g|roast=dark", stock "KGN=100|MBJ=20".
- JSON: a list of product objects in the JSON API shape (prices in minor units; the `id`,
  `updated_at`, `revision` and variant `id` and `currency` that the API and `export_json` add are
  ignored, but a currency other than the merchant's is an error), or a list of row objects
  with the CSV columns.

Rules:
- Products are matched by `ref`, variants by SKU, and written by `service.write_product`, so
  each product named in the file is stated in full (its variants missing from the file are
  removed, as with PUT) and products not named are untouched. The same file imported twice
  changes nothing the second time.
- Rows sharing a product_ref form one product wherever they stand. Product columns come from
  its first row; a later row may leave them blank, and a different value is an error there.
- A product is written whole or not at all. When any of its rows is bad, none is written:
  writing the others would delete the variant the bad row was meant to update. Its good rows
  are reported as not imported, pointing at the bad lines. A batch of products is written in
  one SAVEPOINT; when the database refuses it, each product is written again in a SAVEPOINT
  of its own, so a database error loses that product only.
- A SKU that belongs to another of the merchant's products is refused, as in the API.

The report: `created`, `updated`, `unchanged` (products), `rows` (data rows, i.e. variants)
`rows_with_errors` (distinct lines with at least one error) and `errors`, each {"line", "column", "reason"}: the line in the file (CSV: 1 is the header;
JSON: the line where the object starts). Problems with the file as a whole (encoding, header,
JSON syntax) raise ImportRefused and nothing is written.

The modules, in the order a file goes through them: `formats` (file name, encoding, CSV and
JSON records), `rows` (records to product data, checked as the API checks it), `writer`
(batches of upserts and the report), `pipeline` (`import_rows`, the three together) and `jobs`
(dashboard uploads run by the outbox relay); `columns` and `errors` are shared by them.
"""

from marketplace.catalog.importer.columns import COLUMNS, INTEGER_COLUMNS, LANGUAGES
from marketplace.catalog.importer.errors import ImportJobBusy, ImportRefused
from marketplace.catalog.importer.jobs import (
    JOB_TOPIC, MAX_FILE_BYTES, STALE_JOB, get_job, register_handlers, run_job, submit_job,
)
from marketplace.catalog.importer.pipeline import import_rows
from marketplace.catalog.importer.rows import data_from_rows
from marketplace.catalog.importer.writer import BATCH_ROWS

__all__ = [
    "BATCH_ROWS", "COLUMNS", "INTEGER_COLUMNS", "JOB_TOPIC", "LANGUAGES", "MAX_FILE_BYTES", "STALE_JOB",
    "ImportJobBusy", "ImportRefused",
    "data_from_rows", "get_job", "import_rows", "register_handlers", "run_job", "submit_job",
]
