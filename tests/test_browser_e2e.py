"""The front end `chatkit-fix init` generates, built with Next.js and driven in Debian's headless Chromium.

The front-end pitfalls only show in a browser: the CDN script missing (a blank widget), no bearer token (401),
a widget hidden before it initialises. Here the generated Next.js app (dependencies from the lockfile in
tests/browser/next-app/) is built with `next build`, served by `next start` on 127.0.0.1 and talks to the generated
back end (uvicorn, the fake OpenAI server behind it, wrapped by tests/browser/recorder.py so the test sees what
the back end received). Playwright drives /usr/bin/chromium through `executable_path`; no browser is downloaded.

The real CDN cannot be reached, so https://cdn.platform.openai.com/deployments/chatkit/chatkit.js is routed to
the stand-in `verify --cdn-stub` serves (chatkit_fix/verify/browser_assets/chatkit_stub.js; it says so on screen),
defining `<openai-chatkit>` the way @openai/chatkit-react uses it, speaking the real ChatKit protocol through
`options.api.fetch`. Every other request that leaves 127.0.0.1 is aborted and must not happen.

This suite covers the production build (`next build`, `next start`) and what the back end receives; the broken
front ends and their fixes are driven through `chatkit-fix verify --browser` in tests/test_browser_verify.py.
Screenshots are kept in $CHATKIT_FIX_TEST_CACHE/artifacts/.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from browser import harness
from scaffold_support import chatkit_client as ck
from scaffold_support.projects import generate
from scaffold_support.servers import base_env, uvicorn_app

from chatkit_fix.verify.fake_openai import FakeOpenAI, FakeScript
from chatkit_fix.verify.processes import free_port

pytestmark = pytest.mark.slow

APPS = ("generated",)  # the front ends this suite builds: one `next build` each (~66 s)
TOKEN_STORAGE_KEY = "chatkit.accessToken"  # where the generated widget's default getToken reads the token
REPLY_TIMEOUT_MS = 30_000


def say(config: pytest.Config, message: str) -> None:
    """Print now, past pytest's capture: paths of artifacts and timings belong in the CI log."""
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(f"\n[browser-e2e] {message}", flush=True)


@dataclass
class FrontApp:
    name: str
    project: Path
    origin: str


@dataclass
class E2E:
    """The session's shared pieces: Chromium, the back end, and the front ends built so far."""

    config: pytest.Config
    browser: Any
    node_modules: Path
    workdir: Path
    backend_url: str
    fake_openai_url: str
    request_log: Path
    ports: dict[str, int]
    stack: contextlib.ExitStack
    apps: dict[str, FrontApp] = field(default_factory=dict)
    broken_builds: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def mark(self) -> int:
        """A bookmark in the back end's request log."""
        return len(self.request_log.read_text().splitlines()) if self.request_log.exists() else 0

    def received(self, since: int) -> list[dict[str, Any]]:
        """What the back end received since `since`."""
        lines = self.request_log.read_text().splitlines() if self.request_log.exists() else []
        return [json.loads(line) for line in lines[since:]]

    def frontend_env(self) -> dict[str, str]:
        return base_env({"NEXT_TELEMETRY_DISABLED": "1", "NEXT_PUBLIC_CHATKIT_API_URL": f"{self.backend_url}/chatkit"})

    def app(self, name: str, edit: Callable[[Path], None] | None = None) -> FrontApp:
        """The generated project, changed by `edit`, built and served (once per session and name)."""
        if name in self.apps:
            return self.apps[name]
        if name in self.broken_builds:  # one failed build is enough: the other tests of this app fail at once
            pytest.fail(f"the {name!r} front end did not build or start: {self.broken_builds[name]}")
        project = self.workdir / name
        shutil.rmtree(project, ignore_errors=True)
        try:
            self.apps[name] = self._build_and_serve(name, project, edit)
        except (AssertionError, RuntimeError, subprocess.SubprocessError) as exc:
            self.broken_builds[name] = str(exc)[:2000]
            raise
        return self.apps[name]

    def _build_and_serve(self, name: str, project: Path, edit: Callable[[Path], None] | None) -> FrontApp:
        generate(project, framework="next", store="memory", auth="jwt", mcp=False)
        if edit is not None:
            edit(project)
        frontend = project / "frontend"
        harness.prepare_frontend(frontend, self.node_modules)
        seconds = harness.next_build(frontend, self.frontend_env())
        self.timings[f"next build ({name})"] = seconds
        say(self.config, f"next build of the {name!r} front end: {seconds:.1f}s")
        origin = self.stack.enter_context(harness.next_server(frontend, self.ports[name], self.frontend_env()))
        return FrontApp(name=name, project=project, origin=origin)


