"""Fixtures shared by the CLI tests: the app run against a temporary SQLite file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from consentline.cli import app


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "consent.db"


@pytest.fixture
def cli(db_path: Path) -> Callable[..., Result]:
    """Run ``consentline --db <temp file> ARGS`` (wide terminal, so tables do not wrap)."""
    runner = CliRunner()
    url = f"sqlite:///{db_path}"

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, ["--db", url, *args], input=input, env={"COLUMNS": "200"})

    return run
