"""The CLI: keys, migrations, the schema guard on serve, settings safety."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from app import cli as cli_module
from app.cli import main
from app.core.config import Settings, get_settings
from app.main import create_app_from_env

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SLA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SLA_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_version() -> None:
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("sla-tracker ")


def test_serve_refuses_an_out_of_date_schema(data_dir: Path) -> None:
    result = runner.invoke(main, ["serve", "--port", "1"])
    assert result.exit_code == 2
    assert "sla-tracker migrate" in result.output


def test_worker_names_the_lanes_when_given_an_unknown_one(data_dir: Path) -> None:
    result = runner.invoke(main, ["worker", "--lanes", "clocks,mail"])
    assert result.exit_code == 2
    assert "unknown lane(s) mail" in result.output
    assert "clocks, deliveries, writeback, sync" in result.output


def test_serve_no_workers_starts_no_background_lane(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert runner.invoke(main, ["migrate"]).exit_code == 0
    lanes_seen: list[list[str]] = []

    def serve_once(target: str, **_: object) -> None:
        # What uvicorn does with the factory, in this process: build the app and run its lifespan.
        assert target == "app.main:create_app_from_env"
        with TestClient(create_app_from_env()):
            lanes_seen.append([t.name for t in threading.enumerate() if t.name.startswith("sla-")])

    monkeypatch.setattr(cli_module.uvicorn, "run", serve_once)
    monkeypatch.delenv("SLA_RUN_WORKERS", raising=False)
    thresholds = gc.get_threshold()
    try:
        result = runner.invoke(main, ["serve", "--no-workers"])
    finally:
        # The factory tunes the collector for a long-lived process; other tests measure memory.
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        monkeypatch.delenv("SLA_RUN_WORKERS", raising=False)
    assert result.exit_code == 0, result.output
    assert lanes_seen == [[]]


def test_apikey_lifecycle(data_dir: Path) -> None:
    assert runner.invoke(main, ["migrate"]).exit_code == 0
    created = runner.invoke(main, ["apikey", "create", "--name", "bot", "--scope", "write"])
    assert created.exit_code == 0
    assert created.stdout.strip().startswith("slat_")
    listed = runner.invoke(main, ["apikey", "list"])
    assert "bot\twrite" in listed.stdout
    assert "active" in listed.stdout
    assert created.stdout.strip() not in listed.stdout
    assert runner.invoke(main, ["apikey", "revoke", "--name", "bot"]).exit_code == 0
    assert "revoked" in runner.invoke(main, ["apikey", "list"]).stdout
    bad = runner.invoke(main, ["apikey", "create", "--name", "x", "--scope", "root"])
    assert bad.exit_code == 2
    assert "scope" in bad.output


def test_production_refuses_a_missing_session_secret() -> None:
    with pytest.raises(ValidationError, match="SLA_SESSION_SECRET"):
        Settings(env="production")
    assert Settings(env="production", session_secret="s" * 32).env == "production"


def test_database_url_is_normalised_to_psycopg() -> None:
    settings = Settings(database_url="postgresql://u@localhost/sla")
    assert settings.effective_database_url.startswith("postgresql+psycopg://")
