"""The checks of `chatkit-fix verify`: boot the project's back end against the fake OpenAI API and drive the ChatKit
protocol end to end, check by check, on every ChatKit endpoint the app serves. Each failure names its cause from the
evidence: the server's traceback mapped to the rule whose telltale it shows, else the plain application error and
where the app raised it.

Order of a run: the outside services the app needs and verify cannot provide are listed first; then the fake OpenAI
server (in this process, on loopback), the project's MCP tool server (a uvicorn child), the app (a uvicorn child); the
protocol as a front end speaks it, per endpoint, including one turn per tool an agent offers; auth, CORS, and a
restart of the app for the persistence check. Every child runs in its own process group and is stopped however the run
ends (a failure, an exception, Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from . import diagnose
from .browser import BROWSER_CHECKS
from .discover import Discovery
from .fake_openai import FAKE_API_KEY, FakeOpenAI, FakeScript, RecordedRequest, ToolCallMade
from .processes import ProcessError, ServerProcess, start_uvicorn

PASS, FAIL, SKIP = "pass", "fail", "skip"
USER_A, USER_B = "chatkit-fix-verify-a", "chatkit-fix-verify-b"
FIRST_TEXT, SECOND_TEXT = "Hello from chatkit-fix verify", "And a second message"
TOOL_TEXT = "Please use your tools"
FOREIGN_ORIGIN = "https://evil.example"
FAKE_ID = "__fake_id__"
UNSET_ENV = ("OPENAI_ORG_ID", "OPENAI_ORGANIZATION", "OPENAI_PROJECT_ID", "OPENAI_ADMIN_KEY", "OPENAI_WEBHOOK_SECRET")
AZURE_API_VERSION = "2024-10-21"  # any version the Azure clients accept: the fake answers every one
MAX_TOOL_TURNS = 16  # extra user messages sent so every tool an agent offers runs once
ENDPOINT_CHECKS = ("endpoint", "threads.create", "tools", "threads.add_user_message", "items.list", "threads.list",
                   "threads.get_by_id", "item_ids.unique")

# id -> title, in the order they run (the JSON output and the docs list them in this order)
CATALOGUE: dict[str, str] = {
    "mcp.start": "the MCP tool server starts",
    "app.start": "the app starts under uvicorn",
    "endpoint": "the ChatKit endpoint answers",
    "threads.create": "threads.create streams thread.created, the user item and the agent's answer",
    "tools": "every tool an agent offers runs when the model calls it (MCP tools when there is a server)",
    "threads.add_user_message": "threads.add_user_message streams the agent's answer",
    "items.list": "items.list returns the thread's items",
    "threads.list": "threads.list lists the thread",
    "threads.get_by_id": "threads.get_by_id returns the thread",
    "item_ids.unique": "assistant message ids are unique",
    "attachments": "an uploaded file reaches the model; another user can neither use nor delete it",
    "auth.no_token": "a request without a token gets 401",
    "auth.bad_token": "a token signed with another secret gets 401",
    "auth.valid_token": "a token signed with the project's secret is accepted",
    "auth.isolation": "user B cannot see user A's thread",
    "cors.allowed_origin": "CORS preflight from the front-end origin passes",
    "cors.foreign_origin": "a foreign origin gets no credentialed CORS answer",
    "persistence": "the thread survives a restart",
}
EXTRA_TITLES = {"app.alive": "the app keeps running (recorded only when it exits during the run)"}


@dataclass
class CheckResult:
    id: str
    status: str
    reason: str
    rules: list[str] = field(default_factory=list)
    seconds: float = 0.0
    log: str = ""  # what the server logged during the check (kept for failures)
    endpoint: str | None = None  # the endpoint it ran on, when the app serves several

    @property
    def title(self) -> str:
        return CATALOGUE.get(self.id) or EXTRA_TITLES.get(self.id) or BROWSER_CHECKS.get(self.id, self.id)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "title": self.title, "status": self.status, "reason": self.reason,
                                "rules": self.rules, "seconds": round(self.seconds, 3)}
        if self.endpoint is not None:
            data["endpoint"] = self.endpoint
        if self.status == FAIL and self.log:
            data["log"] = self.log
        return data


@dataclass
class VerifyOptions:
    python: str
    jwt_secret: str | None = None
    jwt_secret_env: str | None = None
    jwt_claims: dict[str, Any] = field(default_factory=dict)
    origin: str | None = None
    path: str | None = None
    timeout: float = 60.0
    script: FakeScript | None = None
    env: dict[str, str] = field(default_factory=dict)
    keep_logs: bool = False
    browser: Any = None  # browser.BrowserChecks factory: `verify --browser` runs them after the back-end checks


@dataclass
class VerifyReport:
    discovery: Discovery
    options: VerifyOptions
    setup: dict[str, Any] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)  # server name -> tail of its log (on failure)
    log_dir: str | None = None
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for check in self.checks if check.status == status)

    def check(self, check_id: str, endpoint: str | None = None) -> CheckResult | None:
        return next((c for c in self.checks if c.id == check_id and (endpoint is None or c.endpoint == endpoint)), None)

    @property
    def exit_code(self) -> int:
        """1 when a check failed; 0 when there was nothing to boot (a statement says why) or every check passed or
        was skipped with a reason; 2 when nothing could be verified (the first conversation never ran)."""
        if self.count(FAIL):
            return 1
        if self.discovery.statement is not None:
            return 0
        create = self.check("threads.create")
        if create is None or create.status == SKIP:
            return 2
        return 0

    @property
    def failed_rules(self) -> list[str]:
        return sorted({code for check in self.checks if check.status == FAIL for code in check.rules})


# ---- tokens -------------------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_token(secret: str, subject: str, claims: dict[str, Any] | None = None, expires_in: int = 900) -> str:
    """An HS256 JWT with `sub`, `iat` and `exp` (plus `claims`), signed with the standard library."""
    now = int(time.time())
    payload = {"sub": subject, "iat": now, "exp": now + expires_in, **(claims or {})}
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


# ---- the run ------------------------------------------------------------------------------------------------------


class _Stop(Exception):
    """The remaining checks cannot run (the app is gone)."""


@dataclass
class _Turn:
    """One user message: what the stream brought, and the model requests and tool calls it caused."""

    result: Any
    requests: list[RecordedRequest]
    calls: list[ToolCallMade]
    log: str


class Verifier:
    def __init__(self, discovery: Discovery, options: VerifyOptions, progress: Callable[[str], None] | None = None):
        self.d = discovery
        self.o = options
        self.progress = progress or (lambda _message: None)
        self.report = VerifyReport(discovery, options)
        self.fake: FakeOpenAI | None = None
        self.app: ServerProcess | None = None
        self.mcp: ServerProcess | None = None
        self.servers: list[ServerProcess] = []
        self.workdir: Path | None = None
        self.starts = 0
        self.env: dict[str, str] = {}
        self.secret: str | None = None
        self.secret_source = ""
        self.auth_mode = "unknown"  # "bearer" | "open"
        self.path = options.path or discovery.chatkit_path
        self.endpoint_label: str | None = None  # set while an app with several endpoints is checked
        self.thread_id: str | None = None
        self.items_a: list[dict[str, Any]] = []
        self.streams: list[Any] = []
        self.turns: list[_Turn] = []
        self.browser = options.browser(self) if options.browser is not None else None

    @property
    def project_root(self) -> Path:
        return self.d.root

    # ---- lifecycle ----------------------------------------------------------------------------------------------

    def run(self) -> VerifyReport:
        started = time.monotonic()
        if self.d.statement is not None or self.d.app is None:
            self.report.seconds = time.monotonic() - started
            return self.report
        self.workdir = Path(tempfile.mkdtemp(prefix="chatkit-fix-verify-"))
        try:
            self._run()
        except _Stop:
            pass
        finally:
            if self.browser is not None:
                self.browser.skip_rest("the back-end checks stopped before the browser's")
            self._cleanup()
            self.report.seconds = time.monotonic() - started
        return self.report

    def _cleanup(self) -> None:
        """Stop every child (a second Ctrl-C must not cut this short), then the fake, then delete the scratch dir."""
        previous = None
        with contextlib.suppress(ValueError):  # not the main thread: signals stay as they are
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for server in reversed(self.servers):
                with contextlib.suppress(Exception):
                    server.stop(timeout=5.0)
            if self.report.count(FAIL) or self.o.keep_logs:
                for server in self.servers:  # a restarted app's log replaces the first one's
                    with contextlib.suppress(Exception):
                        if server.log().strip():
                            self.report.logs[server.name] = _tail(server.log(), 60)
            if self.fake is not None:
                with contextlib.suppress(Exception):
                    self.fake.close()
            if self.workdir is not None:
                if self.o.keep_logs:
                    self.report.log_dir = str(self.workdir)
                else:
                    shutil.rmtree(self.workdir, ignore_errors=True)
        finally:
            if previous is not None:
                with contextlib.suppress(ValueError):
                    signal.signal(signal.SIGINT, previous)

    def _record(self, check_id: str, status: str, reason: str, rules: list[str] | tuple[str, ...] = (),
                seconds: float = 0.0, log: str = "") -> CheckResult:
        endpoint = self.endpoint_label if check_id in ENDPOINT_CHECKS else None
        result = CheckResult(check_id, status, reason, list(dict.fromkeys(rules)), seconds,
                             _tail(log, 30) if status == FAIL else "", endpoint)
        self.report.checks.append(result)
        self.progress(f"{status.upper():4}  {check_id}" + (f" [{endpoint}]" if endpoint else ""))
        return result

    def _skip(self, check_ids, reason: str) -> None:
        done = {c.id for c in self.report.checks if c.endpoint == self.endpoint_label or c.id not in ENDPOINT_CHECKS}
        for check_id in check_ids:
            if check_id not in done:
                self._record(check_id, SKIP, reason)

    def _skip_rest(self, reason: str) -> None:
        self._skip(CATALOGUE, reason)

    def _fail(self, check_id: str, what: str, log: str, began: float, rules: list[str] | None = None) -> CheckResult:
        """A failure whose cause is read from the log: the telltale's rules, else the app error and its place."""
        cause = diagnose.explain(log, self.project_root)
        found = cause.text()
        reason = f"{what}: {found}" if found else what
        return self._record(check_id, FAIL, reason, (rules or []) + cause.rules, time.monotonic() - began, log)

    # ---- environment --------------------------------------------------------------------------------------------

    def _build_env(self) -> None:
        """The children's environment: what the project's .env holds; the value .env.example gives each variable
        the code reads without a default of its own (as a user copying the example would); the fake OpenAI API
        (also behind every variable that configures an OpenAI-compatible client); scratch databases; the JWT
        secret in the variables the token check reads; then --env."""
        d, env = self.d, {}
        for key, value in d.example_env.items():
            if key not in os.environ and key not in d.dotenv and d.env_reads.get(key) is None:
                env[key] = value
        for key, value in d.dotenv.items():
            if key not in os.environ:
                env[key] = value
        assert self.fake is not None and self.workdir is not None
        env.update(self.fake.env())
        for name, kind in d.model_env.items():
            if name not in os.environ:
                env[name] = {"base_url": self.fake.base_url, "api_key": FAKE_API_KEY}.get(kind, AZURE_API_VERSION)
        env["OPENAI_AGENTS_DISABLE_TRACING"] = "1"  # the trace exporter would post to api.openai.com
        env["OPENAI_AGENTS_DONT_LOG_TOOL_DATA"] = "0"  # a failing tool is logged with its traceback: the evidence
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        for name, kind in d.store_env.items():
            current = os.environ.get(name) or d.dotenv.get(name) or ""
            if kind == "path":
                env[name] = str(self.workdir / f"{name.lower()}.sqlite3")
            elif kind.startswith("url:") and (not current or current.startswith("sqlite")):
                env[name] = f"{kind[4:]}:///{self.workdir / (name.lower() + '.sqlite3')}"
        self._resolve_secret(env)
        env.update(self.o.env)
        self.env = env
        redirected = sorted(name for name in d.store_env if name in env and name not in self.o.env)
        if redirected:
            d.notes.append(f"{', '.join(redirected)} pointed at a scratch folder, so the project's database is "
                           "left alone")
        faked = sorted(name for name in d.model_env if name in env and name not in self.o.env)
        if faked:
            d.notes.append(f"{', '.join(faked)} pointed at the fake OpenAI API")

    def _resolve_secret(self, env: dict[str, str]) -> None:
        """The HS256 secret test tokens are signed with, and the only variables it is written to: those the app's
        token check reads (`--jwt-secret-env` names one instead)."""
        d = self.d
        names = [self.o.jwt_secret_env] if self.o.jwt_secret_env else d.secret_names
        how = f" ({d.secret.how})" if d.secret is not None and d.secret.how and not self.o.jwt_secret_env else ""
        if self.o.jwt_secret:
            self.secret = self.o.jwt_secret
            for name in names:
                env[name] = self.o.jwt_secret
            self.secret_source = "--jwt-secret" + (f", set as {', '.join(names)}{how}" if names else "")
            return
        for name in names:
            value = os.environ.get(name) or d.dotenv.get(name)
            if value:
                origin = "the environment" if os.environ.get(name) else "the project's .env"
                self.secret, self.secret_source = value, f"{name} from {origin}{how}"
                return
        if d.secret is not None and d.secret.literal and not self.o.jwt_secret_env:
            self.secret = d.secret.literal
            self.secret_source = f"the literal key at {d.secret.where} (CK409)"
            return
        if names:
            self.secret = secrets.token_urlsafe(48)
            for name in names:
                env[name] = self.secret
            self.secret_source = f"{', '.join(names)}, generated for this run{how}"

    # ---- servers ------------------------------------------------------------------------------------------------

    def _start(self, name: str, import_string: str, cwd: Path, factory: bool = False,
               port: int | None = None, interface: str = "asgi") -> ServerProcess:
        assert self.workdir is not None
        self.starts += 1
        log = self.workdir / f"{name}-{self.starts}.log"
        extra = ["--interface", "wsgi"] if interface == "wsgi" else []  # uvicorn's auto would take Flask for ASGI 2
        try:
            server = start_uvicorn(import_string, cwd, python=self.o.python, env=self.env, unset_env=UNSET_ENV,
                                   port=port, factory=factory, timeout=self.o.timeout, log_path=log, name=name,
                                   extra_args=extra)
        except ProcessError as exc:
            self.report.logs[name] = _tail(exc.log, 60)
            raise
        self.servers.append(server)
        return server

    def _start_mcp(self) -> None:
        mcp = self.d.mcp
        if mcp is None:
            self._record("mcp.start", SKIP, "no MCP tool server in this project")
            return
        began = time.monotonic()
        try:
            self.mcp = self._start("mcp", mcp.import_string, mcp.cwd, mcp.factory, mcp.port)
        except ProcessError as exc:
            self._fail("mcp.start", f"{mcp.import_string} did not start", exc.log or str(exc), began)
            return
        url = f"{self.mcp.url}{mcp.path}"
        for name in mcp.url_env:
            self.env[name] = url
        self.report.setup["mcp_url"] = url
        self._record("mcp.start", PASS, f"{mcp.import_string} on {url}; back end told through "
                                        f"{', '.join(mcp.url_env)} ({mcp.url_env_source})", (),
                     time.monotonic() - began)

    def _start_app(self, check_id: str = "app.start") -> ServerProcess | None:
        app = self.d.app
        assert app is not None
        began = time.monotonic()
        try:
            server = self._start("app", app.import_string, app.cwd, app.factory, interface=app.interface)
        except ProcessError as exc:
            log = exc.log or str(exc)
            what = f"{app.import_string} did not start" if check_id == "app.start" else "the app did not start again"
            cause = diagnose.explain(log, self.project_root)
            if cause.network and self.d.outside:
                what += f" (it needs {'; '.join(o.hint() for o in self.d.outside)})"
            self._fail(check_id, what, log, began)
            return None
        if check_id == "app.start":
            self._record(check_id, PASS, f"{app.import_string} from {self.d.relative(app.cwd)} on {server.url} "
                                         f"in {time.monotonic() - began:.1f}s", (), time.monotonic() - began)
        return server

    def _client(self, user: str | None = None, token: str | None = None):
        from .protocol import ChatKitClient

        assert self.app is not None
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        elif user is not None and self.auth_mode == "bearer" and self.secret:
            headers["Authorization"] = f"Bearer {hs256_token(self.secret, user, self.o.jwt_claims)}"
        return ChatKitClient(self.app.url, self.path, headers=headers, timeout=self.o.timeout,
                             stream_deadline=self.o.timeout)

    def _log_mark(self) -> int:
        return len(self.app.log()) if self.app is not None else 0

    def _log_since(self, mark: int, settle: bool = True) -> str:
        if self.app is None:
            return ""
        if settle:
            time.sleep(0.3)  # tracebacks of a failed stream are written just after the response ends
        return self.app.log()[mark:]

    def _ensure_alive(self) -> None:
        if self.app is not None and not self.app.alive():
            code = self.app.process.returncode if self.app.process else None
            self._fail("app.alive", f"the app exited (code {code})", self.app.log(), time.monotonic())
            self._skip_rest("the app exited")
            raise _Stop

    # ---- the checks ---------------------------------------------------------------------------------------------

    def _run(self) -> None:
        self.fake = FakeOpenAI(script=self.o.script or FakeScript()).start()
        self._build_env()
        if self.browser is not None:
            self.browser.prepare()  # the front end's origin joins the back end's CORS origins
        self.report.setup.update({"openai_base_url": self.fake.base_url, "python": self.o.python,
                                  "endpoint_path": self.path})
        if self.d.outside:
            self.report.setup["outside"] = [o.hint() for o in self.d.outside]
            self.progress("needs what verify cannot provide: " + "; ".join(o.hint() for o in self.d.outside))
        self.progress(f"fake OpenAI API on {self.fake.base_url}")
        self._start_mcp()
        self.app = self._start_app()
        if self.app is None:
            self._skip_rest("the app did not start")
            return
        self.report.setup["app_url"] = self.app.url
        paths = [self.o.path] if self.o.path else [e.path for e in self.d.endpoints] or [self.path]
        self.report.setup["endpoints"] = paths
        primary: tuple | None = None
        for path in paths:
            self.path = path
            self.endpoint_label = path if len(paths) > 1 else None
            self.thread_id, self.items_a, self.streams, self.turns = None, [], [], []
            if self._endpoint():
                self._conversation()
                if primary is None and self.report.check("threads.create", self.endpoint_label) is not None:
                    primary = (path, self.thread_id, self.items_a)
        self.endpoint_label = None
        if primary is not None:
            self.path, self.thread_id, self.items_a = primary
        else:
            self.path = paths[0]
        if self.auth_mode == "unknown":
            self._skip_rest("no ChatKit endpoint answered")
            return
        self._attachments()  # on the first endpoint that held a conversation
        self._auth()
        self._cors()
        self._persistence()
        if self.browser is not None:
            self.browser.run()

    def _endpoint(self) -> bool:
        """POST threads.list without a token: is a ChatKit endpoint there, and does it want a token?"""
        import httpx

        from .protocol import threads_list

        assert self.app is not None
        began = time.monotonic()
        mark = self._log_mark()
        url = f"{self.app.url}{self.path}"
        try:
            response = httpx.post(url, json=threads_list(), timeout=self.o.timeout)
        except httpx.HTTPError as exc:
            self._fail("endpoint", f"POST {url}: {type(exc).__name__}: {exc}", self._log_since(mark), began)
            self._skip(ENDPOINT_CHECKS, "the endpoint did not answer")
            self._ensure_alive()
            return False
        status = response.status_code
        seconds = time.monotonic() - began
        if status in (404, 405):
            self._record("endpoint", FAIL, f"POST {self.path} got HTTP {status}: no ChatKit route there, although "
                                           "the app's code declares one (pass --path to choose another)", (), seconds)
            self._skip(ENDPOINT_CHECKS, "no ChatKit endpoint")
            return False
        if status in (401, 403):
            self.auth_mode = "bearer"
            self.report.setup["auth"] = {"mode": "bearer", "secret": self.secret_source or None}
            self._record("endpoint", PASS, f"POST {self.path} answers (HTTP {status} without a token: bearer auth)",
                         (), seconds)
            if not self.secret:
                self._skip(ENDPOINT_CHECKS, "the endpoint requires a bearer token and no JWT secret is known: pass "
                                            "--jwt-secret (and --jwt-secret-env NAME for the variable the app reads)")
                for check_id in ("auth.valid_token", "auth.isolation", "persistence"):
                    self._skip([check_id], "no JWT secret is known")
                return False
            return True
        if self.auth_mode == "unknown":
            self.auth_mode = "open"
            self.report.setup["auth"] = {"mode": "open", "secret": None}
        if status >= 500:
            self._fail("endpoint", f"threads.list got HTTP {status}", self._log_since(mark), began)
            return True
        self._record("endpoint", PASS, f"POST {self.path} answers HTTP {status} without a token", (), seconds)
        return True

    def _conversation(self) -> None:
        assert self.fake is not None
        with self._client(USER_A) as client:
            first = self._stream_check("threads.create", lambda: client.create_thread(FIRST_TEXT), create=True)
            self._ensure_alive()
            if self.thread_id is None:
                self.thread_id = self._saved_thread(client)
            if self.thread_id is None:
                self._skip(("tools", "threads.add_user_message", "items.list", "threads.list", "threads.get_by_id",
                            "item_ids.unique"), "no thread: threads.create did not create one")
                return
            second = self._stream_check("threads.add_user_message",
                                        lambda: client.add_user_message(self.thread_id, SECOND_TEXT), create=False,
                                        record=False)
            self._tools(client, first)
            self.report.checks.append(second)
            self.progress(f"{second.status.upper():4}  {second.id}")
            self._ensure_alive()
            self._request_check("items.list", lambda: client.all_items(self.thread_id), self._judge_items)
            self._request_check("threads.list", lambda: client.list_threads(), self._judge_list)
            self._request_check("threads.get_by_id", lambda: client.get_thread(self.thread_id), self._judge_get)
            self._unique_ids()

    def _saved_thread(self, client) -> str | None:
        """A stream that died before `thread.created` may still have saved the thread: look for it."""
        with contextlib.suppress(Exception):
            data = client.list_threads().get("data", [])
            if data and isinstance(data[0], dict):
                return data[0].get("id")
        return None

    def _turn(self, call: Callable[[], Any]) -> _Turn:
        """Send one user message; what came back, and what it made the app ask the model and run."""
        from .protocol import ProtocolError, StreamResult

        assert self.fake is not None
        requests_mark, calls_mark = len(self.fake.requests), len(self.fake.tool_calls)
        mark = self._log_mark()
        try:
            result = call()
        except ProtocolError as exc:
            result = StreamResult(exc.status or 0, "", raw=exc.body, transport_error=str(exc))
        log = self._log_since(mark, settle=not result.ok)
        turn = _Turn(result, self.fake.requests[requests_mark:], self.fake.tool_calls[calls_mark:], log)
        self.turns.append(turn)
        return turn

    def _stream_check(self, check_id: str, call: Callable[[], Any], create: bool, record: bool = True):
        from .protocol import parse_sse

        began = time.monotonic()
        turn = self._turn(call)
        result, log = turn.result, turn.log
        self.streams.append(result)
        events = result.events
        if not result.is_event_stream and result.raw:
            events = []
            for event in parse_sse(result.raw.splitlines()):
                with contextlib.suppress(ValueError):
                    payload = event.json()
                    if isinstance(payload, dict):
                        events.append(payload)
        if create and self.thread_id is None:
            self.thread_id = _thread_id(events)
        if result.status != 200:
            if result.status in (404, 405):
                return self._finish(check_id, FAIL, f"HTTP {result.status}: no ChatKit route at {self.path} (pass "
                                                    "--path)", [], began, log, record)
            what = f"HTTP {result.status}" + (f" for a token signed with {self.secret_source or 'no secret'}"
                                              if result.status in (401, 403) else "")
            return self._finish_cause(check_id, what, log, began, record, fallback=_clip(result.raw, 200))
        if not result.is_event_stream:
            return self._finish(check_id, FAIL, f"answered {result.content_type or 'no content type'}, not "
                                                "text/event-stream: the endpoint buffers or re-wraps the stream",
                                ["CK201"], began, log, record)
        if result.errors or result.cut_off or result.undecodable:
            if result.errors:
                error = result.errors[0]
                what = f"an error event ({error.get('code', '?')}: {error.get('message') or 'no message'})"
            elif result.cut_off:
                what = f"the stream was cut off after {len(result.events)} events ({result.transport_error})"
            else:
                what = "undecodable event data"
            return self._finish_cause(check_id, what, log, began, record)
        assistant = [item for item in result.assistant_messages() if _message_text(item).strip()]
        kinds = [event.get("type") for event in result.events]
        missing = []
        if create and "thread.created" not in kinds:
            missing.append("thread.created")
        if not result.items_done("user_message"):
            missing.append("the user message (thread.item.done)")
        effects = [self._effect(call, turn) for call in turn.calls]
        ended_by_tool = next((e for e in effects if e[0] in ("ended the run", "streamed its own items")), None)
        if not assistant and ended_by_tool is None:
            missing.append("an assistant message with text")
        if missing:
            reason = f"no {', '.join(missing)} in the stream (events: {_kinds(kinds)})"
            if not assistant and not turn.requests:
                reason += "; the app never called the fake OpenAI API (does it honour OPENAI_BASE_URL?)"
            return self._finish_cause(check_id, reason, log, began, record)
        if assistant:
            summary = f"assistant: {_clip(_message_text(assistant[-1]), 80)!r}"
        else:
            summary = f"the tool {ended_by_tool[2]} {ended_by_tool[0]} ({ended_by_tool[1]})"
        return self._finish(check_id, PASS, f"{len(result.events)} events; {summary}", [], began, "", record)

    def _finish_cause(self, check_id, what, log, began, record, fallback: str = ""):
        cause = diagnose.explain(log, self.project_root)
        found = cause.text() or fallback
        return self._finish(check_id, FAIL, f"{what}: {found}" if found else what, cause.rules, began, log, record)

    def _finish(self, check_id, status, reason, rules, began, log, record):
        result = CheckResult(check_id, status, reason, list(dict.fromkeys(rules)), time.monotonic() - began,
                             _tail(log, 30) if status == FAIL else "",
                             self.endpoint_label if check_id in ENDPOINT_CHECKS else None)
        if record:
            self.report.checks.append(result)
            self.progress(f"{status.upper():4}  {check_id}")
        return result

    def _request_check(self, check_id: str, call: Callable[[], Any], judge: Callable[[Any], tuple]) -> None:
        from .protocol import ProtocolError

        began = time.monotonic()
        mark = self._log_mark()
        try:
            answer = call()
        except ProtocolError as exc:
            log = self._log_since(mark)
            cause = diagnose.explain(log, self.project_root)
            found = cause.text() or (exc.body[:200] or str(exc))
            self._record(check_id, FAIL, f"HTTP {exc.status}: {found}", cause.rules, time.monotonic() - began, log)
            return
        except Exception as exc:  # noqa: BLE001 - a transport error is a failed check, not a crash of verify
            self._fail(check_id, f"{type(exc).__name__}: {exc}", self._log_since(mark), began)
            return
        status, reason, rules = judge(answer)
        self._record(check_id, status, reason, rules, time.monotonic() - began,
                     self._log_since(mark, settle=False) if status == FAIL else "")

    def _judge_items(self, items: list[dict[str, Any]]):
        self.items_a = items
        kinds = [item.get("type") for item in items]
        users = [i for i in items if i.get("type") == "user_message"]
        texts = " ".join(_message_text(i) for i in users)
        if not users or FIRST_TEXT not in texts:
            return FAIL, f"the first user message is not among the items ({_kinds(kinds)})", []
        streamed = [m for stream in self.streams for m in stream.assistant_messages()]
        if streamed and "assistant_message" not in kinds:
            return FAIL, f"assistant messages were streamed but none is stored (items: {_kinds(kinds)})", []
        note = "" if "assistant_message" in kinds else " (no assistant message: see threads.create)"
        return PASS, f"{len(items)} items: {_kinds(kinds)}{note}", []

    def _judge_list(self, page: dict[str, Any]):
        ids = [t.get("id") for t in page.get("data", []) if isinstance(t, dict)]
        if self.thread_id not in ids:
            return FAIL, f"the thread {self.thread_id} is not listed ({len(ids)} threads)", []
        return PASS, f"{len(ids)} thread(s), ours among them", []

    def _judge_get(self, thread: dict[str, Any]):
        if thread.get("id") != self.thread_id:
            return FAIL, f"answered thread {thread.get('id')!r}, not {self.thread_id}", []
        items = (thread.get("items") or {}).get("data", [])
        return PASS, f"thread with {len(items)} items", []

    def _unique_ids(self) -> None:
        began = time.monotonic()
        streamed = [item.get("id") for stream in self.streams for item in stream.assistant_messages()]
        stored = [item.get("id") for item in self.items_a if item.get("type") == "assistant_message"]
        ids = stored or streamed
        if not ids:
            self._record("item_ids.unique", SKIP, "no assistant message to compare")
            return
        counts = {i: ids.count(i) for i in ids}
        duplicates = sorted(i for i, n in counts.items() if n > 1)
        if FAKE_ID in ids or FAKE_ID in streamed:
            self._record("item_ids.unique", FAIL, f"{ids.count(FAKE_ID) or streamed.count(FAKE_ID)} assistant "
                                                  f"messages have the id {FAKE_ID}: each new answer overwrites the "
                                                  "last one in the UI", ["CK209"], time.monotonic() - began)
            return
        if duplicates:
            shown = ", ".join(f"{i} ({counts[i]} messages)" for i in duplicates)
            self._record("item_ids.unique", FAIL, f"several assistant messages share an id: {shown}: each new "
                                                  "answer overwrites the last one in the UI", [],
                         time.monotonic() - began)
            return
        self._record("item_ids.unique", PASS, f"{len(ids)} assistant messages, {len(set(ids))} ids", [],
                     time.monotonic() - began)

    def _attachments(self) -> None:
        """User A uploads a text file in two phases (`attachments.create`, then the file to the URL it answers
        with) and sends a message naming it: the model must get its content. User B then names it in a message of
        their own and deletes it: B's message must not carry it, and A's file must survive. A server with no
        attachment store (any non-200 to `attachments.create`) is skipped: its front end cannot offer uploads."""
        import httpx

        from .protocol import attachments_create, attachments_delete

        create = self.report.check("threads.create")
        if create is None or create.status != PASS:
            self._record("attachments", SKIP, "no conversation to attach a file to (see threads.create)")
            return
        assert self.fake is not None
        began = time.monotonic()
        mark = self._log_mark()
        marker = f"chatkit-fix-verify-attachment-{secrets.token_hex(4)}"
        name, mime_type, data = _attachment_file(marker, self.d.frontend.accepted_files if self.d.frontend else None)

        def fail(reason: str) -> None:
            log = self._log_since(mark)
            self._record("attachments", FAIL, reason, diagnose.rules_from_log(log)[0], time.monotonic() - began, log)

        def model_saw_marker(since: int) -> bool:
            """The file reached the model: its marker in a request, as text or inside a base64 part (input_file's
            file_data, an input_image data URL), however the app wrapped the bytes it stored."""
            return any(marker in text for request in self.fake.requests[since:]
                       for text in _texts_and_decoded(request.body))

        with self._client(USER_A) as owner, self._client(USER_B) as other:
            created = owner.post(attachments_create(name, len(data), mime_type))
            if created.status_code != 200:
                self._record("attachments", SKIP, f"attachments.create answered HTTP {created.status_code}: no "
                                                  "attachment store, so the front end cannot offer uploads",
                             [], time.monotonic() - began)
                return
            attachment = created.json()
            descriptor = attachment.get("upload_descriptor")
            if descriptor:
                url = self._local_upload_url(str(descriptor.get("url") or ""))
                try:
                    uploaded = owner.upload({**descriptor, "url": url}, name, data, mime_type)
                except httpx.HTTPError as exc:
                    fail(f"the upload to {url} failed: {type(exc).__name__}: {exc}")
                    return
                if uploaded.status_code >= 300:
                    fail(f"the upload to {url} answered HTTP {uploaded.status_code}: {_clip(uploaded.text, 200)}")
                    return
            requests_before = len(self.fake.requests)
            sent = owner.create_thread("What does the attached file say?", attachments=[attachment["id"]])
            if not sent.ok:
                fail(f"a message naming the uploaded file failed: {sent.summary()}")
                return
            if not model_saw_marker(requests_before):
                fail("a message named the uploaded file, but its content never reached the model")
                return
            if self.auth_mode != "bearer":
                self._record("attachments", PASS, "uploaded and read by the model (no authentication: no other "
                                                  "user to keep out)", [], time.monotonic() - began)
                return
            foreign = other.create_thread("Using someone else's file", attachments=[attachment["id"]])
            carried = [item for item in foreign.items_done("user_message") if item.get("attachments")]
            if foreign.status == 200 and carried:
                fail("user B sent a message carrying user A's attachment: attachments are not scoped to their owner")
                return
            other.post(attachments_delete(attachment["id"]))
            requests_before = len(self.fake.requests)
            again = owner.create_thread("And again?", attachments=[attachment["id"]])
            if not again.ok or not model_saw_marker(requests_before):
                fail(f"after user B deleted user A's attachment, A could no longer use it: {again.summary()}")
                return
        self._record("attachments", PASS, f"uploaded, read by the model; user B's message got HTTP {foreign.status}"
                                          " and B's delete left it in place", [], time.monotonic() - began)

    # ---- tools --------------------------------------------------------------------------------------------------

    def _effect(self, call: ToolCallMade, turn: _Turn) -> tuple[str, str, str]:
        """(effect, detail, tool) of one tool call, read from what followed it: its output in the next model
        request, items the tool streamed itself, or the run ending at the tool; "failed" with the evidence."""
        output = _call_output(turn.requests, call.call_id)
        result = turn.result
        if output is not None:
            if diagnose.is_tool_error(output):
                return "failed", output, call.name
            return "returned", _clip(output, 60), call.name
        if not result.ok:
            return "failed", "the stream broke after the call", call.name
        own = [item.get("type") for item in result.items_done() if item.get("type") not in
               ("user_message", "assistant_message")]
        own += [item.get("type") for item in result.assistant_messages() if not _from_fake(_message_text(item))]
        if own:
            return "streamed its own items", _kinds(own), call.name
        return "ended the run", "no model request followed it (StopAtTools or tool_use_behavior)", call.name

    def _local_upload_url(self, url: str) -> str:
        """The upload URL as this run serves it: a URL on the machine's own host names the port the app's settings
        expect (its own, or the front end's dev server proxying to it), while verify runs the app on another port;
        the path is the app's, so it goes to the app. Other URLs (storage services) are left as they are."""
        parts = urlsplit(url)
        if parts.hostname not in ("localhost", "127.0.0.1", "::1") or self.app is None:
            return url
        return urlunsplit(urlsplit(self.app.url)[:2] + parts[2:])

    def _tools(self, client, first) -> None:
        """Every function tool the agents offer runs once: the fake calls the least-called offered tool on each user
        message, so more messages are sent until each has been called; each call is judged by its effect."""
        began = time.monotonic()
        assert self.fake is not None
        if self.fake.script.tool_call == "never":
            self._record("tools", SKIP, "the fake script never calls tools")
            return
        turns = list(self.turns)
        requests = [r for t in turns for r in t.requests]
        if not requests:
            create = self.report.check("threads.create", self.endpoint_label)
            self._record("tools", SKIP, "the app answered without calling a model" if create and create.status == PASS
                         else "no model request reached the fake OpenAI API (see threads.create)")
            return
        offered = _offered(requests)
        mcp_tools = set(self.d.mcp.tools) if self.d.mcp else set()
        if not offered:
            if mcp_tools and self.mcp is not None:
                self._record("tools", FAIL, f"the agent offered none of the MCP server's tools "
                                            f"({', '.join(sorted(mcp_tools))}) to the model", ["CK501"],
                             time.monotonic() - began)
            else:
                self._record("tools", SKIP, "the agents offer no function tools")
            return
        called = {c.name for t in turns for c in t.calls}
        for _ in range(MAX_TOOL_TURNS):
            if offered <= called or not self.thread_id:
                break
            turn = self._turn(lambda: client.add_user_message(self.thread_id, TOOL_TEXT))
            self._ensure_alive()
            turns.append(turn)
            offered |= _offered(turn.requests)
            if not turn.calls:
                break  # the agent answering this message offers nothing more to call
            called |= {c.name for c in turn.calls}
        ran, failed, rules, logs = [], [], [], []
        for turn in turns:
            for call in turn.calls:
                effect, detail, name = self._effect(call, turn)
                if effect != "failed":
                    ran.append(f"{name} {effect}" + (f" ({detail})" if effect != "returned" else f": {detail!r}"))
                    continue
                log = _tool_log(turn.log, name) or turn.log
                if name in mcp_tools and self.mcp is not None:
                    log += "\n" + self.mcp.log()[-4000:]
                cause = diagnose.explain(log, self.project_root)
                if cause.rules:
                    failed.append(f"{name}: {cause.text()}")
                    rules.extend(cause.rules)
                    logs.append(log)
                elif not turn.result.ok:
                    failed.append(f"{name}: {cause.text() or detail}")
                    logs.append(log)
                elif cause.network:
                    ran.append(f"{name} ran and could not reach a service ({cause.exception})")
                else:
                    ran.append(f"{name} ran and raised {cause.text() or 'an error'} for the made-up arguments "
                               f"{_clip(call.arguments, 60)} (real ones: --fake-script tool_arguments)")
        never = sorted(offered - called)
        if never:
            ran.append(f"not called: {', '.join(never)} (their agent did not answer a further message)")
        seconds = time.monotonic() - began
        if failed:
            self._record("tools", FAIL, "; ".join(failed + ran), rules, seconds, "\n".join(logs))
        else:
            self._record("tools", PASS, f"{len(called)} of {len(offered)} tools: " + "; ".join(ran), [], seconds)

    # ---- auth ---------------------------------------------------------------------------------------------------

    def _auth(self) -> None:
        if self.auth_mode == "open":
            self._auth_open()
            return
        from .protocol import threads_list

        self._record("auth.no_token", PASS, "HTTP 401 without a token")
        wrong = hs256_token("not-the-project-secret-" + secrets.token_hex(16), USER_A, self.o.jwt_claims)
        with self._client(token=wrong) as client:
            self._status_check("auth.bad_token", lambda: client.post(threads_list()), expect_refused=True)
        if not self.secret:
            return
        self._record_valid_token()
        self._isolation()

    def _auth_open(self) -> None:
        from .protocol import threads_list

        secret = self.d.secret
        evidence = [e for e in self.d.auth_evidence if secret is None or secret.where in e] if secret else []
        if secret is None or not secret.reached:
            reason = "the ChatKit endpoint needs no token" + (
                f" (the app authenticates elsewhere: {self.d.auth_evidence[0]})" if self.d.auth_evidence
                else " and the back end has no authentication")
            self._skip(("auth.no_token", "auth.bad_token", "auth.valid_token", "auth.isolation"), reason)
            return
        self._record("auth.no_token", FAIL, f"served a request without a token although the endpoint checks one "
                                            f"({(evidence or [secret.where])[0]}): it falls back to an anonymous user",
                     ["CK403"])
        wrong = hs256_token("not-the-project-secret-" + secrets.token_hex(16), USER_A, self.o.jwt_claims)
        with self._client(token=wrong) as client:
            self._status_check("auth.bad_token", lambda: client.post(threads_list()), expect_refused=True)
        self._skip(("auth.valid_token", "auth.isolation"), "the endpoint accepts requests without a token")

    def _status_check(self, check_id: str, call: Callable[[], Any], expect_refused: bool) -> None:
        began = time.monotonic()
        mark = self._log_mark()
        try:
            response = call()
        except Exception as exc:  # noqa: BLE001
            self._fail(check_id, f"{type(exc).__name__}: {exc}", self._log_since(mark), began)
            return
        status = response.status_code
        if expect_refused:
            if status in (401, 403):
                self._record(check_id, PASS, f"HTTP {status}", [], time.monotonic() - began)
            elif status == 200:
                self._record(check_id, FAIL, "a token signed with another secret was accepted: the signature is not "
                                             "verified, or auth errors fall back to an anonymous user",
                             ["CK403", "CK404"], time.monotonic() - began)
            else:
                self._fail(check_id, f"HTTP {status} instead of 401", self._log_since(mark), began)

    def _record_valid_token(self) -> None:
        from .protocol import threads_list

        began = time.monotonic()
        mark = self._log_mark()
        with self._client(USER_A) as client:
            response = client.post(threads_list())
        if response.status_code == 200:
            self._record("auth.valid_token", PASS, f"signed with {self.secret_source}", [], time.monotonic() - began)
            return
        self._fail("auth.valid_token", f"HTTP {response.status_code} for a token signed with {self.secret_source}",
                   self._log_since(mark), began)

    def _isolation(self) -> None:
        from .protocol import items_list, threads_get_by_id, threads_list

        if not self.thread_id:
            self._record("auth.isolation", SKIP, "no thread of user A to look for")
            return
        began = time.monotonic()
        leaks = []
        with self._client(USER_B) as client:
            listed = client.post(threads_list())
            if listed.status_code == 200 and self.thread_id in listed.text:
                leaks.append("threads.list shows it")
            got = client.post(threads_get_by_id(self.thread_id))
            if got.status_code == 200 and self.thread_id in got.text:
                leaks.append("threads.get_by_id returns it")
            items = client.post(items_list(self.thread_id))
            if items.status_code == 200 and FIRST_TEXT in items.text:
                leaks.append("items.list returns its messages")
        if leaks:
            self._record("auth.isolation", FAIL, f"user B sees user A's thread: {'; '.join(leaks)}", ["CK306"],
                         time.monotonic() - began)
        else:
            self._record("auth.isolation", PASS, f"user B: threads.list {listed.status_code} without it, "
                                                 f"threads.get_by_id {got.status_code}", [], time.monotonic() - began)

    # ---- CORS ---------------------------------------------------------------------------------------------------

    def _origin(self) -> tuple[str | None, str]:
        """The origin a browser would send: --origin, else the app's own front end's dev server, else the origins the
        app is configured with."""
        if self.o.origin:
            return self.o.origin, "--origin"
        d = self.d
        if d.frontend is not None and not d.frontend.hosted:
            return d.frontend.origin, f"{d.frontend.origin_source} of {d.relative(d.frontend.root)}"
        for name in d.cors_env:
            value = self.env.get(name) or os.environ.get(name) or d.dotenv.get(name)
            if value:
                origin = _first_origin(value)
                if origin:
                    return origin, name
        origin = _first_origin(",".join(d.cors_origins))
        if origin:
            return origin, "the app's allowed origins"
        if d.cors_middleware:
            return "http://localhost:5173", "a typical dev server (no origin configured, no front end found)"
        return None, ""

    def _cors(self) -> None:
        import httpx

        d = self.d
        if d.frontend is not None and d.frontend.proxied and not self.o.origin:
            reason = (f"the front end ({d.relative(d.frontend.root)}) reaches the back end through its dev proxy or "
                      "a server route: the browser stays same-origin, so CORS is not used")
            self._skip(("cors.allowed_origin", "cors.foreign_origin"), reason)
            return
        if not d.cors_middleware and not self.o.origin:
            reason = ("no CORSMiddleware on this app: the front end must be same-origin or proxied "
                      "(`chatkit-fix check` reports CK406 when it calls cross-origin)")
            self._skip(("cors.allowed_origin", "cors.foreign_origin"), reason)
            return
        origin, source = self._origin()
        assert self.app is not None and origin is not None
        self.report.setup["origin"] = {"origin": origin, "source": source}
        url = f"{self.app.url}{self.path}"
        headers = {"Access-Control-Request-Method": "POST",
                   "Access-Control-Request-Headers": "authorization,content-type"}
        began = time.monotonic()
        mark = self._log_mark()
        try:
            allowed = httpx.options(url, headers={"Origin": origin, **headers}, timeout=self.o.timeout)
            log = self._log_since(mark, settle=False)
            foreign = httpx.options(url, headers={"Origin": FOREIGN_ORIGIN, **headers}, timeout=self.o.timeout)
        except httpx.HTTPError as exc:
            self._record("cors.allowed_origin", FAIL, f"OPTIONS {url}: {exc}", [], time.monotonic() - began)
            self._record("cors.foreign_origin", SKIP, "the preflight did not answer")
            return
        seconds = time.monotonic() - began
        status, reason, rules = self._judge_preflight(allowed, origin, source)
        self._record("cors.allowed_origin", status, reason, rules, seconds, log)
        status, reason, rules = _judge_foreign(foreign)
        self._record("cors.foreign_origin", status, reason, rules, seconds)

    def _judge_preflight(self, answer, origin: str, source: str) -> tuple[str, str, list[str]]:
        code = answer.status_code
        acao = answer.headers.get("access-control-allow-origin")
        if code in (200, 204) and acao in (origin, "*"):
            return PASS, f"{origin} ({source}): HTTP {code}, Access-Control-Allow-Origin: {acao}", []
        if code in (401, 403):
            return FAIL, (f"the preflight from {origin} got HTTP {code}: something that refuses unauthenticated "
                          "requests runs before CORSMiddleware"), ["CK407"]
        if code == 405 or not self.d.cors_middleware:
            return FAIL, (f"the preflight from {origin} got HTTP {code} without Access-Control-Allow-Origin: "
                          "no CORS handling"), ["CK406"]
        if code in (200, 204) and self.d.options_route:
            return FAIL, f"an OPTIONS route answers the preflight from {origin} without CORS headers", ["CK408"]
        configured = ", ".join(self.d.cors_env) or "its allow_origins"
        return FAIL, (f"the preflight from {origin} ({source}) got HTTP {code}, Access-Control-Allow-Origin: "
                      f"{acao}: the app does not allow its own front end's origin (set in {configured})"), ["CK406"]

    # ---- restart ------------------------------------------------------------------------------------------------

    def _persistence(self) -> None:
        if self.report.check("persistence") is not None:
            return
        if self.d.memory_store:
            self._record("persistence", SKIP, f"the store keeps threads in process memory ({self.d.memory_store}): "
                                              "they are lost on restart by design (CK308 when a production entry "
                                              "point or several workers serve it)")
            return
        if not self.thread_id or not self.items_a:
            self._record("persistence", SKIP, "no stored thread to read back")
            return
        from .protocol import ProtocolError

        began = time.monotonic()
        assert self.app is not None
        self.app.stop()
        self.app = self._start_app("persistence")
        if self.app is None:
            return
        mark = self._log_mark()
        try:
            with self._client(USER_A) as client:
                thread = client.get_thread(self.thread_id)
                items = client.all_items(self.thread_id)
        except ProtocolError as exc:
            log = self._log_since(mark)
            cause = diagnose.explain(log, self.project_root)
            if diagnose.is_not_found(cause.exception):
                # the store answered that the thread it saved before the restart does not exist: it was lost
                self._record("persistence", FAIL, f"after a restart, reading thread {self.thread_id} got HTTP "
                                                  f"{exc.status}: {cause.text()}: the store lost the thread it saved "
                                                  "before the restart", ["CK308"], time.monotonic() - began, log)
                return
            self._record("persistence", FAIL, f"after a restart, reading thread {self.thread_id} got HTTP "
                                              f"{exc.status}: {cause.text() or exc.body[:160]}", cause.rules,
                         time.monotonic() - began, log)
            return
        before = [item.get("id") for item in self.items_a]
        after = [item.get("id") for item in items]
        if thread.get("id") != self.thread_id or before != after:
            self._record("persistence", FAIL, f"after a restart the thread has {len(after)} items instead of "
                                              f"{len(before)}: the store lost what it saved before the restart",
                         ["CK308"], time.monotonic() - began)
            return
        self._record("persistence", PASS, f"thread and its {len(after)} items read back after a restart", [],
                     time.monotonic() - began)