@pytest.fixture(scope="module")
def e2e(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2E]:
    try:
        chromium = harness.find_chromium()
        _, npm = harness.find_node()
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise harness.Unavailable(f"the Python package playwright is not installed ({exc})") from exc
        node_modules, npm_seconds = harness.installed_node_modules(npm)
    except harness.Unavailable as exc:
        pytest.skip(str(exc))
    timings: dict[str, float] = {}
    if npm_seconds is None:
        say(request.config, f"npm ci: reused {node_modules}")
    else:
        timings["npm ci"] = npm_seconds
        say(request.config, f"npm ci into {node_modules}: {npm_seconds:.1f}s")

    workdir = tmp_path_factory.mktemp("browser-e2e")
    ports = {name: free_port() for name in APPS}
    with contextlib.ExitStack() as stack:
        fake = stack.enter_context(FakeOpenAI(script=FakeScript(reply="Echo: {last_user_text}", tool_call="never")))
        backend = workdir / "backend-project"
        generate(backend, framework="next", store="memory", auth="jwt", mcp=False)
        (backend / "chatkit_e2e_recorder.py").write_text(harness.RECORDER.read_text())
        request_log = workdir / "backend-requests.jsonl"
        env = base_env(
            {
                **fake.env(),
                "CHATKIT_JWT_SECRET": ck.TEST_JWT_SECRET,
                "CHATKIT_CORS_ORIGINS": ",".join(f"http://127.0.0.1:{port}" for port in ports.values()),
                "CHATKIT_E2E_REQUEST_LOG": str(request_log),
            }
        )
        server = stack.enter_context(uvicorn_app("chatkit_e2e_recorder:app", backend, env))
        playwright = stack.enter_context(sync_playwright())
        started = time.monotonic()
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=harness.CHROMIUM_ARGS)
        stack.callback(browser.close)
        timings["chromium launch"] = time.monotonic() - started
        session = E2E(
            config=request.config,
            browser=browser,
            node_modules=node_modules,
            workdir=workdir,
            backend_url=server.url,
            fake_openai_url=fake.base_url,
            request_log=request_log,
            ports=ports,
            stack=stack,
            timings=timings,
        )
        yield session
    report = {name: round(seconds, 1) for name, seconds in session.timings.items()}
    (harness.artifacts_dir() / "browser-e2e-timings.json").write_text(json.dumps(report, indent=2) + "\n")
    say(request.config, f"timings (seconds): {report}")


@dataclass
class PageRun:
    page: Any
    script_requests: list[tuple[str, str]] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


@contextlib.contextmanager
def browser_page(e2e: E2E, token: str | None) -> Iterator[PageRun]:
    """A fresh browser context: the CDN script served from the stub, nothing else leaving 127.0.0.1, and the access
    token in localStorage before the app's scripts run (where a signed-in user's token would be)."""
    context = e2e.browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    run = PageRun(page=page)
    stub = harness.STUB_SCRIPT.read_text()

    def local_only(route: Any) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            run.foreign_requests.append(route.request.url)
            route.abort()

    def cdn_stub(route: Any) -> None:
        run.script_requests.append((route.request.url, route.request.resource_type))
        route.fulfill(status=200, content_type="text/javascript; charset=utf-8", body=stub)

    context.route("**/*", local_only)
    context.route(harness.CDN_URL, cdn_stub)  # routes registered later are tried first
    if token is not None:
        context.add_init_script(f"window.localStorage.setItem({json.dumps(TOKEN_STORAGE_KEY)}, {json.dumps(token)});")
    page.on("pageerror", lambda error: run.page_errors.append(str(error)))
    page.on("console", lambda message: run.console.append(f"{message.type}: {message.text}"))
    try:
        yield run
    finally:
        context.close()


def screenshot(e2e: E2E, run: PageRun, name: str) -> Path:
    path = harness.artifacts_dir() / f"browser-{name}.png"
    run.page.screenshot(path=str(path), full_page=True)
    say(e2e.config, f"screenshot: {path}")
    return path


def send(run: PageRun, text: str) -> None:
    """Type into the widget's composer and press Send (the stub's controls, inside its shadow root)."""
    run.page.get_by_label("Message").fill(text)
    run.page.get_by_role("button", name="Send").click()


def widget_alert(run: PageRun) -> Any:
    """The generated widget's error line (its onError handler); Next's route announcer is an alert too."""
    return run.page.locator("main [role=alert]")


def wait_initialised(run: PageRun) -> None:
    from playwright.sync_api import expect

    expect(run.page.locator("openai-chatkit")).to_have_attribute("data-stub-initialized", "true", timeout=30_000)


