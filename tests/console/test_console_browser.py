"""The console in a real browser: Playwright driving the system Chromium (never a downloaded one).

Runs a real ``uvicorn`` server on the app, on SQLite (the pages are the same on
both databases; the HTTP-level tests cover PostgreSQL).  Without Chromium the
tests skip with a message, except in CI (``CI`` set), where they fail: CI
installs the Debian package ``chromium`` (see ``.ci/run``).

Every page is scanned with axe-core for serious or critical violations: the npm
package pinned in ``axe-core.lock``, fetched by ``make axe-core`` (``npm pack``, checked
against the lock's integrity; ``make test`` and ``.ci/run`` run it, never the tests) and
injected by the test.  Without it the scan skips with a message, except in CI, where
it fails.  Pages are screenshotted into ``$HUSHDB_TEST_ARTIFACTS`` (default: a pytest
temporary directory).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_tools import make_console

from core.config import running_in_ci

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
PAGES = ("/console/dashboard", "/console/audit", "/console/review", "/console/people/B-1", "/console/policy")
AXE_LOCK = Path(__file__).with_name("axe-core.lock")
ROOT = Path(__file__).resolve().parents[2]
FLAGGED_NAME = "Daughter Killed In Car Crash"


def _chromium() -> str | None:
    configured = os.environ.get("HUSHDB_CHROMIUM")
    for path in (configured, *CHROMIUM_CANDIDATES, shutil.which("chromium")):
        if path and Path(path).is_file() and os.access(path, os.X_OK):
            return path
    return None


def _need(reason: str) -> None:
    if running_in_ci():
        pytest.fail(f"CI is set but {reason} (the CI script installs it: .ci/run)")
    pytest.skip(f"browser tests skipped: {reason} (install the Debian package chromium to run them)")


def _axe_path() -> Path:
    """axe.min.js: ``$HUSHDB_AXE_CORE``, else where ``make axe-core`` unpacks the pinned version."""
    configured = os.environ.get("HUSHDB_AXE_CORE")
    if configured:
        return Path(configured)
    lock = dict(
        line.split("=", 1) for line in AXE_LOCK.read_text(encoding="utf-8").splitlines() if "=" in line
    )
    return ROOT / ".venv" / f"axe-core-{lock['version']}" / "package" / "axe.min.js"


@pytest.fixture(scope="module")
def axe_source() -> str:
    """The axe-core script from the npm package (never downloaded here: see ``make axe-core``)."""
    path = _axe_path()
    if not path.is_file():
        reason = f"axe-core is not fetched ({path} is missing; `make axe-core` fetches it with npm)"
        if running_in_ci():
            pytest.fail(f"CI is set but {reason}")
        pytest.skip(f"accessibility scan skipped: {reason}")
    source = path.read_text(encoding="utf-8")
    assert source.startswith("/*! axe v"), f"{path} is not axe-core"
    return source


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only here (see the module docstring)."""
    return f"sqlite:///{tmp_path / 'hushdb.sqlite3'}"


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = _chromium()
    if path is None:
        _need("no Chromium is installed")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _need("the playwright package is missing (pip install -e '.[dev]')")
    assert path is not None
    return path


@pytest.fixture
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("HUSHDB_TEST_ARTIFACTS")
    path = Path(configured) / "console" if configured else tmp_path_factory.mktemp("console-screens")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def server(hush: Any, chromium_path: str) -> Iterator[tuple[str, dict[str, str]]]:
    """A real uvicorn server on the app, in a thread; yields (base URL, API keys by subject)."""
    import uvicorn

    made = make_console(hush)
    port = _free_port()
    config = uvicorn.Config(made.app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the console server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", made.tokens
    finally:
        srv.should_exit = True
        thread.join(timeout=20)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


def _sign_in(page: Any, base: str, token: str) -> None:
    page.goto(f"{base}/console/sign-in")
    page.get_by_label("API key").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _axe(page: Any, source: str) -> list[str]:
    """Serious or critical axe-core violations of the page (the script is injected by the test).

    ``page.evaluate`` runs in the page through the DevTools protocol, so the console's
    Content-Security-Policy (no inline scripts) stays as it is for the page itself.
    """
    page.evaluate(source)
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    assert results["testEngine"]["name"] == "axe-core"
    return [
        f"{v['id']} ({v['impact']}): {v['help']} [{len(v['nodes'])} node(s)]"
        for v in results["violations"]
        if v.get("impact") in ("serious", "critical")
    ]


def _seed(base: str, tokens: dict[str, str]) -> None:
    import httpx

    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {tokens['alice']}"}, timeout=60
    ) as client:
        for i in range(1, 4):
            body = {
                "external_id": f"B-{i}",
                "full_name": "Daughter Killed In Car Crash" if i == 1 else f"Person {i}",
            }
            assert client.post("/customers", json=body, headers={"X-Purpose": "service"}).status_code == 201
        for _ in range(60):
            client.get("/customers/B-2", headers={"X-Purpose": "service"})
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {tokens['bob']}"}, timeout=60
    ) as client:
        client.get("/customers/B-2", headers={"X-Purpose": "service"})  # a denial


