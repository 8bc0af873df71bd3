"""`chatkit-fix verify --browser`: the checks of the seed's diagnostic checklist that only a browser can answer, run on
the project's own front end once the back-end checks are done.

The front end is started the way its package.json starts it (the dev script, or build + start with
`--frontend-build`) on a free loopback port, in its own process group, with the environment variable its `api.url`
is read from pointed at the back end verify started; or `--frontend-url` names one already running (its API origin
is then rewritten to verify's back end in the browser). Headless Chromium (Debian's, or Playwright's own) opens the
page that mounts ChatKit with `probe.js` installed before the page's scripts: it records every `setOptions` call and
what ChatKit passes into a custom `api.fetch`, so what reaches the wire can be compared with what ChatKit handed over.

Without internet (`--cdn-stub`) chatkit.js is answered by a local stand-in of the web component
(browser_assets/chatkit_stub.js): it speaks the real ChatKit protocol, so every check below runs, but only the page's
wiring is proven, not OpenAI's widget, and the report says so.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from .processes import LOOPBACK, ProcessError, ServerProcess, child_env, free_port, port_open

if TYPE_CHECKING:
    from .checks import Verifier
    from .frontend_app import FrontendApp

ASSETS = Path(__file__).parent / "browser_assets"
STUB_SCRIPT = ASSETS / "chatkit_stub.js"
PROBE_SCRIPT = ASSETS / "probe.js"
CDN_URL = "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js"
# Needed on this kind of machine: root needs --no-sandbox, and without the background-networking switches Chromium
# keeps trying to reach Google's hosts through a closed network (its connections are then refused).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
SYSTEM_CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MESSAGE = "Hello from chatkit-fix verify --browser"
SCRIPT_WAIT_SECONDS = 15.0
MOUNT_WAIT_SECONDS = 10.0
SHOW_WAIT_SECONDS = 3.0
THEME_WAIT_SECONDS = 5.0
BUILD_TIMEOUT_SECONDS = 900.0
VIEWPORT = {"width": 1000, "height": 900}

# id -> title, in the order they run (the JSON output and the README list them in this order)
BROWSER_CHECKS: dict[str, str] = {
    "browser.frontend": "the front end starts, pointed at the back end verify started",
    "browser.page": "the page that mounts ChatKit opens",
    "browser.script": "chatkit.js is requested and defines <openai-chatkit>",
    "browser.mounted": "<openai-chatkit> is mounted and given its options",
    "browser.visible": "the widget is shown with a height, and was never set up inside display:none",
    "browser.reply": "a message typed in the composer comes back answered and rendered",
    "browser.reload": "after a reload the thread is still there",
    "browser.theme": "the widget follows the page's light/dark mode",
    "browser.token": "every ChatKit request carries a non-empty bearer token",
    "browser.headers": "ChatKit's own headers reach the back end",
    "browser.body": "ChatKit's request bodies reach the back end unchanged",
    "browser.endpoint": "ChatKit's requests reach the back end's ChatKit route",
    "browser.cors": "no CORS error between the page and the back end",
    "browser.console": "no uncaught error in the page",
}


class BrowserSetupError(Exception):
    """verify --browser cannot run here (no Playwright, no Chromium, a bad option): a usage error, exit 2."""


@dataclass
class BrowserOptions:
    frontend_url: str | None = None
    frontend_build: bool = False
    page: str | None = None
    storage_state: Path | None = None
    token: str | None = None
    token_key: str | None = None  # localStorage:KEY, sessionStorage:KEY, cookie:NAME or KEY (localStorage)
    screenshot: Path | None = None
    cdn_stub: bool = False
    click: tuple[str, ...] = ()  # selectors clicked to open the widget (a launcher button)


@dataclass
class ChromiumChoice:
    executable: str | None  # None: Playwright's own default
    description: str


def find_chromium() -> ChromiumChoice:
    """CHATKIT_FIX_CHROMIUM, else Playwright's own Chromium when it is installed, else the system's."""
    override = os.environ.get("CHATKIT_FIX_CHROMIUM")
    if override:
        return ChromiumChoice(override, f"{override} (CHATKIT_FIX_CHROMIUM)")
    with contextlib.suppress(Exception):
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            bundled = playwright.chromium.executable_path
        if bundled and Path(bundled).is_file():
            return ChromiumChoice(None, f"Playwright's Chromium ({bundled})")
    for name in SYSTEM_CHROMIUMS:
        found = shutil.which(name)
        if found:
            return ChromiumChoice(found, f"the system's {name} ({found})")
    raise BrowserSetupError("--browser needs Chromium: install the system's (Debian: apt-get install chromium) or "
                            "Playwright's (python -m playwright install chromium)")


def check_setup(options: BrowserOptions) -> ChromiumChoice:
    """Fail fast, before any server starts, when the browser checks cannot run."""
    if importlib.util.find_spec("playwright") is None:
        raise BrowserSetupError("--browser needs the Python package playwright in chatkit-fix's environment: "
                                "pip install playwright")
    if options.storage_state is not None and not options.storage_state.is_file():
        raise BrowserSetupError(f"--storage-state {options.storage_state}: no such file (save one with "
                                "`playwright codegen --save-storage FILE URL`)")
    if options.frontend_url and not re.match(r"^https?://", options.frontend_url):
        raise BrowserSetupError(f"--frontend-url {options.frontend_url}: expected an http(s) URL")
    if options.token_key is not None:
        parse_token_key(options.token_key)
    return find_chromium()


def parse_token_key(value: str):
    from .frontend_app import TokenPlace

    storage, sep, key = value.partition(":")
    if not sep:
        storage, key = "localStorage", value
    if storage not in ("localStorage", "sessionStorage", "cookie") or not key:
        raise BrowserSetupError(f"--token-key {value!r}: expected KEY, localStorage:KEY, sessionStorage:KEY or "
                                "cookie:NAME")
    return TokenPlace(storage, key, "--token-key")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def swap_origin(url: str, origin: str) -> str:
    """`url` with its scheme and host:port replaced by `origin`'s."""
    parts, target = urlsplit(url), urlsplit(origin)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))


def json_equal(a: str | None, b: str | None) -> bool:
    if a == b:
        return True
    try:
        return json.loads(a or "") == json.loads(b or "")
    except ValueError:
        return False


