"""Ingestion throughput: POST /api/v1/events on one uvicorn worker over SQLite, against a FastAPI
hello-world measured with the same load tool (wrk) and the same request bodies in the same run.

    .venv/bin/python bench/ingest.py [--seconds 15] [--connections 8]

Needs `wrk` (Debian package `wrk`; installed here if missing and running as root).
Last line: events_per_s=N p50_ms=N p99_ms=N hello_req_per_s=N ratio=R
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
POLICY = """
kind: policy
name: bench
match: {source: [bench]}
metrics:
  first_response: {start: [created], stop: [agent_public_comment], pause_when: {status_category: [waiting]}}
  resolution: {start: [created], stop: [resolved], pause_when: {status_category: [waiting]}}
  next_response: {}
targets:
  - {priority: P1, first_response: {target: 30m}, resolution: {target: 8h}, next_response: {target: 1h}}
  - {first_response: {target: 4h, warn: 80%}, resolution: {target: 40h}, next_response: {target: 8h}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, path: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start")


def run_wrk(port: int, seconds: int, connections: int, env: dict[str, str]) -> dict[str, float]:
    cmd = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(ROOT / "bench/events.lua"),
        f"http://127.0.0.1:{port}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result: dict[str, float] = json.loads(line.removeprefix("RESULT "))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    work = Path(tempfile.mkdtemp(prefix="sla-bench-"))
    env = {
        **os.environ,
        "SLA_DATA_DIR": str(work),
        "SLA_ACCESS_LOG": "false",
        "SLA_LOG_LEVEL": "WARNING",
        "SLA_RUN_WORKERS": "false",
    }
    cli = str(VENV_BIN / "sla-tracker")
    subprocess.run([cli, "migrate"], env=env, check=True, capture_output=True)
    (work / "policy.yaml").write_text(POLICY)
    subprocess.run([cli, "apply", "-f", str(work / "policy.yaml")], env=env, check=True, capture_output=True)
    key = subprocess.run(
        [cli, "apikey", "create", "--name", "bench", "--scope", "write"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    env["SLA_BENCH_KEY"] = key

    results = {}
    for name, command in (
        (
            "hello",
            [
                str(VENV_BIN / "uvicorn"),
                "--app-dir",
                str(ROOT / "bench"),
                "hello_app:app",
                "--log-level",
                "warning",
                "--no-access-log",
            ],
        ),
        ("ingest", [cli, "serve", "--no-workers"]),
    ):
        port = free_port()
        extra = ["--port", str(port)] if name == "ingest" else ["--port", str(port), "--host", "127.0.0.1"]
        server = subprocess.Popen([*command, *extra], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_ready(port, "/")
            run_wrk(port, 2, args.connections, {**env, "SLA_BENCH_KEY": key})  # warm-up
            results[name] = run_wrk(port, args.seconds, args.connections, env)
        finally:
            server.terminate()
            server.wait(timeout=30)
        if results[name]["non2xx"]:
            raise SystemExit(f"{name}: {results[name]['non2xx']} non-2xx answers")

    with sqlite3.connect(work / "sla-tracker.db") as conn:
        stored = conn.execute("SELECT count(*) FROM ticket_events").fetchone()[0]
        clocks = conn.execute("SELECT count(*) FROM clocks").fetchone()[0]
        tickets = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
    hello = results["hello"]["requests"] / results["hello"]["seconds"]
    ingest = results["ingest"]
    events_per_s = ingest["requests"] / ingest["seconds"]
    print(f"hello-world: {hello:.0f} req/s (p50 {results['hello']['p50_us'] / 1000:.1f} ms)")
    print(
        f"ingest: {events_per_s:.0f} events/s, p50 {ingest['p50_us'] / 1000:.1f} ms, "
        f"p99 {ingest['p99_us'] / 1000:.1f} ms; stored {stored} events on {tickets} tickets, {clocks} clocks"
    )
    print(
        f"events_per_s={events_per_s:.0f} p50_ms={ingest['p50_us'] / 1000:.1f} p99_ms={ingest['p99_us'] / 1000:.1f} "
        f"hello_req_per_s={hello:.0f} ratio={events_per_s / hello:.2f}"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
