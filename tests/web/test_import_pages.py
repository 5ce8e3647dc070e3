"""The imports pages over HTTP: upload, preview and mapping, dry run, run, the report,
the row-error file, the background run's progress page, and every bad upload."""

from __future__ import annotations

import gzip
import re

import pytest

from consentline.http import create_app
from consentline.settings import Secret, Settings
from consentline.web import install
from consentline.web.import_jobs import state_of
from tests.web.conftest import TestClient, Ui

X, Y = "+14155550123", "+14155550124"
CSV = f"Phone,SMS Opt Out,Name\n{X},true,Ann\n{Y},false,Bo\nnot-a-number,true,Cy\n"


def upload(
    ui: Ui, csrf: str, body: bytes | str, *, account: str = "acme", name: str = "crm.csv"
) -> object:
    content = body.encode() if isinstance(body, str) else body
    return ui.http.post(
        "/ui/imports",
        data={"csrf": csrf, "account": account},
        files={"file": (name, content, "text/csv")},
        follow_redirects=False,
    )


MAPPING = {
    "map_address": "Phone",
    "preset": "legacy-opt-out",
    "preset_column": "SMS Opt Out",
    "purpose": "marketing",
}


def test_upload_preview_dry_run_then_run_with_its_report_and_errors(ui_both: Ui) -> None:
    ui = ui_both
    csrf = ui.login("acme-write")
    answer = upload(ui, csrf, CSV)
    assert answer.status_code == 303
    mapping = ui.http.get(answer.headers["location"])
    assert mapping.status_code == 200
    assert '<th scope="col">SMS Opt Out</th>' in mapping.text and "Ann" in mapping.text
    assert '<option value="Phone" selected>' in mapping.text  # the address column guessed
    token = answer.headers["location"].rsplit("/", 1)[1]
    dry = ui.http.post(f"/ui/imports/{token}/run", data={"csrf": csrf, "mode": "dry", **MAPPING})
    assert dry.status_code == 200 and "Dry run done" in dry.text
    assert re.search(r'data-k="written">2<', dry.text) and re.search(
        r'data-k="errors">1<', dry.text
    )
    assert ui.cl.history(X, account="acme") == []
    run = ui.http.post(f"/ui/imports/{token}/run", data={"csrf": csrf, "mode": "run", **MAPPING})
    assert "Import done" in run.text and "opt_in 1, opt_out 1" in run.text
    (event,) = ui.cl.history(X, account="acme")
    assert (event.action, event.proof["actor"], event.proof["via_ui"]) == (
        "opt_out",
        "acme-write",
        "web",
    )
    link = re.search(r'href="(/ui/imports/runs/[^"]+/errors.csv)"', run.text)
    assert link is not None
    errors = ui.http.get(link.group(1))
    assert errors.status_code == 200 and "attachment" in errors.headers["content-disposition"]
    assert errors.text.splitlines()[1].startswith("4,Phone,invalid_address")
    again = ui.http.post(f"/ui/imports/{token}/run", data={"csrf": csrf, "mode": "run", **MAPPING})
    assert re.search(r'data-k="unchanged">2<', again.text)  # a re-run appends nothing


def test_a_large_file_runs_in_the_background_behind_a_refreshing_page(ui: Ui) -> None:
    csrf = ui.login("acme-write")
    state_of(ui.http.app.state).inline_bytes = 0  # every file is "large" here
    token = upload(ui, csrf, CSV).headers["location"].rsplit("/", 1)[1]
    started = ui.http.post(
        f"/ui/imports/{token}/run",
        data={"csrf": csrf, "mode": "run", **MAPPING},
        follow_redirects=False,
    )
    run_id = started.headers["location"].rsplit("/", 1)[1]
    (me,) = [o for o in ui.cl.operators().list() if o.name == "acme-write"]
    run = state_of(ui.http.app.state).run(run_id, me.id)
    assert run.finished.wait(10)
    page = ui.http.get(started.headers["location"]).text
    assert "Import done" in page and 'http-equiv="refresh"' not in page
    run.finished.clear()  # as if still running: the page refreshes itself
    try:
        assert 'http-equiv="refresh"' in ui.http.get(started.headers["location"]).text
    finally:
        run.finished.set()


