"""Shared pieces of the bench scripts: ports, starting and stopping servers, wrk, a prepared service.

Not a bench itself. Scripts import it after dropping the bench folder from ``sys.path`` (bench/calendar.py
shadows the standard library) and putting the repository root first: ``from bench import _harness``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
CLI = str(VENV_BIN / "sla-tracker")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, path: str = "/", timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start")


def run_wrk(
    port: int,
    seconds: int,
    connections: int,
    env: dict[str, str],
    script: Path | None = None,
    threads: int = 2,
) -> dict[str, float]:
    """Run wrk with a Lua script whose ``done`` prints ``RESULT {json}``; returns that JSON."""
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(script or ROOT / "bench/events.lua"),
        f"http://127.0.0.1:{port}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result: dict[str, float] = json.loads(line.removeprefix("RESULT "))
    return result


def group_commit_summary(port: int) -> str:
    """How the service's ingestion writer batched the run (from its ``/metrics``)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    values = {
        name: float(value)
        for name, _, value in (line.partition(" ") for line in text.splitlines())
        if name in ("sla_ingest_batch_events_sum", "sla_ingest_batch_events_count")
    }
    count = values.get("sla_ingest_batch_events_count", 0.0)
    events = values.get("sla_ingest_batch_events_sum", 0.0)
    mean = events / count if count else 0.0
    return f"group commit: {events:.0f} events in {count:.0f} transactions, {mean:.1f} per transaction"


def ensure_wrk() -> None:
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)


def hello_command(app: str = "app") -> list[str]:
    """A FastAPI hello-world baseline (``app`` of bench/hello_app.py) on uvicorn; add ``--port``."""
    return [
        str(VENV_BIN / "uvicorn"),
        "--app-dir",
        str(ROOT / "bench"),
        f"hello_app:{app}",
        "--log-level",
        "warning",
        "--no-access-log",
        "--host",
        "127.0.0.1",
    ]


def hello_any_path_command() -> list[str]:
    """The same hello-world, answering POST on any path (see :data:`hello_any_path`); add ``--port``."""
    return [
        str(VENV_BIN / "uvicorn"),
        "--app-dir",
        str(ROOT),
        "bench._harness:hello_any_path",
        "--log-level",
        "warning",
        "--no-access-log",
        "--host",
        "127.0.0.1",
    ]


class _AnyPath:
    """ASGI: bench/hello_app.py's endpoint for a POST to any path (the path is rewritten, nothing else)."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self._app is None:
            spec = importlib.util.spec_from_file_location("bench_hello_app", ROOT / "bench/hello_app.py")
            assert spec is not None
            assert spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self._app = module.app
        if scope["type"] == "http" and scope["method"] == "POST":
            scope = {**scope, "path": "/api/v1/events", "raw_path": b"/api/v1/events"}
        await self._app(scope, receive, send)


hello_any_path = _AnyPath()


def service_command() -> list[str]:
    """The real service on one uvicorn worker, without background workers; add ``--port``."""
    return [CLI, "serve", "--no-workers"]


@contextmanager
def running(command: Sequence[str], port: int, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command --port port``, wait until it listens, stop it when the block ends."""
    server = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_ready(port, "/")
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)


def service_env(work: Path) -> dict[str, str]:
    """Environment for the service on a temporary SQLite under ``work``, running this checkout's code.

    ``PYTHONPATH`` starts with this checkout: the venv's editable install may point at another one
    (a git worktree sharing the main checkout's venv would otherwise serve the main checkout's app).
    """
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        "SLA_DATA_DIR": str(work),
        "SLA_ACCESS_LOG": "false",
        "SLA_LOG_LEVEL": "WARNING",
        "SLA_RUN_WORKERS": "false",
    }


def make_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="sla-bench-"))


def migrate_and_apply(env: dict[str, str], work: Path, documents: str) -> None:
    """``sla-tracker migrate``, then ``sla-tracker apply -f`` of ``documents`` (YAML, ``---``-separated)."""
    subprocess.run([CLI, "migrate"], env=env, check=True, capture_output=True)
    (work / "documents.yaml").write_text(documents)
    subprocess.run([CLI, "apply", "-f", str(work / "documents.yaml")], env=env, check=True, capture_output=True)


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def child_process(args: Sequence[str], env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``python <args>`` until it prints a line ``READY <url>``; yields the url, stops it at the end."""
    child = subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line.startswith("READY "):
            raise SystemExit(f"helper process did not start: {line!r}")
        yield line.split()[1]
    finally:
        child.terminate()
        child.wait(timeout=30)


@contextmanager
def postgres(url: str | None, default_port: str) -> Iterator[str]:
    """``url``, or a throwaway PostgreSQL started with scripts/pg.sh and stopped when the block ends.

    Its port is ``SLA_BENCH_PG_PORT`` (else ``default_port``); its folder is not under a mkdtemp
    folder, which would be private: the server runs as the postgres user.
    """
    if url is not None:
        yield url
        return
    port = os.environ.get("SLA_BENCH_PG_PORT", default_port)
    env = {**os.environ, "SLA_PGTEST_DIR": f"/tmp/sla-bench-pg-{port}", "SLA_PGTEST_PORT": port}
    script = str(ROOT / "scripts/pg.sh")
    started = subprocess.run([script, "start"], env=env, check=True, capture_output=True, text=True)
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run([script, "stop"], env=env, check=False)
