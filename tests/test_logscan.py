"""The session log scan can fail: it finds planted numbers and canaries, and fails a run."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from consentline.http.logging import uvicorn_log_config
from tests import logscan

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"4155550142"}


@pytest.mark.parametrize(
    "line",
    [
        "to +14155550142",
        "to=%2B14155550142&x=1",
        "From=+1+415+555+0142",
        "call (415) 555-0142",
        "415.555.0142",
        "4155550142",
        "%2B1%20415%20555%200142",
    ],
)
def test_a_planted_number_is_found_in_any_notation(line: str) -> None:
    (leak,) = logscan.find_leaks("planted.log", ["fine", line], KEYS)
    assert leak.line == 2 and leak.what == "number 415***"
    assert "4155550142" not in leak.text  # the report masks it too


@pytest.mark.parametrize(
    "line", [f"Body={logscan.CANARY}+x", f"text: STOP {logscan.CANARY.upper()}"]
)
def test_a_planted_canary_is_found(line: str) -> None:
    (leak,) = logscan.find_leaks("planted.log", [line], KEYS)
    assert leak.what.startswith("canary")


@pytest.mark.parametrize("line", ["to +1415***0142", "to 415***", "GET /v1/events?after=4155 200"])
def test_masked_numbers_are_no_leak(line: str) -> None:
    assert list(logscan.find_leaks("ok.log", [line], KEYS)) == []


def test_numbers_are_collected_from_sources_and_payloads(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text('X = "+14155550142"\nY = f"+1800555{i:04d}"\n')
    (tmp_path / "payload.txt").write_text("From=%2B447911123456&To=%2B1%20212%20555%200123")
    (tmp_path / "skip.bin").write_text("+19998887777")
    keys = logscan.numbers_in_sources(tmp_path)
    assert keys == {"4155550142", "1800555", "7911123456", "2125550123"}


def test_the_sessions_own_sources_give_keys() -> None:
    keys = logscan.numbers_in_sources(ROOT / "tests")
    assert {"4155550101", "8005550100", "4155550142"} <= keys


def test_records_are_formatted_as_serve_prints_them() -> None:
    production = logscan.ProductionFormat(uvicorn_log_config())
    assert production.handlers_for("uvicorn.access") == ["access"]
    assert production.handlers_for("uvicorn.error") == ["default"]
    assert production.handlers_for("consentline.http") == ["named"]
    assert production.handlers_for("httpx") == ["named"]
    record = logging.LogRecord(
        "consentline.x", logging.WARNING, __file__, 1, "to %s", ("+14155550142",), None
    )
    assert production.format(record) == ["WARNING:  consentline.x: to +1415***0142"]


def _inner_session(tmp_path: Path, body: str, *options: str) -> subprocess.CompletedProcess[str]:
    """A pytest run of its own, with the plugin, in ``tmp_path`` (its own log directory)."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "conftest.py").write_text(
        textwrap.dedent(
            """\
            from tests_logscan_under_test import logscan

            def pytest_configure(config):
                logscan.configure(config)

            def pytest_sessionfinish(session):
                logscan.sessionfinish(session)

            def pytest_terminal_summary(terminalreporter, config):
                logscan.terminal_summary(terminalreporter, config)

            def pytest_unconfigure(config):
                logscan.unconfigure(config)
            """
        )
    )
    (tmp_path / "tests" / "test_inner.py").write_text(textwrap.dedent(body))
    (tmp_path / "tests_logscan_under_test").mkdir()
    (tmp_path / "tests_logscan_under_test" / "__init__.py").write_text("")
    (tmp_path / "tests_logscan_under_test" / "logscan.py").write_text(
        (ROOT / "tests" / "logscan.py").read_text()
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {  # a session of its own: neither this session's directory nor its xdist worker
        k: v
        for k, v in os.environ.items()
        if k != logscan.ENV_DIR and not k.startswith("PYTEST_XDIST")
    }
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *options, "tests"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_run_whose_logs_leak_fails_though_its_tests_pass(tmp_path: Path) -> None:
    """A canary logged in-process and a number a "server" printed raw: both are reported."""
    run = _inner_session(
        tmp_path,
        """\
        import logging, os, pathlib

        NUMBER = "+14155550142"

        def test_leaks():
            logging.getLogger("consentline.inner").warning("got %s", "STOP zqxcanary")
            directory = pathlib.Path(os.environ["CONSENTLINE_TEST_LOG_DIR"])
            (directory / "server-inner.log").write_text("INFO: From=" + NUMBER + "\\n")
        """,
    )
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert "1 passed" in run.stdout
    assert "personal data in the logs (C23)" in run.stdout
    assert "in-process.log:1: canary 'zqxcanary'" in run.stdout
    assert "server-inner.log:1: number 415***" in run.stdout
    assert "4155550142" not in run.stdout


def test_a_clean_run_passes(tmp_path: Path) -> None:
    run = _inner_session(
        tmp_path,
        """\
        import logging

        def test_clean():
            logging.getLogger("consentline.inner").warning("got %s", "+14155550142")
        """,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "log scan: 0 leaks" in run.stdout


def test_a_leak_in_a_parallel_worker_fails_the_run(tmp_path: Path) -> None:
    """Under pytest-xdist (``make test``) each worker writes its own file and the
    controller scans them all after the last worker ends."""
    run = _inner_session(
        tmp_path,
        """\
        import logging

        def test_clean():
            logging.getLogger("consentline.inner").warning("nothing to see")

        def test_leaks():
            logging.getLogger("consentline.inner").warning("got %s", "STOP zqxcanary")
        """,
        "-n",
        "2",
    )
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert "2 passed" in run.stdout
    assert "canary 'zqxcanary'" in run.stdout and "in-process-gw" in run.stdout
