"""The floor for `GET /api/v1/merchants/<id>`: bare Flask + psycopg, no framework of ours.

bench/router.py serves this next to the marketplace app, under the same gunicorn settings,
and reads the same merchant from the same `kin` database. What it leaves out is exactly what
the benchmark prices: the shard router, the unit of work, the ORM, the connection pool and its
pre-ping, flask-smorest/marshmallow, request ids and access logging.

Each thread keeps one plain psycopg connection (autocommit, made on first use, after gunicorn
has forked), so one request is one round trip to PostgreSQL. Configured by BARE_DATABASE_URL,
a libpq connection string or URL of the `kin` database.
"""

from __future__ import annotations

import os
import threading

import psycopg
from flask import Flask, abort, jsonify
from psycopg.rows import dict_row

QUERY = "SELECT * FROM merchants WHERE id = %s"  # every column, as the app's ORM loads them
FIELDS = ("id", "name", "home_country", "region")  # the app's MerchantSchema, with created_at

app = Flask(__name__)
_local = threading.local()


def connection() -> psycopg.Connection:
    """This thread's connection, opened on first use and again after it broke."""
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = psycopg.connect(os.environ["BARE_DATABASE_URL"], autocommit=True, row_factory=dict_row)
        _local.conn = conn
    return conn


@app.get("/api/v1/merchants/<merchant_id>")
def merchant(merchant_id: str):
    conn = connection()
    try:
        row = conn.execute(QUERY, (merchant_id,)).fetchone()
    except psycopg.OperationalError:
        conn.close()  # the next request on this thread reconnects
        raise
    if row is None:
        abort(404)
    return jsonify({**{field: row[field] for field in FIELDS}, "created_at": row["created_at"].isoformat()})
