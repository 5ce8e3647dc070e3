"""``consentline serve`` and the installation-admin key bootstrap."""

from __future__ import annotations

import json
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

import consentline
from consentline.cli import serve
from consentline.cli.app import app
from consentline.domain.outbound import OutboundAllow
from tests.conftest import Clock

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's TestClient suggests httpx2
    from fastapi.testclient import TestClient

KEY = "cl_" + "k" * 40


def test_serve_help_has_an_example() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert "--port" in result.output


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def fake_run(application: object, **options: Any) -> None:
        calls.append({"app": application, **options})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.delenv("CONSENTLINE_ADMIN_KEY", raising=False)
    return calls


def test_the_first_start_prints_a_generated_admin_key_once(
    tmp_path: Path, runs: list[dict[str, Any]]
) -> None:
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    first = CliRunner().invoke(app, ["--db", db, "serve", "--port", "8123"])
    assert first.exit_code == 0, first.output
    printed = [word for word in first.output.split() if word.startswith("cl_")]
    assert len(printed) == 1
    second = CliRunner().invoke(app, ["--db", db, "serve"])
    assert second.exit_code == 0
    assert "cl_" not in second.output
    assert runs[0]["port"] == 8123 and runs[0]["host"] == "127.0.0.1"
    assert "mask_numbers" in runs[0]["log_config"]["filters"]
    with consentline.connect(db) as cl:
        assert cl.api_keys().authenticate(printed[0]).installation


def test_json_prints_the_url_and_the_new_key(tmp_path: Path, runs: list[dict[str, Any]]) -> None:
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    first = CliRunner().invoke(app, ["--db", db, "serve", "--json"])
    info = json.loads(first.stdout)
    assert info["url"] == "http://127.0.0.1:8000"
    assert info["admin_key"].startswith("cl_")
    second = CliRunner().invoke(app, ["--db", db, "serve", "--json"])
    assert json.loads(second.stdout)["admin_key"] is None


def test_a_configured_admin_key_is_stored_and_nothing_printed(
    tmp_path: Path, runs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    monkeypatch.setenv("CONSENTLINE_ADMIN_KEY", KEY)
    result = CliRunner().invoke(app, ["--db", db, "serve"])
    assert result.exit_code == 0
    assert "cl_" not in result.output
    with consentline.connect(db) as cl:
        assert cl.api_keys().authenticate(KEY).role == "admin"


def test_a_bad_setting_stops_the_start_naming_the_variable(
    tmp_path: Path, runs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSENTLINE_PUBLIC_URL", "not a url")
    result = CliRunner().invoke(app, ["--db", f"sqlite:///{tmp_path / 'x.db'}", "serve"])
    assert result.exit_code == 2
    assert "CONSENTLINE_PUBLIC_URL" in result.output
    assert runs == []


def test_bootstrap_generates_only_when_no_installation_admin_exists(
    tmp_path: Path, clock: Clock
) -> None:
    with consentline.connect(f"sqlite:///{tmp_path / 'k.db'}", clock=clock) as cl:
        keys = cl.api_keys(clock)
        first = keys.bootstrap(None)
        assert first is not None and first.startswith("cl_")
        assert keys.bootstrap(None) is None
        assert keys.bootstrap(KEY) is None  # a configured key is added alongside
        assert keys.authenticate(KEY).installation
        keys.revoke(keys.authenticate(first).id)
        keys.revoke(keys.authenticate(KEY).id)
        assert keys.bootstrap(None) is not None  # every admin revoked: a new one


def _worker_running() -> bool:
    return any(t.name == "consentline-worker" for t in threading.enumerate())


@pytest.mark.parametrize(("flag", "expected"), [([], True), (["--no-worker"], False)])
def test_the_background_worker_runs_with_the_app_unless_switched_off(
    tmp_path: Path, runs: list[dict[str, Any]], flag: list[str], expected: bool
) -> None:
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    result = CliRunner().invoke(app, ["--db", db, "serve", *flag])
    assert result.exit_code == 0, result.output
    with TestClient(runs[0]["app"]) as http:  # runs the app's lifespan
        assert http.get("/healthz").status_code == 200
        assert _worker_running() is expected
    assert not _worker_running()  # stopped with the app


def test_the_outbound_allow_list_reaches_the_app_and_both_senders(
    tmp_path: Path, runs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, OutboundAllow] = {}

    def spy(name: str) -> Any:
        real = getattr(serve, name)

        def built(*args: Any, **kw: Any) -> Any:
            seen[name] = kw["allow"]
            return real(*args, **kw)

        return built

    for name in ("ReplyDelivery", "WebhookDelivery"):
        monkeypatch.setattr(serve, name, spy(name))
    monkeypatch.setenv("CONSENTLINE_OUTBOUND_ALLOW", "127.0.0.0/8, relay.corp")
    result = CliRunner().invoke(app, ["--db", f"sqlite:///{tmp_path / 'o.db'}", "serve"])
    assert result.exit_code == 0, result.output
    expected = OutboundAllow.parse("127.0.0.0/8,relay.corp")
    assert seen == {"ReplyDelivery": expected, "WebhookDelivery": expected}
    assert runs[0]["app"].state.services.settings.outbound_allow == expected


def test_a_bad_outbound_allow_list_stops_the_start(
    tmp_path: Path, runs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSENTLINE_OUTBOUND_ALLOW", "127.0.0.0/8, not a host!")
    result = CliRunner().invoke(app, ["--db", f"sqlite:///{tmp_path / 'x.db'}", "serve"])
    assert result.exit_code == 2
    assert "CONSENTLINE_OUTBOUND_ALLOW" in result.output and "not a host!" in result.output
    assert runs == []
