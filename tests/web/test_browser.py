"""The web UI in a real browser: Playwright driving Debian's Chromium.

One server (uvicorn on a loopback port, in a thread, over a SQLite file) and one
browser for the module; each test opens a fresh browser context (its own cookies)
and uses numbers of its own. Screenshots of the main pages are taken on every run,
into ``$CONSENTLINE_SCREENSHOTS`` when it is set (``make screenshots`` sets it to
docs/screenshots/, the README's) and into a temporary folder otherwise, so a test
run does not rewrite tracked files.

Skipped, with the reason, only when /usr/bin/chromium (or the playwright package) is
missing and CI is not set; under CI they fail instead (.ci/run installs chromium).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import consentline
from consentline import Consentline
from consentline.http import create_app
from consentline.settings import Secret, Settings
from consentline.web import install
from tests.http._server import free_port
from tests.web.conftest import ACME_LINE, ERASURE_KEY, PASSWORD, SHOP_LINE, seed

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(
    os.environ.get("CONSENTLINE_SCREENSHOTS")
    or Path(tempfile.gettempdir()) / "consentline-screenshots"
)
pytestmark = pytest.mark.browser


def _require_browser() -> Any:
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        problem = "the playwright package is not installed (make dev)"
    if problem is None and not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {problem}")
        pytest.skip(problem)
    return sync_playwright


@dataclass
class Served:
    url: str
    cl: Consentline


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    _require_browser()
    import uvicorn

    path = tmp_path_factory.mktemp("browser") / "ui.db"
    cl = consentline.connect(f"sqlite:///{path}", cache_seconds=0.0, erasure_key=ERASURE_KEY)
    seed(cl)
    cl.configure_account("acme", program_name="Acme Deals", frequency="4 msgs/month")
    settings = Settings(session_secret=Secret("b" * 40))
    app = create_app(cl, settings)
    install(app, cl, settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        assert thread.is_alive(), "the server stopped"
        time.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}", cl)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        cl.close()


@pytest.fixture(scope="module")
def browser(served: Served) -> Iterator[Any]:
    sync_playwright = _require_browser()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Any, served: Served, name: str) -> None:
    page.goto(f"{served.url}/ui/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{served.url}/ui/dashboard")


def shot(page: Any, name: str, *, full: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def test_sign_in_search_a_number_and_see_its_status_on_every_line(
    served: Served, page: Any
) -> None:
    number = "+14155550131"
    served.cl.record(
        number,
        "opt_in",
        line=SHOP_LINE,
        purpose="marketing",
        source="web_form",
        contact_ref="salesforce:003WEB1",
    )
    served.cl.handle_inbound(from_=number, to=SHOP_LINE, text="Help me please")
    page.goto(f"{served.url}/ui/login")
    shot(page, "login", full=False)
    sign_in(page, served, "acme-write")
    page.get_by_label("Search a number or contact reference").fill("(415) 555-0131")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{served.url}/ui/contacts/+14155550131")
    rows = page.locator("table.status tbody tr")
    assert rows.count() == 2 * 3  # two lines in reach, three purposes
    acme = page.locator(f'tr[data-line="{ACME_LINE}"][data-purpose="marketing"]')
    assert "Not Defined" in acme.inner_text()
    shop = page.locator(f'tr[data-line="{SHOP_LINE}"][data-purpose="marketing"]')
    assert "opted_in" in shop.inner_text() and "web_form" in shop.inner_text()
    assert "salesforce" in page.content()
    assert page.get_by_text("Help me please").count() == 1
    shot(page, "contact")
    page.set_viewport_size({"width": 375, "height": 800})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide at 375"
    shot(page, "contact-375", full=False)


def test_an_agent_opt_out_from_the_page_is_denied_by_the_gate_at_once(
    served: Served, page: Any
) -> None:
    number = "+14155550132"
    served.cl.record(number, "opt_in", account="acme", purpose="marketing", source="api")
    assert served.cl.check(number, from_=ACME_LINE, purpose="marketing").allowed
    sign_in(page, served, "acme-write")
    page.goto(f"{served.url}/ui/contacts/{number}")
    page.get_by_label("Change").select_option("opt_out")
    page.get_by_label("Where").select_option("account:acme")
    page.get_by_label("Note").fill("Customer asked by phone")
    page.get_by_role("button", name="Record", exact=True).click()
    page.get_by_text("Recorded. The send gate applies it at once.").wait_for()
    decision = served.cl.check(number, from_=ACME_LINE, purpose="marketing")
    assert (decision.allowed, decision.reason) == (False, "opted_out")
    event = served.cl.history(number, account="acme")[-1]
    assert (event.source, event.proof["actor"]) == ("agent", "acme-write")


def test_a_reviewer_decides_an_ambiguous_reply(served: Served, page: Any) -> None:
    number = "+14155550133"
    served.cl.handle_inbound(from_=number, to=ACME_LINE, text="cancel my appointment")
    sign_in(page, served, "acme-write")
    page.get_by_role("link", name="Review queue", exact=True).first.click()
    item = page.locator("article.review", has_text="cancel my appointment")
    shot(page, "review")
    label = item.locator("label").first.inner_text()
    page.get_by_label(label).fill("They mean the messages")
    item.get_by_role("button", name="Opt-out", exact=True).click()
    page.get_by_text("Decided.").wait_for()
    assert served.cl.check(number, from_=ACME_LINE, purpose="transactional").reason == "opted_out"
    (decided,) = [
        i for i in served.cl.review_list(account="acme", status="decided") if i.address == number
    ]
    assert decided.reviewer == "acme-write"


def test_the_hosted_form_then_yes_from_the_handset_opts_in(served: Served, page: Any) -> None:
    number = "+14155550134"
    page.goto(f"{served.url}/join/acme")
    assert page.get_by_role("checkbox").is_checked() is False
    assert "Msg & data rates may apply" in page.inner_text("main")
    shot(page, "join")
    page.get_by_label("Mobile number").fill("415 555 0134")
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Sign up").click()
    page.get_by_text("Check your phone").first.wait_for()
    (pending,) = served.cl.history(number, account="acme")
    assert (pending.action, pending.source) == ("pending", "web_form")
    assert "HeadlessChrome" in pending.proof["user_agent"] or pending.proof["user_agent"]
    assert served.cl.check(number, from_=ACME_LINE, purpose="marketing").reason == (
        "pending_confirmation"
    )
    result = served.cl.handle_inbound(from_=number, to=ACME_LINE, text="YES")  # the handset
    assert result.event is not None and result.event.action == "opt_in"
    assert served.cl.check(number, from_=ACME_LINE, purpose="marketing").reason == "opted_in"
    sign_in(page, served, "acme-read")
    page.goto(f"{served.url}/ui/contacts/{number}")
    row = page.locator(f'tr[data-line="{ACME_LINE}"][data-purpose="marketing"]')
    assert "opted_in" in row.inner_text()


def test_an_operator_of_another_tenant_gets_404_for_the_contact(served: Served, page: Any) -> None:
    number = "+14155550135"
    served.cl.record(number, "opt_out", account="acme", source="api")
    sign_in(page, served, "globex-write")
    answer = page.goto(f"{served.url}/ui/contacts/{number}")
    assert answer is not None and answer.status == 404
    assert ACME_LINE not in page.content()


def test_a_cross_site_form_post_without_the_token_is_refused(served: Served, page: Any) -> None:
    number = "+14155550136"
    sign_in(page, served, "acme-write")
    page.set_content(  # another site's page, posting to the UI with the operator's browser
        f'<form method="post" action="{served.url}/ui/contacts/{number}/record">'
        '<input name="action" value="opt_in"><input name="where" value="account:acme">'
        '<input name="purpose" value="marketing"><input name="note" value="forged">'
        '<button type="submit">Go</button></form>'
    )
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Go").click()
    assert navigation.value is not None and navigation.value.status == 403
    assert served.cl.history(number, account="acme") == []


def test_a_read_only_operator_sees_no_write_action_and_a_forged_write_is_refused(
    served: Served, page: Any
) -> None:
    number = "+14155550137"
    served.cl.record(number, "opt_in", account="acme", purpose="marketing", source="api")
    sign_in(page, served, "acme-read")
    page.goto(f"{served.url}/ui/contacts/{number}")
    assert page.get_by_role("button", name="Record").count() == 0
    assert page.locator("form[action*='change-number'], a[href*='/erase']").count() == 0
    assert page.get_by_role("link", name="Export everything held (JSON)").count() == 0
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    forged = page.request.post(
        f"{served.url}/ui/contacts/{number}/record",
        form={"csrf": csrf, "action": "opt_out", "where": "account:acme", "note": "forged"},
    )
    assert forged.status == 403
    assert len(served.cl.history(number, account="acme")) == 1


def test_an_import_upload_dry_run_then_run_by_labelled_fields(
    served: Served, page: Any, tmp_path: Path
) -> None:
    number = "+14155550138"
    csv_file = tmp_path / "crm.csv"
    csv_file.write_text(f"Phone,SMS Opt Out\n{number},true\nnot-a-number,false\n")
    sign_in(page, served, "acme-write")
    page.get_by_role("link", name="Imports", exact=True).click()
    page.get_by_label("Account the list is for").select_option("acme")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and map the columns").click()
    page.get_by_role("heading", name="Map the columns of crm.csv").wait_for()
    assert page.get_by_label("Column for address").input_value() == "Phone"
    page.get_by_label("Preset", exact=True).select_option("legacy-opt-out")
    page.get_by_label("Column the preset reads").select_option("SMS Opt Out")
    shot(page, "import-map")
    page.set_viewport_size({"width": 375, "height": 800})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the mapping page is {width} px wide at 375"
    page.get_by_role("button", name="Dry run").click()
    page.get_by_text("Dry run done: nothing was written.").wait_for()
    assert served.cl.history(number, account="acme") == []
    page.get_by_role("button", name="Run the import").click()
    page.get_by_text("Import done.").wait_for()
    shot(page, "import-report")
    assert [e.action for e in served.cl.history(number, account="acme")] == ["opt_out"]
    with page.expect_download() as download:
        page.get_by_role("link", name="Download every row left out (CSV)").click()
    assert "invalid_address" in Path(download.value.path()).read_text()


def test_the_setup_page_and_the_lint_before_saving(served: Served, page: Any) -> None:
    sign_in(page, served, "acme-admin")
    page.get_by_role("link", name="Setup", exact=True).click()
    assert page.locator('tr[data-account="shop"]').count() == 1
    shot(page, "setup")
    page.goto(f"{served.url}/ui/setup/accounts/acme/settings")
    page.get_by_label("Opt in keywords").fill("OK")
    page.get_by_role("button", name="Check").click()
    finding = page.locator('p.finding[data-setting="opt_in_keywords"]')
    assert "everyday word" in finding.inner_text()
    shot(page, "setup-settings")
    page.set_viewport_size({"width": 375, "height": 800})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the settings page is {width} px wide at 375"
    assert served.cl.account_settings("acme", effective=False).opt_in_keywords == ()


def test_the_dashboard_and_a_report_with_its_chart_and_csv(served: Served, page: Any) -> None:
    numbers = [f"+141555501{40 + i}" for i in range(12)]
    for number in numbers:
        served.cl.record(number, "opt_in", account="acme", purpose="marketing", source="api")
    list(served.cl.check_many(numbers, from_=ACME_LINE, purpose="marketing", campaign="spring"))
    now = datetime.now(UTC)
    for i, number in enumerate(numbers[:9]):  # opt-outs over the last days, on both lines
        line = SHOP_LINE if i % 3 else ACME_LINE
        when = now - timedelta(days=(i * 5) % 17)
        served.cl.record(number, "opt_out", line=line, source="keyword", occurred_at=when)
    sign_in(page, served, "acme-read")  # lands on the dashboard
    chart = page.get_by_role("img", name="Opt-outs per day by line", exact=False)
    assert chart.count() == 1 and SHOP_LINE in page.inner_text("main")
    assert page.locator("table.sends", has_text="spring").count() == 1
    shot(page, "dashboard")
    page.get_by_role("link", name="Reports", exact=True).click()
    page.get_by_role("link", name="opt-outs").click()
    page.get_by_label("source", exact=True).check()
    page.get_by_label("Per", exact=True).select_option("week")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/ui/reports/opt_outs?*bucket=week*")
    assert page.locator("table.report thead").inner_text().split()[:3] == ["week", "line", "source"]
    assert page.get_by_role("img").count() == 1
    shot(page, "report")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    header = Path(download.value.path()).read_text().splitlines()[0]
    assert header.startswith("week,line,source,opt_outs")
    page.set_viewport_size({"width": 375, "height": 800})
    for path in ("/ui/dashboard", "/ui/reports/opt_outs"):
        page.goto(f"{served.url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width} px wide at 375"
    shot(page, "report-375", full=False)
