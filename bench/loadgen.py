"""HTTP load for the benchmarks: a mix of GET paths sent to a gunicorn on 127.0.0.1, and the
gunicorn to send it to.

Why one module: every HTTP benchmark under bench/ measures the same things (req/s, p50/p95/p99
latency and errors over keep-alive connections), so they share one way to measure them and
their figures stay comparable.

Why wrk first: the load generator shares the machine's cores with the server under test.
wrk (C, one event loop) costs a small fraction of the CPU that a Python client spends on the
same request rate; on a 2-core machine a Python client takes a core's worth from the server,
and its figures price the client as much as the server. The Python generator (http.client
keep-alive connections, one thread each, in a separate process so that it shares no GIL with
the benchmark) exists for machines without wrk (`apt-get install wrk`); compare its figures
only with its own.

Both rotate through a list of paths, so one run measures a mix of requests (one path is a list
of one). wrk does it with a Lua script whose `request` cycles through the paths and whose
`done` prints requests, errors and p50/p95/p99: wrk's own --latency table has no 95th
percentile. The Python generator starts each connection at a different offset in the list,
so that the connections do not send the same request at the same moment.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import math
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
LOADERS = ("auto", "wrk", "python")
PYTHON_LOADER = "python http.client, 1 process, 1 thread per connection"
TIMEOUT = 10  # seconds before a request counts as an error, for both generators (wrk's default is 2)
# Requests, errors and percentiles in one line that parse_wrk reads, printed when wrk is done.
WRK_SCRIPT = """
local next_path = 0

function request()
  next_path = next_path % #paths + 1
  return wrk.format("GET", paths[next_path])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("loadgen: %d requests in %d us, %d errors, p50 %d us, p95 %d us, p99 %d us\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""
WRK_DONE = re.compile(r"^loadgen: (\d+) requests in (\d+) us, (\d+) errors, p50 (\d+) us, p95 (\d+) us, p99 (\d+) us$",
                      re.MULTILINE)


@dataclass(frozen=True)
class Load:
    requests: int
    errors: int
    seconds: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# --- choosing a load generator --------------------------------------------------------------


def add_loader_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--loader", type=_installed_loader, choices=LOADERS, default="auto",
                        help="HTTP load generator (default: wrk when on PATH, else the Python one)")


def _installed_loader(loader: str) -> str:
    """--loader's type: refuses wrk where it is missing, before a benchmark spends minutes on setup."""
    if loader == "wrk" and not shutil.which("wrk"):
        raise argparse.ArgumentTypeError("wrk is not on PATH (apt-get install wrk)")
    return loader


def pick_loader(loader: str) -> str:
    """"wrk" or "python": "auto" is wrk when it is on PATH."""
    if loader == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    return loader


def loader_label(loader: str) -> str:
    return "wrk" if pick_loader(loader) == "wrk" else PYTHON_LOADER


def load(port: int, paths: list[str], seconds: int, connections: int, loader: str = "auto",
         headers: dict[str, str] | None = None) -> Load:
    """GETs of `paths` in turn to 127.0.0.1:`port` for `seconds` (whole seconds: wrk takes no
    fractions) over `connections` keep-alive connections, from wrk or the Python generator."""
    run = run_wrk if pick_loader(loader) == "wrk" else run_python_load
    return run(port, paths, seconds=seconds, connections=connections, headers=headers)


# --- wrk ------------------------------------------------------------------------------------


def run_wrk(port: int, paths: list[str], *, seconds: int, connections: int,
            headers: dict[str, str] | None = None) -> Load:
    """wrk with one thread; the headers go on the command line, where wrk.format finds them."""
    header_args = [arg for name, value in (headers or {}).items() for arg in ("--header", f"{name}: {value}")]
    with tempfile.NamedTemporaryFile("w", prefix="loadgen-", suffix=".lua") as script:
        script.write(wrk_script(paths))
        script.flush()
        command = ["wrk", "--threads", "1", "--connections", str(connections), "--duration", f"{seconds}s",
                   "--timeout", f"{TIMEOUT}s", "--script", script.name, *header_args,
                   f"http://127.0.0.1:{port}{paths[0]}"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"wrk exited with {result.returncode}:\n{result.stdout}{result.stderr}")
    return parse_wrk(result.stdout)


def wrk_script(paths: list[str]) -> str:
    return f"local paths = {{{', '.join(lua_string(path) for path in paths)}}}\n{WRK_SCRIPT}"