def assistant_texts(sse: str) -> list[str]:
    """The finished assistant messages' text in a ChatKit event stream."""
    texts = []
    for line in sse.splitlines():
        if not line.startswith("data:"):
            continue
        with contextlib.suppress(ValueError):
            event = json.loads(line[5:].strip())
            item = event.get("item") if isinstance(event, dict) else None
            if event.get("type") == "thread.item.done" and isinstance(item, dict) \
                    and item.get("type") == "assistant_message":
                texts.append("".join(p.get("text", "") for p in item.get("content", []) if isinstance(p, dict)))
    return texts


def _luminance(css_color: str) -> float | None:
    numbers = [float(n) for n in re.findall(r"[\d.]+", css_color)[:3]]
    if len(numbers) < 3:
        return None
    red, green, blue = (n / 255 for n in numbers)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


@dataclass
class WireRequest:
    """A request to the ChatKit endpoint as it left the browser, and how it ended."""

    url: str
    method: str
    headers: dict[str, str]
    body: str | None
    status: int | None = None
    failure: str | None = None
    response_body: str = ""
    request: Any = field(default=None, repr=False)


class BrowserChecks:
    """Runs inside a Verifier's run: `prepare()` before the back end starts, `run()` after its checks."""

    def __init__(self, verifier: Verifier, options: BrowserOptions, chromium: ChromiumChoice):
        self.v = verifier
        self.o = options
        self.chromium = chromium
        self.app: FrontendApp | None = None
        self.app_error: str | None = None
        self.port: int | None = None
        self.origin: str | None = None  # the front end's origin, as the browser sees it
        self.server: ServerProcess | None = None
        self.info: dict[str, Any] = {"cdn": "stand-in (--cdn-stub)" if options.cdn_stub else "OpenAI's CDN",
                                     "chromium": chromium.description}
        self.wire: list[WireRequest] = []
        self.console: list[str] = []
        self.page_errors: list[str] = []
        self.script_requests: list[tuple[str, str | None]] = []  # (url, failure)
        self.api_url: str | None = None
        self.redirect: tuple[str, str] | None = None  # (origin the page calls, verify's back end origin)
        self.token: str | None = None
        self.message = MESSAGE
        self.fetch_calls: list[dict[str, Any]] = []  # what ChatKit passed into api.fetch, over every page load
        self._fetch_calls_seen = 0  # of the current page load's probe
        self.done: set[str] = set()
        verifier.report.setup["browser"] = self.info

    # ---- recording ----------------------------------------------------------------------------------------------

    def record(self, check_id: str, status: str, reason: str, rules: tuple[str, ...] | list[str] = (),
               began: float | None = None, log: str = "") -> None:
        self.done.add(check_id)
        self.v._record(check_id, status, reason, rules, time.monotonic() - began if began else 0.0, log)

    def skip_rest(self, reason: str) -> None:
        from .checks import SKIP

        for check_id in BROWSER_CHECKS:
            if check_id not in self.done:
                self.record(check_id, SKIP, reason)

    # ---- before the back end starts -------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Find the front end, choose its origin and let the back end's CORS allow it (through the variables the
        back end reads its origins from)."""
        from ..analysis.frontend import frontend_model
        from .frontend_app import FrontendNotFound, find_frontend

        d = self.v.d
        try:
            model = frontend_model(_project(d.root))
            self.app = find_frontend(model, d.app.file.parent if d.app.file else None)
        except FrontendNotFound as exc:
            self.app_error = str(exc)
        if self.o.frontend_url:
            self.origin = origin_of(self.o.frontend_url)
        else:
            self.port, host = self._choose_port()
            self.origin = f"http://{host}:{self.port}"
        allowed = []
        for name in d.cors_env:
            current = self.v.env.get(name) or os.environ.get(name) or d.dotenv.get(name) or d.env_reads.get(name) or ""
            if self.origin in current:
                continue
            if current.strip().startswith("["):
                with contextlib.suppress(ValueError):
                    origins = json.loads(current)
                    self.v.env[name] = json.dumps([*origins, self.origin])
                    allowed.append(name)
                    continue
            self.v.env[name] = ",".join(part for part in (current.strip(), self.origin) if part)
            allowed.append(name)
        if allowed:
            self.info["cors_env"] = allowed

    def _choose_port(self) -> tuple[int, str]:
        """A loopback origin the back end already allows when it names one in code and its port is free (its
        origins cannot be extended then), else a free port."""
        d = self.v.d
        if not d.cors_env:
            for origin in d.cors_origins:
                parts = urlsplit(origin)
                if parts.hostname in ("localhost", "127.0.0.1") and parts.port and not port_open(LOOPBACK, parts.port):
                    return parts.port, parts.hostname
        return free_port(), LOOPBACK

    # ---- after the back-end checks ------------------------------------------------------------------------------

    def run(self) -> None:
        from .checks import FAIL

        if self.app_error and not self.o.frontend_url:
            self.record("browser.frontend", FAIL, self.app_error)
            self.skip_rest("no front end to open")
            return
        if self.v.app is None or not self.v.app.alive():
            self.skip_rest("the back end is not running")
            return
        if self.app is not None and self.app.hosted:
            self.skip_rest("hosted mode: the front end gets a client secret from OpenAI, not this back end")
            return
        try:
            if not self._start_frontend():
                self.skip_rest("the front end did not start")
                return
            self._browse()
        finally:
            self.skip_rest("not reached")

    # ---- the front end --------------------------------------------------------------------------------------------

    def _backend_origin(self) -> str:
        assert self.v.app is not None
        return self.v.app.url

    def _api_target(self) -> tuple[dict[str, str], str]:
        """(environment for the dev server, how the API URL was pointed at the back end)."""
        app = self.app
        backend = self._backend_origin()
        endpoint = self.v.path
        if app is None or app.api is None:
            return {}, "no api.url found in the front end"
        api = app.api
        if api.literal is not None:
            if api.literal.startswith("/"):
                return {}, f"api.url is {api.literal!r}, the front end's own origin (proxied to the back end)"
            self.redirect = (origin_of(api.literal), backend)
            return {}, f"api.url is the literal {api.literal!r}: its origin is rewritten to {backend} in the browser"
        if not api.env_name:
            return {}, f"api.url ({api.where}) is not read from an environment variable"
        value, source = api.configured_value(app.root, app.framework)
        if value is None and api.fallback is not None and api.fallback.endswith(api.suffix):
            value, source = api.fallback[: len(api.fallback) - len(api.suffix)] or None, f"the fallback in {api.where}"
        if value is None:
            example = _example_value(app.root, api.env_name)
            if example:
                value, source = example, ".env.example"
        if value is None:
            path = endpoint[: len(endpoint) - len(api.suffix)] if api.suffix and endpoint.endswith(api.suffix) else \
                endpoint
            value, source = backend + path, "nothing sets it: the back end's endpoint"
        elif value.startswith("/"):
            return {}, (f"{api.env_name} is {value!r} ({source}): relative, proxied by the front end to its own "
                        "back end")
        else:
            value = swap_origin(value, backend)
        return {api.env_name: value}, f"{api.env_name}={value} (the path as {source} has it)"

    def _command(self, script: str, port: int) -> list[str]:
        app = self.app
        assert app is not None
        manager = shutil.which(app.package_manager) or app.package_manager
        args: list[str] = []
        if app.framework == "next":
            args = ["--port", str(port), "--hostname", LOOPBACK]
        elif app.framework == "vite":
            args = ["--port", str(port), "--strictPort", "--host", LOOPBACK]
        elif app.framework == "docusaurus":
            args = ["--port", str(port), "--host", LOOPBACK, "--no-open"]
        if not args:
            return [manager, "run", script]
        return [manager, "run", script, "--", *args] if app.package_manager == "npm" else [manager, "run", script,
                                                                                               *args]

    def _start_frontend(self) -> bool:
        from .checks import FAIL, PASS

        began = time.monotonic()
        backend = self._backend_origin()
        if self.o.frontend_url:
            configured = self.app.api if self.app is not None else None
            source = (configured.literal or configured.configured_value(self.app.root, self.app.framework)[0]
                      or configured.fallback) if configured is not None else None
            if source and not source.startswith("/"):
                self.redirect = (origin_of(source), backend)
            how = (f"requests to {self.redirect[0]} are rewritten to {backend} in the browser" if self.redirect
                   else "its API origin is unknown: requests go where it sends them")
            self.info.update({"url": self.o.frontend_url, "api": how})
            self.record("browser.frontend", PASS, f"{self.o.frontend_url} (--frontend-url); {how}", (), began)
            return True
        app = self.app
        assert app is not None and self.port is not None
        if app.framework is None:
            self.record("browser.frontend", FAIL, f"{self.v.d.relative(app.root)}: not Next.js, Vite or Docusaurus; "
                                                  "start it yourself and pass --frontend-url", (), began)
            return False
        if not shutil.which(app.package_manager):
            self.record("browser.frontend", FAIL, f"{app.package_manager} is not installed: the front end cannot be "
                                                  "started (or pass --frontend-url)", (), began)
            return False
        if not _has_node_modules(app.root, self.v.d.root):
            self.record("browser.frontend", FAIL, f"{self.v.d.relative(app.root)} has no node_modules: run "
                                                  f"`{app.package_manager} install` there first", (), began)
            return False
        env, how = self._api_target()
        environment = child_env({**env, "NEXT_TELEMETRY_DISABLED": "1", "BROWSER": "none", "PORT": str(self.port)})
        script = self._script()
        if script is None:
            self.record("browser.frontend", FAIL, f"package.json of {self.v.d.relative(app.root)} has no dev or start "
                                                  "script", (), began)
            return False
        assert self.v.workdir is not None
        if self.o.frontend_build:
            build = self._build(environment)
            if build is not None:
                self.record("browser.frontend", FAIL, build, (), began)
                return False
        argv = self._command(script, self.port)
        self.server = ServerProcess(argv=argv, cwd=app.root, env=environment, host=LOOPBACK, port=self.port,
                                    name="frontend", log_path=self.v.workdir / "frontend.log")
        self.info.update({"command": " ".join(argv), "cwd": self.v.d.relative(app.root), "api": how,
                          "framework": app.framework, "url": self.origin})
        try:
            self.server.start(timeout=max(self.v.o.timeout, 60.0))
        except ProcessError as exc:
            self.v.report.logs["frontend"] = exc.log[-4000:]
            self.record("browser.frontend", FAIL, f"`{' '.join(argv)}` did not start: {str(exc).splitlines()[0]}", (),
                        began, exc.log)
            return False
        self.v.servers.append(self.server)
        self.record("browser.frontend", PASS, f"{app.framework}: `{' '.join(argv)}` in "
                                              f"{self.v.d.relative(app.root)} on {self.origin}; {how}", (), began)
        return True

    def _script(self) -> str | None:
        app = self.app
        assert app is not None
        wanted = {"next": ("start",), "vite": ("preview",), "docusaurus": ("serve",)}.get(app.framework or "", ()) \
            if self.o.frontend_build else ("dev", "start")
        return next((name for name in wanted if name in app.scripts), None)

    def _build(self, environment: dict[str, str]) -> str | None:
        app = self.app
        assert app is not None and self.v.workdir is not None
        if "build" not in app.scripts:
            return "--frontend-build: package.json has no build script"
        manager = shutil.which(app.package_manager) or app.package_manager
        log = self.v.workdir / "frontend-build.log"
        try:
            done = subprocess.run([manager, "run", "build"], cwd=app.root, env=environment, capture_output=True,
                                  text=True, timeout=BUILD_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"`{app.package_manager} run build` failed: {exc}"
        log.write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            self.v.report.logs["frontend-build"] = (done.stdout + done.stderr)[-4000:]
            return f"`{app.package_manager} run build` exited with code {done.returncode}"
        return None

    # ---- the browser ----------------------------------------------------------------------------------------------

    def _browse(self) -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=self.chromium.executable, headless=True,
                                                 args=list(CHROMIUM_ARGS))
            try:
                self._session(browser)
            finally:
                with contextlib.suppress(Exception):
                    browser.close()

    def _page_url(self) -> str:
        base = self.o.frontend_url or self.origin or ""
        if self.o.page:
            return base.rstrip("/") + "/" + self.o.page.lstrip("/")
        if self.o.frontend_url and urlsplit(self.o.frontend_url).path not in ("", "/"):
            return self.o.frontend_url
        page = self.app.pages[0] if self.app is not None and self.app.pages else "/"
        return base.rstrip("/") + page

    def _new_context(self, browser, routed: bool = True):
        kwargs: dict[str, Any] = {"viewport": VIEWPORT, "color_scheme": "light"}
        if self.o.storage_state is not None:
            kwargs["storage_state"] = str(self.o.storage_state)
        context = browser.new_context(**kwargs)
        context.add_init_script(script=PROBE_SCRIPT.read_text(encoding="utf-8"))
        if not routed:
            return context
        if self.redirect is not None:
            source, target = self.redirect

            def rewrite(route) -> None:
                route.continue_(url=target + route.request.url[len(source):])

            context.route(lambda url: url.startswith(source + "/"), rewrite)
        if self.o.cdn_stub:
            stub = STUB_SCRIPT.read_text(encoding="utf-8")
            context.route(CDN_URL, lambda route: route.fulfill(status=200, body=stub,
                                                               content_type="text/javascript; charset=utf-8"))
        return context

    def _place_token(self, context, page_url: str) -> None:
        """A token where the front end's token getter reads it: the option's, else one minted with the back end's
        JWT secret."""
        from .checks import USER_A, hs256_token

        place = parse_token_key(self.o.token_key) if self.o.token_key else (self.app.token if self.app else None)
        token = self.o.token
        if token is None and self.v.auth_mode == "bearer" and self.v.secret:
            token = hs256_token(self.v.secret, USER_A, self.v.o.jwt_claims)
            minted = f"minted with {self.v.secret_source}"
        else:
            minted = "--token"
        if token is None:
            if self.v.auth_mode == "bearer" and self.o.storage_state is None:
                self.info["token"] = "none: the back end wants a bearer token and verify knows no secret (pass " \
                                     "--token or --jwt-secret)"
            return
        self.token = token
        if place is None:
            why = self.app.token_note if self.app is not None else ""
            self.info["token"] = f"not placed: {why or 'no token getter found'}"
            return
        if place.storage == "cookie":
            context.add_cookies([{"name": place.key, "value": token, "url": origin_of(page_url)}])
        else:
            context.add_init_script(script=(
                f"try {{ window.{place.storage}.setItem({json.dumps(place.key)}, {json.dumps(token)}); }} "
                "catch (error) {}"))
        self.info["token"] = f"{minted}, put in {place.describe()}"

    def _watch(self, page) -> None:
        def on_request(request) -> None:
            if request.resource_type == "script" and _is_chatkit_script(request.url):
                self.script_requests.append((request.url, None))
            if self._is_api(request.url) and request.method != "OPTIONS":
                self.wire.append(WireRequest(request.url, request.method, {}, request.post_data, request=request))

        def on_failed(request) -> None:
            failure = request.failure or "failed"
            for index, (url, _) in enumerate(self.script_requests):
                if url == request.url:
                    self.script_requests[index] = (url, failure)
            for item in self.wire:
                if item.request is request:
                    item.failure = failure

        page.on("request", on_request)
        page.on("requestfailed", on_failed)
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}")
                if message.type in ("error", "warning") else None)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def _is_api(self, url: str) -> bool:
        if self.api_url is None:
            return False
        wanted = urlsplit(self.api_url)
        got = urlsplit(url)
        if self.redirect is not None and url.startswith(self.redirect[1]):
            got = urlsplit(self.redirect[0] + url[len(self.redirect[1]):])
        return (got.netloc, got.path.rstrip("/")) == (wanted.netloc, wanted.path.rstrip("/"))

    def _probe(self, page) -> dict[str, Any]:
        with contextlib.suppress(Exception):
            return page.evaluate("() => window.__chatkitFixProbe || null") or {}
        return {}

    def _session(self, browser) -> None:
        from .checks import FAIL, PASS

        page_url = self._page_url()
        self.info["page"] = page_url
        context = self._new_context(browser)
        try:
            self._place_token(context, page_url)
            page = context.new_page()
            self._watch(page)
            began = time.monotonic()
            try:
                response = page.goto(page_url, wait_until="load", timeout=self.v.o.timeout * 1000)
            except Exception as exc:  # noqa: BLE001 - a page that does not load is a failed check
                self.record("browser.page", FAIL, f"{page_url}: {_first_line(exc)}", (), began, self._frontend_log())
                return
            status = response.status if response is not None else None
            if status is not None and status >= 400:
                self.record("browser.page", FAIL, f"{page_url} answered HTTP {status}" +
                            ("" if self.o.page else " (pass --page PATH for the page that mounts ChatKit)"), (), began,
                            self._frontend_log())
                return
            self.record("browser.page", PASS, f"{page_url} (HTTP {status})", (), began)
            if not self._script_check(page):
                return
            if not self._mounted_check(page):
                return
            self._visible_check(page)
            self._chat(page)
            self._reload_check(page)
            self._theme_check(page)
            self._snapshot(page)
            self._request_checks()
            self._cors_check(browser, page_url)
            self._console_check()
        finally:
            with contextlib.suppress(Exception):
                context.close()

    # ---- the checks -----------------------------------------------------------------------------------------------

    def _script_check(self, page) -> bool:
        from ..analysis.frontend import classify_url
        from .checks import FAIL, PASS

        began = time.monotonic()
        with contextlib.suppress(Exception):
            page.wait_for_function("() => window.__chatkitFixProbe && window.__chatkitFixProbe.defined",
                                   timeout=SCRIPT_WAIT_SECONDS * 1000)
        defined = bool(page.evaluate("() => customElements.get('openai-chatkit') !== undefined"))
        requested = [(url, failure, classify_url(url)) for url, failure in self.script_requests]
        stand_in = " (the stand-in: only the page's wiring is proven, not OpenAI's widget)" if self.o.cdn_stub else ""
        if defined:
            source = requested[0][0] if requested else "a script of the page"
            self.record("browser.script", PASS, f"{source} defines <openai-chatkit>{stand_in}", (), began)
            return True
        near_miss = [url for url, _, verdict in requested if verdict == "near-miss"]
        if near_miss:
            self.record("browser.script", FAIL, f"the page loads {near_miss[0]}, not {CDN_URL}: <openai-chatkit> is "
                                                "never defined, the widget stays blank", ("CK102",), began)
        elif not requested:
            self.record("browser.script", FAIL, f"no script of the page requested chatkit.js in "
                                                f"{SCRIPT_WAIT_SECONDS:.0f}s and <openai-chatkit> is not defined: the "
                                                "widget stays blank", ("CK101",), began)
        else:
            url, failure, _ = requested[0]
            hint = "" if self.o.cdn_stub else " (no internet here? pass --cdn-stub to prove the wiring with a stand-in)"
            self.record("browser.script", FAIL, f"{url} was requested but did not define <openai-chatkit>: "
                                                f"{failure or 'it loaded and defined nothing'}{hint}", (), began)
        return False

    def _mounted_check(self, page) -> bool:
        from .checks import FAIL, PASS

        began = time.monotonic()
        clicked = self._show_widget(page)
        probe = self._probe(page)
        calls = probe.get("setOptions") or []
        present = page.locator("openai-chatkit").count()
        opened = f" after clicking {', '.join(clicked)}" if clicked else ""
        if not present:
            self.record("browser.mounted", FAIL, f"no <openai-chatkit> in the page {time.monotonic() - began:.0f}s after "
                                                 f"it loaded{opened}: ChatKit is never mounted (rendered only once a flag "
                                                 "that only onReady sets is true?) or it opens from a control verify "
                                                 "did not find (pass --click SELECTOR)", ("CK109",), began)
            return False
        if not calls:
            self.record("browser.mounted", FAIL, f"<openai-chatkit> is in the page{opened} but setOptions was never "
                                                 "called: nothing gives ChatKit its options", (), began)
            return False
        self.api_url = next((call["url"] for call in reversed(calls) if call.get("url")), None)
        if self.api_url is None:
            self.record("browser.mounted", FAIL, "ChatKit was given no api.url", ("CK106",), began)
            return False
        self.record("browser.mounted", PASS, f"setOptions called {len(calls)} time(s){opened}; api.url "
                                             f"{self.api_url}", (), began)
        return True

    def _show_widget(self, page) -> list[str]:
        """Wait for a shown <openai-chatkit>; open it with --click, else with the page's collapsed disclosure button
        (aria-expanded=false), when it does not show by itself."""
        widget = page.locator("openai-chatkit")
        # chatkit.js has defined the element by now (or never will): a page that shows the widget by itself has
        # mounted it within a moment; one that opens it from a launcher is clicked right away.
        if self._wait_visible(widget, SHOW_WAIT_SECONDS):
            return []
        # A server-rendered launcher is in the page before React listens to it: a click then is lost.
        with contextlib.suppress(Exception):
            page.wait_for_load_state("networkidle", timeout=MOUNT_WAIT_SECONDS * 1000)
        clicked: list[str] = []
        for selector in self.o.click:
            with contextlib.suppress(Exception):
                page.locator(selector).first.click(timeout=5000)
                clicked.append(selector)
        if self.o.click:
            self._wait_visible(widget, MOUNT_WAIT_SECONDS)
            return clicked
        # The launcher says whether it is open: click it again while it still says collapsed (a click that came
        # before hydration), until the widget shows.
        deadline = time.monotonic() + MOUNT_WAIT_SECONDS
        while time.monotonic() < deadline:
            launcher = self._launcher(page)
            if launcher is None:
                break
            label = (launcher.get_attribute("aria-label") or launcher.inner_text() or "").strip()
            with contextlib.suppress(Exception):
                launcher.click(timeout=5000)
                if f"the collapsed button {label!r}" not in clicked:
                    clicked.append(f"the collapsed button {label!r}")
            if self._wait_visible(widget, 1.0):
                break
        return clicked

    @staticmethod
    def _launcher(page):
        """The page's own collapsed disclosure button, or None when there is none or several and none names a chat.
        Buttons inside shadow roots belong to overlays (Next's dev tools), not to the page."""
        candidates = page.locator("button[aria-expanded=false]:visible")
        own = [candidates.nth(index) for index in range(candidates.count())
               if candidates.nth(index).evaluate("(el) => el.getRootNode() === document")]
        if len(own) == 1:
            return own[0]
        chat = [button for button in own
                if re.search(r"(?i)chat|assistant|message|support|help",
                             (button.get_attribute("aria-label") or "") + " " + button.inner_text())]
        return chat[0] if len(chat) == 1 else None

    @staticmethod
    def _wait_visible(locator, seconds: float) -> bool:
        with contextlib.suppress(Exception):
            locator.first.wait_for(state="visible", timeout=seconds * 1000)
            return True
        return False

    def _visible_check(self, page) -> None:
        from .checks import FAIL, PASS

        began = time.monotonic()
        calls = self._probe(page).get("setOptions") or []
        hidden = [call for call in calls if not call.get("rendered")]
        widget = page.locator("openai-chatkit").first
        box = None
        with contextlib.suppress(Exception):
            box = widget.bounding_box(timeout=2000)
        if hidden:
            by = hidden[0].get("hiddenBy") or "an ancestor"
            self.record("browser.visible", FAIL, f"ChatKit was given its options while {by} had display:none: the web "
                                                 "component sizes its frame then and stays blank once shown",
                        ("CK105",), began)
        elif box is None or box["height"] < 1 or box["width"] < 1:
            hider = page.evaluate(
                "(el) => { for (let n = el; n && n.nodeType === 1; n = n.parentElement) "
                "if (getComputedStyle(n).display === 'none') return n.outerHTML.slice(0, 120); return null; }",
                widget.element_handle())
            if hider:
                self.record("browser.visible", FAIL, f"<openai-chatkit> is inside {hider}", ("CK105",), began)
            else:
                self.record("browser.visible", FAIL, "<openai-chatkit> has no height: the web component has none of "
                                                     "its own (give it a className or style height)", ("CK107",), began)
        elif not widget.is_visible():
            self.record("browser.visible", FAIL, "<openai-chatkit> has a size but is not visible (visibility: hidden)",
                        (), began)
        else:
            self.record("browser.visible", PASS, f"{box['width']:.0f}x{box['height']:.0f} px, shown when it was set "
                                                 "up", (), began)
            if self.o.screenshot is not None:
                self._screenshot(page)

    def _screenshot(self, page) -> None:
        """The widget (the whole page when it cannot be cut out); taken after the reply when there is one."""
        path = self.o.screenshot
        assert path is not None
        with contextlib.suppress(Exception):
            path.parent.mkdir(parents=True, exist_ok=True)
            widget = page.locator("openai-chatkit").first
            if widget.is_visible():
                widget.screenshot(path=str(path), timeout=5000)
            else:
                page.screenshot(path=str(path), full_page=True)
            self.info["screenshot"] = str(path)

    def _composer(self, page):
        """The widget's message box: in its shadow root (the stand-in) or in its frame (OpenAI's widget)."""
        inside = page.locator("openai-chatkit").get_by_role("textbox")
        if inside.count():
            return inside.first
        return page.frame_locator("openai-chatkit iframe").first.get_by_role("textbox").first

    def _chat(self, page) -> None:
        from .checks import FAIL, PASS

        began = time.monotonic()
        text = f"{MESSAGE} {secrets.token_hex(3)}"
        self.message = text
        mark = len(self.wire)
        try:
            composer = self._composer(page)
            composer.fill(text, timeout=10_000)
            composer.press("Enter")
        except Exception as exc:  # noqa: BLE001
            self.record("browser.reply", FAIL, f"could not type into the composer: {_first_line(exc)}", (), began)
            return
        deadline = time.monotonic() + self.v.o.timeout
        while time.monotonic() < deadline and not self._settled(mark):
            page.wait_for_timeout(100)
        self._collect()
        sent = self.wire[mark:]
        if not sent:
            self.record("browser.reply", FAIL, f"nothing was sent to {self.api_url} after typing and pressing Enter",
                        (), began)
            return
        replies = [reply for item in sent for reply in assistant_texts(item.response_body) if reply.strip()]
        if not replies:
            last = sent[-1]
            why = last.failure or (f"HTTP {last.status}" if last.status else "no answer")
            body = f": {last.response_body[:160]}" if last.response_body and not last.failure else ""
            self.record("browser.reply", FAIL, f"the message got no assistant answer ({why}{body}); see the checks "
                                               "below for why", (), began, self.v.app.log()[-3000:] if self.v.app else "")
            return
        reply = replies[-1]
        shown = self._shows(page, reply[:60])
        if not shown:
            self.record("browser.reply", FAIL, f"the back end answered {reply[:80]!r} but the widget does not show it",
                        (), began)
            return
        self.record("browser.reply", PASS, f"{text!r} answered {reply[:80]!r}, shown in the widget", (), began)
        if self.o.screenshot is not None:
            self._screenshot(page)

    def _settled(self, mark: int) -> bool:
        """Every ChatKit request since `mark` has ended, and one at least was made."""
        pending = self.wire[mark:]
        if not pending:
            return False
        for item in pending:
            if item.failure is not None:
                continue
            response = None
            with contextlib.suppress(Exception):
                response = item.request.response()
            if response is None:
                return False
            try:
                response.finished()
            except Exception:  # noqa: BLE001
                return False
        return True

    def _collect(self) -> None:
        for item in self.wire:
            if item.status is not None or item.request is None:
                continue
            with contextlib.suppress(Exception):
                item.headers = item.request.all_headers()
            with contextlib.suppress(Exception):
                response = item.request.response()
                if response is not None:
                    item.status = response.status
                    item.response_body = response.body().decode("utf-8", "replace")

    def _shows(self, page, text: str, seconds: float = 10.0) -> bool:
        """Whether the widget shows `text` (in its shadow root, or in a frame)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if page.locator("openai-chatkit").get_by_text(text, exact=False).first.is_visible():
                    return True
            for frame in page.frames[1:]:
                with contextlib.suppress(Exception):
                    if frame.get_by_text(text, exact=False).first.is_visible():
                        return True
            page.wait_for_timeout(200)
        return False

    def _reload_check(self, page) -> None:
        from .checks import FAIL, PASS, SKIP

        began = time.monotonic()
        reply = self.v.report.check("browser.reply")
        if reply is None or reply.status != PASS:
            self.record("browser.reload", SKIP, "no conversation to find again")
            return
        self._snapshot(page)
        mark = len(self.wire)
        try:
            page.reload(wait_until="load", timeout=self.v.o.timeout * 1000)
        except Exception as exc:  # noqa: BLE001
            self.record("browser.reload", FAIL, f"reload: {_first_line(exc)}", (), began)
            return
        self._show_widget(page)
        with contextlib.suppress(Exception):
            page.wait_for_function("() => (window.__chatkitFixProbe?.setOptions || []).length > 0",
                                   timeout=MOUNT_WAIT_SECONDS * 1000)
        self._fetch_calls_seen = 0
        calls = self._probe(page).get("setOptions") or []
        thread = next((call.get("initialThread") for call in calls if call.get("initialThread")), None)
        if thread is None:
            self.record("browser.reload", FAIL, "after a reload ChatKit gets no initialThread and starts a new thread: "
                                                "keep the id onThreadChange gives and pass it back", (), began)
            return
        if self._shows(page, self.message, seconds=self.v.o.timeout / 4):
            self.record("browser.reload", PASS, f"initialThread {thread}; the earlier message is shown again", (),
                        began)
            return
        self._collect()
        answers = [f"HTTP {item.status}" for item in self.wire[mark:] if item.status]
        self.record("browser.reload", FAIL, f"initialThread {thread}, but the earlier message is not shown "
                                            f"({', '.join(answers) or 'no request for the thread'})", (), began)

    def _theme_check(self, page) -> None:
        from .checks import FAIL, PASS, SKIP

        began = time.monotonic()
        observed = {}
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            deadline = time.monotonic() + THEME_WAIT_SECONDS
            while True:
                calls = self._probe(page).get("setOptions") or []
                widget = calls[-1].get("theme") if calls else None
                page_dark = self._page_is_dark(page)
                # both follow the system's mode, or the time is up (whichever lags is then seen lagging)
                if page_dark == (scheme == "dark") and widget == scheme or time.monotonic() > deadline:
                    break
                page.wait_for_timeout(150)
            observed[scheme] = (page_dark, widget)
        page.emulate_media(color_scheme="light")
        (light_page, light_widget), (dark_page, dark_widget) = observed["light"], observed["dark"]
        if light_widget is None and dark_widget is None:
            self.record("browser.theme", SKIP, "ChatKit is given no theme: it keeps its own default", (), began)
        elif light_page == dark_page:
            self.record("browser.theme", SKIP, f"the page does not change mode with the system's (ChatKit theme: "
                                               f"{light_widget} then {dark_widget})", (), began)
        elif (light_widget, dark_widget) == ("light", "dark"):
            self.record("browser.theme", PASS, "the page and ChatKit turned dark together, and light again", (), began)
        else:
            self.record("browser.theme", FAIL, f"the page turned {'dark' if dark_page else 'light'} and ChatKit's theme "
                                               f"stayed {dark_widget!r} (light page: {light_widget!r})", (), began)

    @staticmethod
    def _page_is_dark(page) -> bool:
        """Light text on the page means a dark mode (meaning, whatever the mechanism: a class, color-scheme)."""
        color = page.evaluate("() => getComputedStyle(document.body || document.documentElement).color")
        luminance = _luminance(color or "")
        return luminance is not None and luminance > 0.5

    # ---- what went over the wire ----------------------------------------------------------------------------------

    def _request_checks(self) -> None:
        from .checks import SKIP

        self._collect()
        posts = [item for item in self.wire if item.method == "POST"]
        if not posts:
            for check_id in ("browser.token", "browser.headers", "browser.body", "browser.endpoint"):
                self.record(check_id, SKIP, "ChatKit sent no request")
            return
        self._token_check(posts)
        self._headers_and_body_checks(posts)
        self._endpoint_check(posts)

    def _token_check(self, posts: list[WireRequest]) -> None:
        from .checks import FAIL, PASS, SKIP

        if self.v.auth_mode != "bearer":
            self.record("browser.token", SKIP, "the back end needs no token")
            return
        custom = self.app.custom_fetch if self.app is not None else True
        sent = [item.headers.get("authorization") for item in posts]
        missing = [value for value in sent if not value]
        empty = [value for value in sent if value and not re.match(r"(?i)^bearer\s+(?!null$|undefined$)\S+",
                                                                   value.strip())]
        where = self.info.get("token", "")
        if missing and not custom:
            self.record("browser.token", FAIL, f"{len(missing)} of {len(posts)} ChatKit requests carry no Authorization "
                                               "header: ChatKit has no api.fetch, so its own fetch sends no token "
                                               "(HTTP " + ", ".join(str(i.status) for i in posts) + ")", ("CK103",))
        elif empty:
            self.record("browser.token", FAIL, f"Authorization: {empty[0]!r}: an empty token is sent as if signed in",
                        ("CK104",))
        elif missing:
            lost = self._lost_headers(posts)
            if lost:
                self.record("browser.token", FAIL, f"{len(missing)} of {len(posts)} ChatKit requests carry no "
                                                   "Authorization header and ChatKit's own headers are lost too: "
                                                   "api.fetch replaces the headers", ("CK104",))
            else:
                self.record("browser.token", FAIL, f"{len(missing)} of {len(posts)} ChatKit requests carry no "
                                                   f"Authorization header (token: {where or 'not placed'})", ())
        else:
            self.record("browser.token", PASS, f"Bearer token on all {len(posts)} ChatKit requests ({where})")

    def _pairs(self, posts: list[WireRequest]) -> list[tuple[WireRequest, dict[str, Any]]]:
        """Each wire request with what ChatKit passed into api.fetch for it (in order, same URL path)."""
        calls = [call for call in self.fetch_calls if self._is_api(call.get("url", ""))
                 and call.get("method", "GET").upper() == "POST"]
        return list(zip(posts, calls))

    def _lost_headers(self, posts: list[WireRequest]) -> list[str]:
        lost = []
        for item, call in self._pairs(posts):
            for name, value in call.get("headers", {}).get("entries", []):
                if item.headers.get(name.lower()) != value and name.lower() != "authorization":
                    lost.append(f"{name}: {value}")
        return sorted(set(lost))

    def _headers_and_body_checks(self, posts: list[WireRequest]) -> None:
        from .checks import FAIL, PASS, SKIP

        pairs = self._pairs(posts)
        if not pairs:
            reason = "ChatKit's own fetch sends them (no api.fetch)" if not (self.app and self.app.custom_fetch) else \
                "api.fetch was not seen receiving ChatKit's requests"
            self.record("browser.headers", SKIP, reason)
            self.record("browser.body", SKIP, reason)
            return
        lost = self._lost_headers(posts)
        kinds = sorted({call.get("headers", {}).get("kind", "?") for _, call in pairs})
        if lost:
            self.record("browser.headers", FAIL, f"api.fetch drops ChatKit's {', '.join(lost)} (ChatKit passed a "
                                                 f"{'/'.join(kinds)} object; spreading a Headers object copies "
                                                 "nothing)", ("CK104",))
        else:
            self.record("browser.headers", PASS, f"ChatKit's headers kept on {len(pairs)} request(s) (passed as "
                                                 f"{'/'.join(kinds)})")
        changed = [(item, call) for item, call in pairs if call.get("body", {}).get("kind") == "string"
                   and not json_equal(item.body, call["body"]["text"])]
        if changed:
            item, call = changed[0]
            self.record("browser.body", FAIL, f"api.fetch rewrote the body: ChatKit passed "
                                              f"{(call['body']['text'] or '')[:80]!r}, the back end got "
                                              f"{(item.body or '')[:80]!r}", ("CK110",))
        else:
            self.record("browser.body", PASS, f"{len(pairs)} request bodies reached the wire as ChatKit wrote them")

    def _endpoint_check(self, posts: list[WireRequest]) -> None:
        from .checks import FAIL, PASS

        backend = urlsplit(self._backend_origin())
        endpoint = self.v.path
        for item in posts:
            url = urlsplit(self._delivered_url(item.url))
            if url.netloc != backend.netloc:
                self.record("browser.endpoint", FAIL, f"ChatKit posts to {item.url}, not to the back end verify "
                                                      f"started ({self._backend_origin()}{endpoint}); "
                                                      f"{self.info.get('api', '')}", ("CK108",))
                return
            if item.status in (404, 405) or url.path.rstrip("/") != endpoint.rstrip("/") and item.status != 200:
                self.record("browser.endpoint", FAIL, f"POST {url.path} answered HTTP {item.status}: the back end "
                                                      f"serves ChatKit at {endpoint}", ("CK108",))
                return
        self.record("browser.endpoint", PASS, f"POST {urlsplit(posts[0].url).path} on the back end: "
                                              f"HTTP {', '.join(sorted({str(i.status) for i in posts}))}")

    def _delivered_url(self, url: str) -> str:
        """Where a request went: a --frontend-url page's API origin is rewritten to verify's back end by a route,
        and the browser still reports the URL the page asked for."""
        if self.redirect is not None and url.startswith(self.redirect[0] + "/"):
            return self.redirect[1] + url[len(self.redirect[0]):]
        return url

    def _cors_check(self, browser, page_url: str) -> None:
        """The browser's own preflight: in a context without routes (Playwright answers preflights itself once a
        route is set), a page of the front end's origin sends ChatKit's kind of request to the endpoint."""
        from .checks import FAIL, PASS, SKIP

        began = time.monotonic()
        page_origin = origin_of(page_url)
        target = self.api_url
        if target is None:
            self.record("browser.cors", SKIP, "no api.url")
            return
        if self.redirect is not None and target.startswith(self.redirect[0]):
            target = self.redirect[1] + target[len(self.redirect[0]):]
        if origin_of(target) == page_origin:
            self.record("browser.cors", PASS, f"same origin ({page_origin}): no CORS involved", (), began)
            return
        pairs = self._pairs([item for item in self.wire if item.method == "POST"])
        credentials = any(call.get("credentials") == "include" for _, call in pairs)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        blocked = [line.split(": ", 1)[-1] for line in self.console if "CORS policy" in line]
        context = browser.new_context()
        try:
            # The page itself, in a context without routes: a document Playwright served would count as a public
            # address to Chromium, which then refuses it the loopback back end (Local Network Access).
            probe_page = context.new_page()
            probe_page.on("console", lambda message: blocked.append(message.text)
                          if "CORS policy" in message.text else None)
            probe_page.goto(page_url, wait_until="load", timeout=self.v.o.timeout * 1000)
            outcome = probe_page.evaluate(
                """async ([url, headers, credentials]) => {
                    try {
                        const response = await fetch(url, { method: "POST", headers, credentials,
                            body: JSON.stringify({ type: "threads.list", params: { limit: 1, order: "desc" } }) });
                        return { status: response.status };
                    } catch (error) { return { error: String(error) }; }
                }""", [target, headers, "include" if credentials else "same-origin"])
        except Exception as exc:  # noqa: BLE001 - the check could not run: say so, name no rule
            self.record("browser.cors", FAIL, f"could not send a request from {page_origin}: {_first_line(exc)}",
                        (), began)
            return
        finally:
            with contextlib.suppress(Exception):
                context.close()
        if "error" not in outcome and not blocked:
            self.record("browser.cors", PASS, f"{page_origin} -> {origin_of(target)}: preflight and request pass "
                                              f"(HTTP {outcome.get('status')})", (), began)
            return
        rules, why = self._cors_cause(page_origin, target, headers, credentials)
        seen = blocked[0][:240] if blocked else outcome.get("error", "")
        self.record("browser.cors", FAIL, f"{page_origin} -> {origin_of(target)} is blocked by CORS: {why} "
                                          f"(browser: {seen})", rules, began)

    def _cors_cause(self, origin: str, url: str, headers: dict[str, str], credentials: bool):
        """Which rule explains the browser's refusal, from the back end's own preflight answer."""
        import httpx

        try:
            answer = httpx.options(url, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": ",".join(h.lower() for h in headers)},
                                   timeout=self.v.o.timeout)
        except httpx.HTTPError as exc:
            return (), f"the preflight failed: {exc}"
        allowed = answer.headers.get("access-control-allow-origin")
        if answer.status_code in (401, 403):
            return ("CK407",), (f"the preflight got HTTP {answer.status_code}: something refusing unauthenticated "
                                "requests runs before CORSMiddleware")
        if allowed == "*" and credentials:
            return ("CK405",), "Access-Control-Allow-Origin: * on a request with credentials"
        if allowed not in (origin, "*"):
            return ("CK406",), (f"the preflight got HTTP {answer.status_code} and Access-Control-Allow-Origin: "
                                f"{allowed}: {origin} is not allowed")
        requested = {h.lower() for h in headers}
        allowed_headers = {h.strip().lower() for h in answer.headers.get("access-control-allow-headers", "").split(",")}
        if not requested <= allowed_headers and "*" not in allowed_headers:
            return ("CK406",), f"the preflight does not allow the headers {', '.join(sorted(requested - allowed_headers))}"
        return (), "the preflight passes; the response lacks Access-Control-Allow-Origin"

    def _console_check(self) -> None:
        from .checks import FAIL, PASS

        errors = [line for line in self.console if line.startswith("error:")]
        listed = "; ".join(error[7:120] for error in errors[:3]) + (" ..." if len(errors) > 3 else "")
        self.info["console"] = self.console[:50]
        if self.page_errors:
            self.record("browser.console", FAIL, f"{len(self.page_errors)} uncaught error(s): "
                                                 f"{self.page_errors[0][:200]}" + (f"; console: {listed}" if errors
                                                                                   else ""))
        else:
            self.record("browser.console", PASS, "no uncaught error" + (f"; {len(errors)} console error(s): {listed}"
                                                                        if errors else ", no console error"))

    def _snapshot(self, page) -> None:
        """Keep what ChatKit passed into api.fetch on this page load (a reload starts a new probe)."""
        calls = self._probe(page).get("fetchCalls") or []
        self.fetch_calls.extend(calls[self._fetch_calls_seen:])
        self._fetch_calls_seen = len(calls)

    def _frontend_log(self) -> str:
        return self.server.log()[-3000:] if self.server is not None else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_chatkit_script(url: str) -> bool:
    from ..analysis.frontend import classify_url

    return classify_url(url) is not None


def _has_node_modules(folder: Path, top: Path) -> bool:
    current = folder
    while True:
        if (current / "node_modules").is_dir():
            return True
        if current == top or current.parent == current or top not in current.parents:
            return False
        current = current.parent


def _example_value(root: Path, name: str) -> str | None:
    from .frontend_app import read_env_file

    for candidate in (".env.example", ".env.sample", ".env.template"):
        value = read_env_file(root / candidate).get(name)
        if value:
            return value
    return None


def _project(root: Path):
    from ..config import load_settings
    from ..project import Project

    settings = load_settings(root, None)
    return Project.discover(root, settings, [root])
