"""Health and rolling change: /readyz answers for the process's own region; operators see
every region (`cpu regions status`, GET /api/v1/operator/regions, behind a token); a database
one migration ahead is served, one behind is refused; `cpu db upgrade` goes on past an
unreachable region and names it."""

import socket
import sqlite3

import pytest

from marketplace.regions import outbox, schema
from marketplace.regions.router import DIRECTORY
from tests.conftest import make_app, own_app
from tests.support import databases

TOKEN = "operator-token-for-tests-0123456789abcdef"
EVERY_DATABASE = ["kin", "sdq", "sxm", "fdf", "bgi", "pos", DIRECTORY]


def dead_postgres_url() -> str:
    """A PostgreSQL URL on a port nothing listens on: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/gone"


@pytest.fixture
def operator_app(database_config):
    with own_app(database_config, CPU_OPERATOR_TOKEN=TOKEN) as app:
        yield app


def test_readyz_of_a_region_process_answers_for_its_own_region_only(database_config):
    app = make_app(database_config, CPU_REGION="kin", CPU_DATABASE_URL_BGI=dead_postgres_url())
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 200, response.get_json()
        assert set(response.get_json()["databases"]) == {"kin", DIRECTORY}
    finally:
        app.extensions["cpu"].router.dispose()


def test_the_operator_view_needs_the_operator_token(operator_app, app):
    client = operator_app.test_client()
    assert client.get("/api/v1/operator/regions").status_code == 401
    wrong = client.get("/api/v1/operator/regions", headers={"Authorization": "Bearer " + "x" * len(TOKEN)})
    assert wrong.status_code == 401 and wrong.mimetype == "application/problem+json"
    assert app.test_client().get("/api/v1/operator/regions",  # no token configured: nobody
                                 headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 403


def test_operators_see_every_region_with_its_schema_and_outbox_backlog(operator_app):
    router = operator_app.extensions["cpu"].router
    with router.unit_of_work("sdq") as uow:
        outbox.publish(uow.session, "merchant.registered", {})
        uow.commit()
    response = operator_app.test_client().get("/api/v1/operator/regions", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    regions = {region.pop("name"): region for region in response.get_json()["regions"]}
    assert list(regions) == EVERY_DATABASE
    assert all(r["reachable"] and r["schema"] == schema.head() and r["schema_at_head"] for r in regions.values())
    assert regions["sdq"]["outbox"]["pending"] == 1 and regions["sdq"]["outbox"]["oldest_pending_age_seconds"] >= 0
    assert regions["kin"]["outbox"] == {"pending": 0, "oldest_pending_age_seconds": None, "parked": 0}


def test_a_region_process_lists_the_other_regions_as_not_served_there(database_config):
    app = make_app(database_config, CPU_REGION="fdf", CPU_OPERATOR_TOKEN=TOKEN)
    try:
        body = app.test_client().get("/api/v1/operator/regions", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()
        regions = {region.pop("name"): region for region in body["regions"]}
        assert body["served_region"] == "fdf"
        assert [name for name, r in regions.items() if r["served_here"]] == ["fdf", DIRECTORY]
        assert regions["kin"] == {"served_here": False}
    finally:
        app.extensions["cpu"].router.dispose()


def test_regions_status_names_an_unreachable_region_and_fails(postgres_config):
    app = make_app(postgres_config, CPU_DATABASE_URL_BGI=dead_postgres_url())
    try:
        result = app.test_cli_runner().invoke(args=["cpu", "regions", "status"])
        lines = dict(line.split(None, 1) for line in result.output.splitlines())
        assert list(lines) == EVERY_DATABASE
        assert lines["bgi"].startswith("UNREACHABLE")
        assert lines["kin"].startswith("reachable") and "outbox 0 pending" in lines["kin"]
        assert result.exit_code == 1
    finally:
        app.extensions["cpu"].router.dispose()


def test_db_upgrade_goes_on_past_an_unreachable_region_and_names_it(postgres_config):
    app = make_app(postgres_config, CPU_DATABASE_URL_SDQ=dead_postgres_url())
    try:
        result = app.test_cli_runner().invoke(args=["cpu", "db", "upgrade"])
        lines = [line.split()[0] for line in result.output.splitlines() if line and not line.startswith("Error")]
        assert lines == EVERY_DATABASE, result.output
        assert "sdq" in result.output and "UNREACHABLE" in result.output
        assert "not upgraded, unreachable: sdq" in result.output
        assert result.exit_code == 1
    finally:
        app.extensions["cpu"].router.dispose()


def _set_revision(instance, name: str, revision: str, came_from: str | None) -> None:
    with sqlite3.connect(instance / f"{name}.db") as db:
        db.execute("UPDATE alembic_version SET version_num = ?, down_revision = ?", (revision, came_from))


def test_a_database_one_migration_ahead_is_served_and_one_behind_is_refused(tmp_path):
    config = {"CPU_INSTANCE_PATH": str(tmp_path)}
    databases.migrate(config)
    _set_revision(tmp_path, "kin", "0099_next_release", schema.head())  # the next release's upgrade ran on kin
    app = make_app(config)
    ready = app.test_client().get("/readyz").get_json()
    assert ready["status"] == "ready" and ready["databases"]["kin"]["schema_one_ahead"]
    app.extensions["cpu"].router.dispose()

    _set_revision(tmp_path, "kin", "0100_two_releases_on", "0099_next_release")
    with pytest.raises(schema.SchemaBehind, match="kin"):
        make_app(config)
    _set_revision(tmp_path, "kin", "0007", None)
    with pytest.raises(schema.SchemaBehind, match="kin .* at 0007"):
        make_app(config)


def test_upgrade_records_where_each_database_came_from(router):
    with router.engine("kin").connect() as connection:
        row = connection.exec_driver_sql("SELECT version_num, down_revision FROM alembic_version").one()
    assert tuple(row) == (schema.head(), "0028")