def chat_in_browser(e2e: E2E, app: FrontApp, shot: str) -> None:
    """The checks every working front end passes: the CDN script is loaded, the widget initialises, two messages
    get streamed replies, and the back end received `Authorization: Bearer <token>` on every ChatKit request."""
    from playwright.sync_api import expect

    token = ck.token("alice")
    since = e2e.mark()
    with browser_page(e2e, token) as run:
        run.page.goto(app.origin + "/")
        wait_initialised(run)
        assert run.script_requests, "the page never requested the ChatKit CDN script"
        assert all(item == (harness.CDN_URL, "script") for item in run.script_requests), run.script_requests

        send(run, "Hello from Chromium")
        replies = run.page.locator("openai-chatkit p.assistant[data-done=true]")
        expect(replies).to_have_text(["Echo: Hello from Chromium"], timeout=REPLY_TIMEOUT_MS)
        send(run, "And once more")
        expect(replies).to_have_text(["Echo: Hello from Chromium", "Echo: And once more"], timeout=REPLY_TIMEOUT_MS)
        expect(widget_alert(run)).to_have_count(0)
        assert run.page.evaluate("localStorage.getItem('chatkit.threadId')").startswith("thr_")
        screenshot(e2e, run, shot)

        assert run.foreign_requests == [], "requests left 127.0.0.1"
        assert run.page_errors == [], run.page_errors

    received = e2e.received(since)
    posts = [entry for entry in received if entry["method"] == "POST"]
    assert [entry["request_type"] for entry in posts] == ["threads.create", "threads.add_user_message"], received
    for entry in posts:
        assert entry["path"] == "/chatkit"
        assert entry["authorization"] == f"Bearer {token}", entry
        assert entry["content_type"] == "application/json", "the widget's fetch must keep ChatKit's own headers"
        assert entry["origin"] == app.origin
        assert entry["status"] == 200, entry
    # No preflight reaches the back end here: with a route set, Playwright answers preflights itself.
    # test_backend_answers_the_browsers_own_preflight covers CORS without routes.
    assert {entry["method"] for entry in received} == {"POST"}, received


# --- the generated front end ------------------------------------------------------------------------------------


def test_generated_widget_chats_with_the_backend(e2e: E2E) -> None:
    chat_in_browser(e2e, e2e.app("generated"), "generated")


def test_minimized_widget_is_not_in_the_dom_until_opened(e2e: E2E) -> None:
    """A ChatKit mounted while hidden may never initialise: the generated widget unmounts it when minimized."""
    from playwright.sync_api import expect

    app = e2e.app("generated")
    with browser_page(e2e, ck.token("bob")) as run:
        page = run.page
        page.goto(app.origin + "/")
        wait_initialised(run)  # the generated page starts open
        chatkit = page.locator("openai-chatkit")

        page.get_by_role("button", name="Close chat").click()
        expect(chatkit).to_have_count(0)
        expect(page.get_by_role("button", name="Open chat")).to_have_attribute("aria-expanded", "false")

        page.get_by_role("button", name="Open chat").click()
        expect(chatkit).to_have_count(1)
        wait_initialised(run)
        expect(chatkit).to_be_visible()
        assert page.evaluate("window.__chatkitStub.setOptionsCalls") == 2, "opening must initialise a new element"
        assert page.evaluate("window.__chatkitStub.scriptRuns") == 1
        send(run, "After reopening")
        expect(page.locator("openai-chatkit p.assistant[data-done=true]")).to_have_text(
            ["Echo: After reopening"], timeout=REPLY_TIMEOUT_MS
        )
        assert run.page_errors == [] and run.foreign_requests == []


def test_backend_answers_the_browsers_own_preflight(e2e: E2E) -> None:
    """CORS as the browser does it. Once any route is set Playwright answers CORS preflights itself, so the chat
    tests never show the back end's CORS; here a context without routes sends the widget's kind of request (JSON,
    a bearer token) from the Next origin, and from an origin not in CHATKIT_CORS_ORIGINS (refused)."""
    app = e2e.app("generated")
    asset = re.search(r'/_next/static/[^"]+?\.js', httpx.get(app.origin + "/", timeout=30).text)
    assert asset, "no script in the page Next served"
    token = ck.token("erin")
    post = """async ([url, token]) => {
        try {
            const response = await fetch(url, {
                method: "POST",
                headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
                body: JSON.stringify({ type: "threads.list", params: { limit: 5, order: "desc" } }),
            });
            return { status: response.status, body: await response.json() };
        } catch (error) {
            return { error: String(error) };
        }
    }"""
    context = e2e.browser.new_context()
    try:
        page = context.new_page()
        since = e2e.mark()
        # A document of the Next origin that runs no script (nothing can leave 127.0.0.1 without routes).
        page.goto(app.origin + asset[0])
        allowed = page.evaluate(post, [f"{e2e.backend_url}/chatkit", token])
        received = _received_at_least(e2e, since, 2)
        assert allowed == {"status": 200, "body": {"data": [], "has_more": False}}, allowed
        assert [(e["method"], e["origin"], e["status"]) for e in received] == [
            ("OPTIONS", app.origin, 200),
            ("POST", app.origin, 200),
        ], received

        since = e2e.mark()
        page.goto(f"{e2e.fake_openai_url}/models")  # another 127.0.0.1 origin, not allowed by the back end
        refused = page.evaluate(post, [f"{e2e.backend_url}/chatkit", token])
        received = _received_at_least(e2e, since, 1)
        assert "error" in refused, refused
        assert [(e["method"], e["status"]) for e in received] == [("OPTIONS", 400)], received
    finally:
        context.close()


def _received_at_least(e2e, since, count: int, timeout: float = 5.0) -> list:
    """What the back end recorded since `since`, waiting briefly: the browser may be done before the log is."""
    deadline = time.monotonic() + timeout
    received = e2e.received(since)
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        received = e2e.received(since)
    return received
