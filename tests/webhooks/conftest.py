"""Webhook tests run with loopback receivers allowed (and link-local listed, to prove it stays refused)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.config import Settings

ALLOWED = "127.0.0.0/8,169.254.0.0/16"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        env="test", data_dir=tmp_path, access_log=False, session_secret="x" * 40, webhook_allowed_networks=ALLOWED
    )