@pytest.mark.parametrize(
    ("body", "name", "message"),
    [
        (b"", "empty.csv", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\xff\xfe\xfa", "image.csv", "UTF-8"),
        (b"Phone,Out\n", "header.csv", "no rows"),
        (gzip.compress(b"Phone\n", mtime=0)[:10], "cut.csv.gz", "gzip"),
    ],
    ids=["empty", "not-text", "no-rows", "cut-gzip"],  # the same ids in every worker
)
def test_a_bad_file_is_a_4xx_page(ui: Ui, body: bytes, name: str, message: str) -> None:
    csrf = ui.login("acme-write")
    answer = upload(ui, csrf, body, name=name)
    assert 400 <= answer.status_code < 500 and message in answer.text, answer.text[-300:]
    assert answer.headers["content-type"].startswith("text/html")


def test_no_address_column_a_bad_mapping_and_no_file_are_4xx(ui: Ui) -> None:
    csrf = ui.login("acme-write")
    token = upload(ui, csrf, CSV).headers["location"].rsplit("/", 1)[1]
    for mapping in (
        {"preset": "legacy-opt-out", "preset_column": "SMS Opt Out"},  # no address
        {"map_address": "Phone"},  # no action
        {**MAPPING, "timezone": "Mars/Olympus"},
        {**MAPPING, "values": "no equals sign"},
    ):
        answer = ui.http.post(
            f"/ui/imports/{token}/run", data={"csrf": csrf, "mode": "run", **mapping}
        )
        assert answer.status_code == 422 and 'role="alert"' in answer.text, mapping
    no_file = ui.http.post("/ui/imports", data={"csrf": csrf, "account": "acme"})
    assert 400 <= no_file.status_code < 500
    assert ui.cl.history(X, account="acme") == []


def test_too_large_a_file_is_refused_with_a_page_before_it_is_kept(ui: Ui) -> None:
    settings = Settings(session_secret=Secret("s" * 40), max_bulk_body=4096)
    app = create_app(ui.cl, settings)
    install(app, ui.cl, settings)
    with TestClient(app, base_url="http://127.0.0.1") as http:
        small = Ui(http, ui.cl)
        csrf = small.login("acme-write")
        for size in (4097, 200_000):  # counted while kept; refused from its length
            answer = upload(small, csrf, b"Phone\n" + b"1" * size)
            assert answer.status_code == 413 and "MiB" in answer.text, size
            assert answer.headers["content-type"].startswith("text/html")
        assert not list(state_of(app.state).root.iterdir())
        assert upload(small, csrf, CSV).status_code == 303


def test_csrf_roles_and_reach_guard_every_step(ui: Ui) -> None:
    csrf = ui.login("acme-write")
    assert upload(ui, "not-the-token", CSV).status_code == 403
    assert upload(ui, csrf, CSV, account="globex").status_code == 404
    token = upload(ui, csrf, CSV).headers["location"].rsplit("/", 1)[1]
    forged = ui.http.post(f"/ui/imports/{token}/run", data={"mode": "run", **MAPPING})
    assert forged.status_code == 403
    read = ui.login("acme-read")
    page = ui.http.get("/ui/imports").text
    assert 'type="file"' not in page and "needs the write role" in page
    assert upload(ui, read, CSV).status_code == 403
    assert ui.http.get(f"/ui/imports/{token}").status_code == 403
    other = ui.login("globex-write")
    assert ui.http.get(f"/ui/imports/{token}").status_code == 404  # another operator's upload
    ran = ui.http.post(f"/ui/imports/{token}/run", data={"csrf": other, "mode": "run", **MAPPING})
    assert ran.status_code == 404
    assert ui.cl.history(X, account="acme") == []
