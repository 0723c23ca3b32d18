"""The operator's commands: relay, parked events, replay, demo data; and the `cpu` console
script that runs them from a shell."""

import os
import subprocess
import sys
import tomllib
from datetime import timedelta
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from click.testing import CliRunner

from marketplace.regions import outbox
from marketplace.regions.outbox import RelayPolicy
from tests.support import databases


def test_relay_once_delivers_what_is_ready_and_says_so(app, router):
    with router.unit_of_work("pos") as uow:
        outbox.publish(uow.session, "merchant.registered", {})  # announced, no consumer yet
        uow.commit()
    result = app.test_cli_runner().invoke(args=["cpu", "relay", "--once"])
    assert result.exit_code == 0, result.output
    assert "delivered 1, failed 0, parked 0" in result.output


def test_relay_refuses_an_unknown_region(app):
    result = app.test_cli_runner().invoke(args=["cpu", "relay", "--once", "--region", "atlantis"])
    assert result.exit_code == 2 and "unknown region(s): atlantis" in result.output


def test_operators_see_parked_events_and_replay_them(app, platform, router):
    platform.handlers.on("always.fails")(lambda event: (_ for _ in ()).throw(ValueError("bad payload")))
    with router.unit_of_work("sxm") as uow:
        event_id = outbox.publish(uow.session, "always.fails", {})
        uow.commit()
    platform.relay(policy=RelayPolicy(max_attempts=1, backoff_base=timedelta(0))).drain()

    runner = app.test_cli_runner()
    listing = runner.invoke(args=["cpu", "outbox", "parked"])
    assert f"sxm {event_id} always.fails attempts=1" in listing.output
    assert "ValueError: bad payload" in listing.output and "1 parked event(s)" in listing.output

    replayed = runner.invoke(args=["cpu", "outbox", "replay", event_id])
    assert replayed.exit_code == 0 and f"{event_id} queued again in sxm" in replayed.output
    again = runner.invoke(args=["cpu", "outbox", "replay", event_id])
    assert again.exit_code == 1 and "is not parked" in again.output


def test_demo_data_loads_once_however_often_it_runs(app, router):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["cpu", "demo"])
    second = runner.invoke(args=["cpu", "demo"])
    assert first.exit_code == second.exit_code == 0
    assert first.output == second.output  # the same merchants, same ids
    regions = {line.split()[0] for line in first.output.splitlines()[:-1]}
    assert regions == {"kin", "sdq", "sxm", "fdf", "bgi", "pos"}


# --- the `cpu` console script, as an operator runs it ---------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def console_script():
    """What `pip install -e .` installs as `cpu`: the entry point pyproject.toml declares."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["cpu"]
    return EntryPoint(name="cpu", value=declared, group="console_scripts").load()


def run_cpu(*args: str, instance: Path):
    """`cpu ARGS` from a shell whose only setting is CPU_INSTANCE_PATH."""
    # FLASK_RUN_FROM_CLI is named so that the runner takes back what the script sets for itself.
    unset = {name: None for name in [*os.environ, "FLASK_RUN_FROM_CLI"] if name.startswith(("CPU_", "FLASK_"))}
    env = {**unset, "CPU_INSTANCE_PATH": str(instance), "CPU_LOG_LEVEL": "WARNING"}
    return CliRunner().invoke(console_script(), list(args), env=env)


@pytest.mark.parametrize("command", [["db", "status"], ["outbox", "parked"], ["relay", "--once"], ["demo"]])
def test_a_command_pointed_at_an_empty_instance_folder_says_so_and_creates_nothing(tmp_path, command):
    result = run_cpu(*command, instance=tmp_path)
    assert result.exit_code == 1
    assert f"no databases in {tmp_path}: run `cpu db upgrade` first (or set CPU_INSTANCE_PATH)" in result.output
    assert list(tmp_path.iterdir()) == []


def test_status_and_parked_list_a_missing_database_and_never_create_it(tmp_path):
    databases.migrate(databases.sqlite_config(tmp_path))
    assert run_cpu("db", "status", instance=tmp_path).exit_code == 0
    (tmp_path / "sxm.db").unlink()

    result = run_cpu("db", "status", instance=tmp_path)
    assert result.exit_code == 1
    lines = dict(line.split(maxsplit=1) for line in result.output.splitlines())
    assert lines["sxm"].endswith("no database: run `cpu db upgrade`")
    assert all(lines[name].endswith("at head") for name in ("kin", "sdq", "fdf", "bgi", "pos", "directory"))
    assert not (tmp_path / "sxm.db").exists()
    assert "sxm no database" in run_cpu("outbox", "parked", instance=tmp_path).output
    assert not (tmp_path / "sxm.db").exists()


def test_upgrade_then_status_through_the_console_script_in_a_fresh_process(tmp_path):
    """The script's own process: no Flask command line, no test runner around it."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("CPU_", "FLASK_"))},
           "PYTHONPATH": str(ROOT), "CPU_INSTANCE_PATH": "here", "CPU_LOG_LEVEL": "WARNING"}
    script = "from marketplace.cli import cpu; cpu()"

    def cpu(*args):
        return subprocess.run([sys.executable, "-c", script, *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    first = cpu("db", "status")
    assert first.returncode == 1 and f"no databases in {tmp_path / 'here'}" in first.stderr
    assert cpu("db", "upgrade").returncode == 0
    status = cpu("db", "status")
    assert status.returncode == 0, status.stderr
    assert status.stdout.count("at head") == 7


def test_status_reports_every_database_at_head_on_files_and_on_postgresql(app):
    """PostgreSQL databases are never taken for absent files."""
    result = app.test_cli_runner().invoke(args=["cpu", "db", "status"])
    assert result.exit_code == 0, result.output
    assert result.output.count("at head") == 7