def lua_string(text: str) -> str:
    """A Lua string literal: printable ASCII as it is, any other byte (and `"`, `\\`) as a decimal
    escape, which Lua 5.1 and LuaJIT both read."""
    return '"' + "".join(chr(b) if 32 <= b < 127 and chr(b) not in '"\\' else f"\\{b:03d}"
                         for b in text.encode()) + '"'


def parse_wrk(output: str) -> Load:
    """The line the script's `done` prints (microseconds) as a Load (milliseconds)."""
    match = WRK_DONE.search(output)
    if match is None:
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    requests, micros, errors, *percentiles = map(int, match.groups())
    return Load(requests, errors, micros / 1e6, *(us / 1000 if requests else None for us in percentiles))


# --- the Python generator -------------------------------------------------------------------


def run_python_load(port: int, paths: list[str], *, seconds: int, connections: int,
                    headers: dict[str, str] | None = None) -> Load:
    """http.client keep-alive load from a separate process, so it shares no GIL with anything here."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    worker = context.Process(target=_load_process, args=(port, paths, headers or {}, seconds, connections, results),
                             daemon=True)
    worker.start()
    try:
        return Load(*results.get(timeout=seconds + 60))
    finally:
        worker.join(timeout=10)
        if worker.is_alive():
            worker.terminate()
            worker.join()


def _load_process(port: int, paths: list[str], headers: dict[str, str], seconds: int, connections: int,
                  results) -> None:
    """One thread per connection, each starting at its own offset in `paths`; puts a Load's fields."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent cleans up; it ends this process
    started = time.perf_counter()
    end = started + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    offsets = [i * len(paths) // connections for i in range(connections)]
    threads = [threading.Thread(target=_load_loop, args=(port, rotation(paths, offsets[i]), headers, end, latencies[i],
                                                         errors, i), daemon=True)
               for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    merged = sorted(latency for per_thread in latencies for latency in per_thread)
    results.put((len(merged), sum(errors), time.perf_counter() - started,
                 *(percentile(merged, percent) for percent in (50, 95, 99))))


def rotation(paths: list[str], offset: int) -> Iterator[str]:
    return itertools.cycle(paths[offset:] + paths[:offset])


def _load_loop(port: int, paths: Iterator[str], headers: dict[str, str], end: float, latencies: list[float],
               errors: list[int], i: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)  # reconnects when the server closes
    while (sent := time.perf_counter()) < end:
        try:
            connection.request("GET", next(paths), headers=headers)
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
        except (OSError, http.client.HTTPException):
            connection.close()
            ok = False
        if ok:
            latencies.append((time.perf_counter() - sent) * 1000)
        else:
            errors[i] += 1
    connection.close()


def percentile(sorted_values: list[float], percent: float) -> float | None:
    """Nearest rank: the smallest value with at least `percent` % of the values at or below it."""
    if not sorted_values:
        return None
    rank = max(0, math.ceil(percent / 100 * len(sorted_values)) - 1)
    return sorted_values[rank]


# --- gunicorn -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without what the app reads as settings (CPU_*, ELASTICSEARCH_URL)
    and Flask CLI variables, plus `extra`: a developer's own settings must not redirect the server."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CPU_") and k not in ("ELASTICSEARCH_URL", "FLASK_RUN_FROM_CLI")}
    return {**env, **extra}


@contextlib.contextmanager
def gunicorn(target: str, *, workers: int, threads: int, env: dict[str, str], log: Path,
             check_path: str) -> Iterator[int]:
    """A gunicorn serving `target` (module:app, from the repository root or bench/) on 127.0.0.1,
    up and answering `check_path`; yields its port."""
    port = free_port()
    pythonpath = ["--pythonpath", str(BENCH)] if (BENCH / f"{target.split(':')[0]}.py").exists() else []
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--threads", str(threads), "--log-level", "warning", *pythonpath, target]
    with open(log, "ab") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_serving(server, port, check_path, log)
        yield port
    finally:
        with no_interrupts():
            stop(server)


def wait_until_serving(server: subprocess.Popen, port: int, path: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{tail(log)}")
        with contextlib.suppress(OSError):
            status, body = http_get(port, path)
            if status == 200:
                return
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}\n{tail(log)}")
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not serve within {timeout} s:\n{tail(log)}")


def http_get(port: int, path: str, timeout: float = 5) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def stop(server: subprocess.Popen) -> None:
    """SIGTERM to gunicorn's process group (it stops its workers); SIGKILL if it lingers."""
    if server.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


@contextlib.contextmanager
def no_interrupts() -> Iterator[None]:
    """Let clean-up finish even when Ctrl-C is pressed again."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
