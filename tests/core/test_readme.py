"""The README stays true: every setting is in its table, and its first commands are the real ones."""

from __future__ import annotations

from pathlib import Path

from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    missing = [name for name in Settings.model_fields if f"`SLA_{name.upper()}`" not in README]
    assert missing == [], f"README's configuration table lacks {missing}"


def test_first_commands_exist_and_ci_runs_the_test_command() -> None:
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["./scripts/run.sh", "./scripts/test.sh"]
    for command in commands:
        assert (ROOT / command).stat().st_mode & 0o111, f"{command} is not executable"
    assert "./scripts/test.sh" in (ROOT / ".ci/run").read_text()