def test_compliance_officer_uses_every_page(
    server: tuple[str, dict[str, str]], browser: Any, artefacts: Path
) -> None:
    base, tokens = server
    _seed(base, tokens)
    page = browser.new_page()
    _sign_in(page, base, tokens["cora"])
    assert page.url.endswith("/console/dashboard")
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.locator("img.chart").evaluate("img => img.complete && img.naturalWidth > 0")
    for path in PAGES:
        page.goto(base + path)
        assert page.locator("h1").first.is_visible(), path
        page.screenshot(path=str(artefacts / (path.strip("/").replace("/", "_") + ".png")), full_page=True)
    # the explorer pages by cursor
    page.goto(base + "/console/audit?subject=alice")
    first = page.locator("table.events tbody tr").count()
    assert first == 50
    page.get_by_role("link", name="Older events").click()
    page.wait_for_load_state()
    assert "before=" in page.url and page.locator("table.events tbody tr").count() >= 1
    # the person page offers the review decisions and the flags
    page.goto(base + "/console/people/B-1")
    assert page.get_by_role("group", name="Resolve the review of B-1").is_visible()
    assert page.get_by_role("group", name="Set a suppression flag").is_visible()
    page.close()
    # reading works with JavaScript disabled
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    _sign_in(page, base, tokens["cora"])
    page.goto(base + "/console/audit?decision=deny")
    assert page.locator("table.events tbody tr.deny").count() >= 1
    page.goto(base + "/console/people/B-2")
    assert page.get_by_role("heading", name="Who saw this person's data").is_visible()
    page.screenshot(path=str(artefacts / "person_no_js.png"), full_page=True)
    context.close()


def test_every_page_passes_the_accessibility_scan(
    server: tuple[str, dict[str, str]], browser: Any, axe_source: str, artefacts: Path
) -> None:
    """axe-core (npm) on every page of every role, the sign-in and a refusal page included."""
    base, tokens = server
    _seed(base, tokens)
    first_event = None
    problems: dict[str, list[str]] = {}
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/console/sign-in")
    problems["/console/sign-in"] = _axe(page, axe_source)
    for subject, paths in (
        (
            "cora",
            (
                *PAGES,
                "/console/people",
                "/console/people/B-2",
                "/console/audit?decision=deny",
                "/console/profiling",  # a 403 page
            ),
        ),
        ("dana", ("/console/requests", "/console/policy")),
        ("ana", ("/console/profiling",)),
        ("adm", ("/console/policy",)),
    ):
        context.close()
        context = browser.new_context()
        page = context.new_page()
        _sign_in(page, base, tokens[subject])
        for path in paths:
            page.goto(base + path)
            assert page.locator("h1").first.is_visible(), path
            problems[f"{subject} {path}"] = _axe(page, axe_source)
        if subject == "cora":
            page.goto(base + "/console/audit")
            first_event = page.locator("table.events tbody tr a").first.get_attribute("href")
            assert first_event
            page.goto(base + first_event)
            problems[f"cora {first_event}"] = _axe(page, axe_source)
            page.goto(base + "/console/review")
            page.get_by_text("Resolve B-1").click()  # the queue's decision form, opened
            problems["cora /console/review (form open)"] = _axe(page, axe_source)
            page.screenshot(path=str(artefacts / "console_review_resolve.png"), full_page=True)
    context.close()
    assert len(problems) >= 15
    assert not {k: v for k, v in problems.items() if v}, problems


def _import_flagged(hush: Any, tmp_path: Path) -> None:
    """A customer flagged at import: a CSV imported as alice (what ``hushdb customers import`` does)."""
    from core.csv_import import customer_rows

    path = tmp_path / "customers.csv"
    path.write_text(
        "external_id,full_name,postal_address,consent_marketing_post\n"
        f"I-1,{FLAGGED_NAME},1 Quay Street Hull,true\n"
        "I-2,Ada Brook,2 Quay Street Hull,true\n",
        encoding="utf-8",
    )
    report = hush.writes.import_customers(
        hush.context("alice", "service"), customer_rows(path, default_owner="alice")
    )
    assert report.imported == 2 and not report.rejected


