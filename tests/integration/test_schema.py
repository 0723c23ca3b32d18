"""One migration history on every database; the models agree with it; the service will not
start on a database that is behind."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from marketplace.regions import schema
from marketplace.regions.base import DirectoryBase, ShardBase
from marketplace.regions.router import DIRECTORY
from tests.conftest import make_app


def test_every_database_is_at_the_head_revision(router):
    for name in router.database_names:
        assert schema.status(router, name).at_head, name


def test_the_models_and_the_migrations_agree(router):
    for name in router.database_names:
        metadata = DirectoryBase.metadata if name == DIRECTORY else ShardBase.metadata
        with router.engine(name).connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
        assert differences == [], f"{name}: {differences}"


def test_the_service_refuses_to_start_on_a_database_that_is_behind(tmp_path):
    with pytest.raises(schema.SchemaBehind) as error:
        make_app({"CPU_INSTANCE_PATH": str(tmp_path)})
    assert "kin (sqlite:///" in str(error.value) and "no schema" in str(error.value)
    assert "cpu db upgrade" in str(error.value)
    assert not list(tmp_path.glob("*.db")), "checking the schema must not create the databases it checks"


def test_upgrade_prints_one_line_per_database(tmp_path):
    app = make_app({"CPU_INSTANCE_PATH": str(tmp_path), "CPU_SCHEMA_CHECK": "false"})
    result = app.test_cli_runner().invoke(args=["cpu", "db", "upgrade"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["kin", "sdq", "sxm", "fdf", "bgi", "pos", "directory"]
    assert all(line.endswith("empty -> " + schema.head()) for line in lines)
    again = app.test_cli_runner().invoke(args=["cpu", "db", "upgrade"])
    assert all(line.endswith("already at head") for line in again.output.strip().splitlines())
