"""The console in a real browser: Playwright driving the system Chromium (never a downloaded one).

Runs a real ``uvicorn`` server on the app, on SQLite (the pages are the same on
both databases; the HTTP-level tests cover PostgreSQL).  Without Chromium the
tests skip with a message, except in CI (``CI`` set), where they fail: CI
installs the Debian package ``chromium`` (see ``.ci/run``).

Each page is scanned with axe-core (shipped in the ``axe-playwright-python``
wheel, injected by the test) for serious or critical violations, and
screenshotted into ``$HUSHDB_TEST_ARTIFACTS`` (default: a pytest temporary
directory).
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


def _axe(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in results.response["violations"]
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
    problems: dict[str, list[str]] = {}
    for path in PAGES:
        page.goto(base + path)
        assert page.locator("h1").first.is_visible(), path
        page.screenshot(path=str(artefacts / (path.strip("/").replace("/", "_") + ".png")), full_page=True)
        found = _axe(page)
        if found:
            problems[path] = found
    assert not problems, problems
    # the explorer pages by cursor
    page.goto(base + "/console/audit?subject=alice")
    first = page.locator("table.events tbody tr").count()
    assert first == 50
    page.get_by_role("link", name="Older events").click()
    page.wait_for_load_state()
    assert "before=" in page.url and page.locator("table.events tbody tr").count() >= 1
    # the review queue resolved end to end in the browser
    page.goto(base + "/console/review")
    before = int(re.findall(r"Customers under review: (\d+)", page.content())[0])
    assert page.get_by_role("link", name="B-1").count() == 1
    page.get_by_role("link", name="B-1").click()
    page.get_by_label("Clear: letters may go to this customer again").check()
    page.get_by_label("Reason", exact=True).select_option("false_positive")
    page.get_by_label(re.compile("Written reason")).fill("The name line is a broker's marketing slogan")
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_load_state()
    assert "review was cleared" in page.content()
    page.goto(base + "/console/review")
    queue = page.content()
    assert f"Customers under review: {before - 1}" in queue
    assert page.get_by_role("link", name="B-1").count() == 0
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
