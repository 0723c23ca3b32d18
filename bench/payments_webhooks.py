"""Stripe webhook events/s through POST /webhooks/stripe under gunicorn on PostgreSQL, against
GET /healthz on the same server in the same run. Goal: at least 1,000 events/s.

Each request is a distinct event (its own evt_ id), signed with the endpoint's secret by the
stripe library just before the run, so every one is verified, recorded (a stripe_events row and
an outbox event in one transaction) and acknowledged; none is a cheap replay. wrk sends them
from a Lua table (one wrk thread, so the rotation is shared by all connections); the rows
recorded are counted afterwards, so the figure is events the database holds, not answers alone.
The part the merger joins with bench/payments.py as its --webhooks part.

    python bench/payments_webhooks.py [--duration 10] [--rounds 3] [--connections 16]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import stripe
from sqlalchemy import func, select

# bench/ is sys.path[0] when this file runs
from loadgen import WRK_SCRIPT, Load, gunicorn, load, lua_string, parse_wrk, server_env
from router import DEFAULT_POSTGRES, app_settings, migrated_router, postgres_databases

from marketplace.regions.ids import new_id
from payments.stripe.models import StripeEvent

SECRET = "whsec_bench_not_secret"
WORKERS, THREADS = 2, 32
REGION = "kin"


def signed_events(count: int, tag: str) -> list[tuple[str, str]]:
    """`count` distinct payment_intent.processing events, each with its Stripe-Signature."""
    now = int(time.time())
    out = []
    for n in range(count):
        checkout = new_id("chk")
        body = json.dumps({
            "id": f"evt_bench_{tag}_{n:08d}", "object": "event", "type": "payment_intent.processing", "created": now,
            "api_version": stripe._api_version._ApiVersion.CURRENT, "livemode": False,
            "data": {"object": {"id": f"pi_bench_{tag}_{n:08d}", "object": "payment_intent", "amount": 2599,
                                "currency": "jmd", "status": "processing", "last_payment_error": None,
                                "metadata": {"checkout_id": checkout, "region": REGION}}},
        }, separators=(",", ":"))
        out.append((body, stripe.WebhookSignature.generate_signature_header(body, SECRET, timestamp=now)))
    return out


def webhook_load(port: int, events: list[tuple[str, str]], seconds: int, connections: int) -> Load:
    requests = "\n".join(f"{{{lua_string(b)}, {lua_string(s)}}}," for b, s in events)
    script = f"""local paths = {{"/webhooks/stripe"}}
{WRK_SCRIPT}
local events = {{
{requests}
}}
local next_event = 0
function request()
  next_event = next_event % #events + 1
  local e = events[next_event]
  return wrk.format("POST", "/webhooks/stripe", {{["Content-Type"] = "application/json", ["Stripe-Signature"] = e[2]}}, e[1])
end
"""
    with tempfile.NamedTemporaryFile("w", prefix="webhooks-", suffix=".lua") as file:
        file.write(script)
        file.flush()
        result = subprocess.run(["wrk", "--threads", "1", "--connections", str(connections), "--duration", f"{seconds}s",
                                 "--timeout", "10s", "--script", file.name, f"http://127.0.0.1:{port}/webhooks/stripe"],
                                capture_output=True, text=True, timeout=seconds + 60, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"wrk exited with {result.returncode}:\n{result.stdout}{result.stderr}")
    return parse_wrk(result.stdout)


def recorded(router) -> int:
    with router.unit_of_work(REGION, read_only=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(StripeEvent))


def run(args: argparse.Namespace, workdir: Path) -> None:
    print(f"load average before: {os.getloadavg()}  cpus: {os.cpu_count()}  gunicorn --workers {WORKERS} "
          f"--threads {THREADS}  wrk, {args.connections} connections, rounds of {args.duration // args.rounds} s")
    with postgres_databases(args.postgres_url) as databases:
        settings = {**app_settings(workdir / "instance", databases.template), "CPU_REGION": REGION,
                    "CPU_STRIPE_WEBHOOK_SECRET": SECRET}
        with migrated_router({k: v for k, v in settings.items() if k != "CPU_REGION"}) as router, \
                gunicorn("wsgi:app", workers=WORKERS, threads=THREADS, env=server_env(settings), log=workdir / "gunicorn.log",
                         check_path="/healthz") as port:
            round_seconds = max(1, args.duration // args.rounds)
            per_round = args.expect * round_seconds  # enough distinct events that none repeats in a round
            load(port, ["/healthz"], 2, args.connections)
            webhook_load(port, signed_events(2000, "warm"), 2, args.connections)
            best: dict[str, Load] = {}
            stored = []
            for round_ in range(1, args.rounds + 1):
                health = load(port, ["/healthz"], round_seconds, args.connections)
                before = recorded(router)
                hooks = webhook_load(port, signed_events(per_round, f"r{round_}"), round_seconds, args.connections)
                stored.append((recorded(router) - before) / hooks.seconds)
                for name, result in (("healthz", health), ("webhooks", hooks)):
                    print(f"  round {round_}  {name:<8}  {result.rps:8.0f} req/s  errors {result.errors}  "
                          f"p50 {result.p50_ms} ms  p99 {result.p99_ms} ms", flush=True)
                    if name not in best or result.rps > best[name].rps:
                        best[name] = result
                if hooks.requests > per_round:
                    print(f"  (round {round_} sent {hooks.requests} requests for {per_round} distinct events: "
                          "raise --expect)")
    ratio = best["webhooks"].rps / best["healthz"].rps
    print(f"best /healthz: {best['healthz'].rps:.0f} req/s; best webhooks: {best['webhooks'].rps:.0f} events/s "
          f"(recorded per round: {', '.join(f'{s:.0f}/s' for s in stored)}); webhooks/healthz = {ratio:.2f}; "
          f"goal >= 1000 events/s: {'met' if best['webhooks'].rps >= 1000 else 'NOT met'}")
    print(f"load average after: {os.getloadavg()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds of measured load per target (default 15)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, the targets taking turns (default 3)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--expect", type=int, default=4000, help="events/s to prepare per round second (default 4000)")
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES))
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as workdir:
            run(args, Path(workdir))
    except KeyboardInterrupt:
        print("\ninterrupted: databases dropped, server stopped", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