# ---- helpers ------------------------------------------------------------------------------------------------------


def _texts_and_decoded(value: Any):
    """Every string of a JSON value, and the bytes (as latin-1 text) of each one that is base64 or a base64 data URL."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _texts_and_decoded(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts_and_decoded(item)
    elif isinstance(value, str):
        yield value
        encoded = value.split(";base64,", 1)[1] if value.startswith("data:") and ";base64," in value else value
        if len(encoded) >= 16 and re.fullmatch(r"[A-Za-z0-9+/=\s]+", encoded):
            with contextlib.suppress(ValueError):
                yield base64.b64decode(encoded + "=" * (-len(encoded) % 4)).decode("latin-1")


def _attachment_file(marker: str, accepted: list[str] | None) -> tuple[str, str, bytes]:
    """(name, MIME type, bytes) of the file user A attaches: a text file naming the marker, or, when the front end's
    composer accepts only images, a 1x1 PNG carrying the marker in a tEXt chunk (the front end could send no other)."""
    if accepted and all(kind.lower().startswith("image/") for kind in accepted):
        import struct
        import zlib

        def chunk(kind: bytes, body: bytes) -> bytes:
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

        png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
               + chunk(b"tEXt", b"Comment\x00" + marker.encode()) + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
               + chunk(b"IEND", b""))
        return "verify.png", "image/png", png
    return "verify.txt", "text/plain", f"{marker}: a file uploaded by user A\n".encode()


def _offered(requests: list[RecordedRequest]) -> set[str]:
    """Function tools offered to the model in these requests."""
    offered: set[str] = set()
    for request in requests:
        body = request.body if isinstance(request.body, dict) else {}
        for tool in body.get("tools") or []:
            if not isinstance(tool, dict) or tool.get("type") != "function":
                continue
            name = tool.get("name") or (tool.get("function") or {}).get("name")
            if name:
                offered.add(name)
    return offered


def _call_output(requests: list[RecordedRequest], call_id: str) -> str | None:
    """The output the app sent back to the model for one tool call, if a later request carries it."""
    for request in requests:
        body = request.body if isinstance(request.body, dict) else {}
        for item in body.get("input") if isinstance(body.get("input"), list) else []:
            if isinstance(item, dict) and item.get("type") == "function_call_output" and item.get("call_id") == call_id:
                return _output_text(item.get("output"))
        for message in body.get("messages") or []:
            if isinstance(message, dict) and message.get("role") == "tool" and message.get("tool_call_id") == call_id:
                return _output_text(message.get("content"))
    return None


def _from_fake(text: str) -> bool:
    """The fake's own replies (its default templates), as opposed to a message a tool streamed."""
    return text.startswith(("Echo: ", "Tool said: ")) or text.lstrip().startswith(("{", "["))