def _campaign(base: str, token: str, name: str) -> tuple[dict[str, Any], str]:
    """Run a mail-merge campaign as the mail-merge job; its counts and its recipients file."""
    import httpx

    headers = {"Authorization": f"Bearer {token}", "X-Purpose": "marketing"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        # external_id only: a letter merging the flagged name itself stays the outbound gate's business
        body = {"campaign": name, "fields": ["external_id"], "channel": "post"}
        r = client.post("/exports/mailmerge", json=body)
        assert r.status_code == 202, r.text
        job = r.json()["job_id"]
        deadline = time.monotonic() + 60
        while (done := client.get(f"/exports/{job}").json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, done
            time.sleep(0.1)
        assert done["status"] == "succeeded", done
        recipients = client.get(f"/exports/{job}/files/recipients.csv")
        assert recipients.status_code == 200
        return done["manifest"]["counts"], recipients.text


def test_flagged_at_import_resolved_in_the_review_queue_then_served_by_the_next_campaign(
    server: tuple[str, dict[str, str]], browser: Any, hush: Any, tmp_path: Path, artefacts: Path
) -> None:
    base, tokens = server
    _import_flagged(hush, tmp_path)
    counts, recipients = _campaign(base, tokens["mailer"], "before-review")
    assert counts["suppressed"]["under_review"] == 1 and "I-1" not in recipients and "I-2" in recipients
    page = browser.new_page()
    _sign_in(page, base, tokens["cora"])
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Review queue").click()
    page.wait_for_load_state()
    assert "Customers under review: 1" in page.content()
    assert FLAGGED_NAME not in page.content()  # the reason's categories, never the text
    page.get_by_text("Resolve I-1").click()
    form = page.get_by_role("group", name="Resolve the review of I-1")
    form.get_by_label("Clear: letters may go to this customer again").check()
    form.get_by_label("Reason", exact=True).select_option("false_positive")
    form.get_by_label(re.compile("Written reason")).fill("The name line is a broker's marketing slogan")
    form.get_by_role("button", name="Record the decision").click()
    page.wait_for_load_state()
    assert page.url.endswith("/console/review?done=review-cleared")
    assert page.get_by_role("status").inner_text().startswith("The review was cleared")
    assert "Customers under review: 0" in page.content()
    page.screenshot(path=str(artefacts / "console_review_resolved.png"), full_page=True)
    page.close()
    counts, recipients = _campaign(base, tokens["mailer"], "after-review")
    assert counts["suppressed"].get("under_review", 0) == 0, counts
    assert "I-1" in recipients and "I-2" in recipients
    with hush.engine.connect() as conn:
        from audit import queries

        decided = [e for e in queries.events(conn, limit=100000) if e["action"] == "review"]
    assert [(e["subject"], e["detail"]["operation"], e["detail"]["reason_code"]) for e in decided] == [
        ("cora", "review_cleared", "false_positive")
    ]


def test_roles_csrf_and_expiry_in_the_browser(server: tuple[str, dict[str, str]], browser: Any) -> None:
    base, tokens = server
    page = browser.new_page()
    _sign_in(page, base, tokens["alice"])
    assert "use the API" in page.content()  # a sales key is refused
    for subject, allowed, refused in (
        ("dana", "Requests", "/console/dashboard"),
        ("ana", "Profiling", "/console/audit"),
    ):
        context = browser.new_context()
        p = context.new_page()
        _sign_in(p, base, tokens[subject])
        nav = p.get_by_role("navigation", name="Console")
        assert nav.get_by_role("link", name=allowed).is_visible()
        assert nav.get_by_role("link", name="Dashboard").count() == 0
        response = p.goto(base + refused)
        assert response is not None and response.status == 403
        context.close()
    # a forged CSRF token is refused; a session that is gone sends the browser to sign in
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, base, tokens["adm"])
    page.goto(base + "/console/policy")
    page.locator("form[action$='/policy/reload'] input[name=csrf]").evaluate("el => el.value = 'forged'")
    page.get_by_role("button", name="Reload the policy files").click()
    page.wait_for_load_state()
    assert "Not allowed" in page.content()
    context.clear_cookies()  # the session cookie is gone, as after expiry or sign-out
    page.goto(base + "/console/policy")
    assert page.url.endswith("/console/sign-in")
    context.close()
