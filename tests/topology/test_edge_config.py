"""`cpu edge nginx-config`: one upstream per region of the map, a configuration nginx itself
accepts, and a refusal naming what is missing."""

from __future__ import annotations

import subprocess

from marketplace.regions import regionmap
from tests.conftest import make_app
from tests.topology.processes import NGINX

UPSTREAMS = [f"--upstream={code}=10.0.{number}.10:8000" for number, code in enumerate(regionmap.load().region_codes)]


def test_the_rendered_edge_config_routes_every_region_and_nginx_accepts_it(tmp_path):
    app = make_app({"CPU_INSTANCE_PATH": str(tmp_path)}, CPU_SCHEMA_CHECK="false")
    rendered = app.test_cli_runner().invoke(args=["cpu", "edge", "nginx-config", "--entry", "fdf", "--listen",
                                                  "127.0.0.1:8443", *UPSTREAMS])
    assert rendered.exit_code == 0, rendered.output
    for number, code in enumerate(regionmap.load().region_codes):
        assert f"upstream cpu_{code} {{\n        server 10.0.{number}.10:8000;" in rendered.output
    assert "proxy_pass http://cpu_fdf/edge/route;" in rendered.output  # the lookup asks its own region
    (tmp_path / "temp").mkdir()
    (tmp_path / "nginx.conf").write_text(rendered.output)
    checked = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", "stderr"],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_an_edge_config_without_a_regions_address_is_refused_naming_it(tmp_path):
    app = make_app({"CPU_INSTANCE_PATH": str(tmp_path)}, CPU_SCHEMA_CHECK="false")
    refused = app.test_cli_runner().invoke(args=["cpu", "edge", "nginx-config", "--entry", "kin",
                                                 *[u for u in UPSTREAMS if "pos=" not in u]])
    assert refused.exit_code == 2 and "missing pos" in refused.output