def _tool_log(log: str, name: str) -> str:
    """The part of a turn's log about one tool's failure (the Agents SDK logs `Tool <name> failed: ...`)."""
    index = log.find(f"Tool {name} failed")
    return log[index:] if index >= 0 else ""


def _judge_foreign(answer) -> tuple[str, str, list[str]]:
    acao = answer.headers.get("access-control-allow-origin")
    credentials = answer.headers.get("access-control-allow-credentials", "").lower() == "true"
    if acao in (FOREIGN_ORIGIN, "*") and credentials:
        return FAIL, (f"{FOREIGN_ORIGIN} is allowed with credentials (Access-Control-Allow-Origin: {acao}, "
                      "Access-Control-Allow-Credentials: true)"), ["CK405"]
    if acao:
        return PASS, f"{FOREIGN_ORIGIN} gets Access-Control-Allow-Origin: {acao} but no credentials", []
    return PASS, f"{FOREIGN_ORIGIN}: HTTP {answer.status_code}, no Access-Control-Allow-Origin", []


def _output_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(str(part.get("text", "")) for part in value if isinstance(part, dict))
    return json.dumps(value) if value is not None else ""


def _thread_id(events: list[dict[str, Any]]) -> str | None:
    for event in events:
        if event.get("type") == "thread.created":
            return (event.get("thread") or {}).get("id")
        item = event.get("item")
        if isinstance(item, dict) and item.get("thread_id"):
            return item["thread_id"]
    return None


def _message_text(item: dict[str, Any]) -> str:
    return "".join(part.get("text", "") for part in item.get("content", []) if isinstance(part, dict))


def _kinds(kinds: list[Any]) -> str:
    compact: list[str] = []
    for kind in kinds:
        if compact and compact[-1].startswith(f"{kind}"):
            head, _, count = compact[-1].partition(" x")
            if head == kind:
                compact[-1] = f"{kind} x{int(count or 1) + 1}"
                continue
        compact.append(str(kind))
    return ", ".join(compact) or "none"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _first_origin(value: str) -> str | None:
    for part in re.split(r"[,\s]+", value):
        part = part.strip().strip("\"'[]")
        if part and part != "*" and re.match(r"^https?://", part):
            return part.rstrip("/")
    return None
