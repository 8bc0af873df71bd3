"""The checks of `chatkit-fix verify`: boot the project's back end against the fake OpenAI API and drive the ChatKit
protocol end to end, check by check, naming the rules that explain each failure.

Order of a run: the fake OpenAI server (in this process, on loopback), the project's MCP tool server (a uvicorn
child), the app (a uvicorn child); then the protocol as a front end speaks it; then a restart of the app for the
persistence check. Every child runs in its own process group and is stopped however the run ends (a failure, an
exception, Ctrl-C or SIGTERM).
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

from . import diagnose
from .discover import FRONTEND_ORIGINS, Discovery
from .fake_openai import FakeOpenAI, FakeScript, RecordedRequest
from .processes import ProcessError, ServerProcess, start_uvicorn

PASS, FAIL, SKIP = "pass", "fail", "skip"
USER_A, USER_B = "chatkit-fix-verify-a", "chatkit-fix-verify-b"
FIRST_TEXT, SECOND_TEXT = "Hello from chatkit-fix verify", "And a second message"
FOREIGN_ORIGIN = "https://evil.example"
FAKE_ID = "__fake_id__"
UNSET_ENV = ("OPENAI_ORG_ID", "OPENAI_ORGANIZATION", "OPENAI_PROJECT_ID", "OPENAI_ADMIN_KEY", "OPENAI_WEBHOOK_SECRET")

# id -> title, in the order they run (the JSON output and the docs list them in this order)
CATALOGUE: dict[str, str] = {
    "mcp.start": "the MCP tool server starts",
    "app.start": "the app starts under uvicorn",
    "endpoint": "the ChatKit endpoint answers",
    "threads.create": "threads.create streams thread.created, the user item and an assistant answer",
    "tools": "a tool call round-trips (MCP tools when there is a server)",
    "threads.add_user_message": "threads.add_user_message streams an assistant answer",
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

    @property
    def title(self) -> str:
        return CATALOGUE.get(self.id) or EXTRA_TITLES.get(self.id, self.id)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "title": self.title, "status": self.status, "reason": self.reason,
                                "rules": self.rules, "seconds": round(self.seconds, 3)}
        if self.status == FAIL and self.log:
            data["log"] = self.log
        return data


@dataclass
class VerifyOptions:
    python: str
    jwt_secret: str | None = None
    jwt_claims: dict[str, Any] = field(default_factory=dict)
    origin: str | None = None
    path: str | None = None
    timeout: float = 60.0
    script: FakeScript | None = None
    env: dict[str, str] = field(default_factory=dict)
    keep_logs: bool = False


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

    def check(self, check_id: str) -> CheckResult | None:
        return next((c for c in self.checks if c.id == check_id), None)

    @property
    def exit_code(self) -> int:
        """1 when a check failed; 2 when nothing could be verified (the first conversation never ran); else 0."""
        if self.count(FAIL):
            return 1
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
    """The remaining checks cannot run (the app is gone, or the endpoint was not found)."""


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
        self.thread_id: str | None = None
        self.items_a: list[dict[str, Any]] = []
        self.streams: list[Any] = []
        self.model_mark = 0
        self.path = options.path or discovery.chatkit_path

    # ---- lifecycle ----------------------------------------------------------------------------------------------

    def run(self) -> VerifyReport:
        started = time.monotonic()
        self.workdir = Path(tempfile.mkdtemp(prefix="chatkit-fix-verify-"))
        try:
            self._run()
        except _Stop:
            pass
        finally:
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
        result = CheckResult(check_id, status, reason, list(dict.fromkeys(rules)), seconds,
                             _tail(log, 30) if status == FAIL else "")
        self.report.checks.append(result)
        self.progress(f"{status.upper():4}  {check_id}")
        return result

    def _skip_rest(self, reason: str) -> None:
        done = {c.id for c in self.report.checks}
        for check_id in CATALOGUE:
            if check_id not in done:
                self._record(check_id, SKIP, reason)

    # ---- environment --------------------------------------------------------------------------------------------

    def _build_env(self) -> None:
        d, env = self.d, {}
        for key, value in d.dotenv.items():
            if key not in os.environ:
                env[key] = value
        assert self.fake is not None and self.workdir is not None
        env.update(self.fake.env())
        env["OPENAI_AGENTS_DISABLE_TRACING"] = "1"  # the trace exporter would post to api.openai.com
        env["OPENAI_AGENTS_DONT_LOG_MODEL_DATA"] = "1"
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

    def _resolve_secret(self, env: dict[str, str]) -> None:
        d = self.d
        if self.o.jwt_secret:
            self.secret, self.secret_source = self.o.jwt_secret, "--jwt-secret"
            for name in d.secret_names:
                env[name] = self.o.jwt_secret
            return
        for name in d.secret_names:
            value = os.environ.get(name) or d.dotenv.get(name)
            if value:
                origin = "the environment" if os.environ.get(name) else "the project's .env"
                self.secret, self.secret_source = value, f"{name} from {origin}"
                return
        if d.secret_literal:
            self.secret = d.secret_literal
            self.secret_source = f"hard-coded at {d.secret_literal_where} (CK409)"
            return
        if d.secret_names:
            self.secret = secrets.token_urlsafe(48)
            for name in d.secret_names:
                env[name] = self.secret
            self.secret_source = f"{d.secret_names[0]}, generated for this run"

    # ---- servers ------------------------------------------------------------------------------------------------

    def _start(self, name: str, import_string: str, cwd: Path, factory: bool = False,
               port: int | None = None) -> ServerProcess:
        assert self.workdir is not None
        self.starts += 1
        log = self.workdir / f"{name}-{self.starts}.log"
        try:
            server = start_uvicorn(import_string, cwd, python=self.o.python, env=self.env, unset_env=UNSET_ENV,
                                   port=port, factory=factory, timeout=self.o.timeout, log_path=log, name=name)
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
            rules, why = diagnose.rules_from_log(exc.log)
            reason = f"{mcp.import_string} did not start: {diagnose.last_exception(exc.log) or _first_line(exc)}"
            self._record("mcp.start", FAIL, reason + (f" ({why})" if why else ""), rules,
                         time.monotonic() - began, exc.log)
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
        began = time.monotonic()
        try:
            server = self._start("app", app.import_string, app.cwd, app.factory)
        except ProcessError as exc:
            rules, why = diagnose.rules_from_log(exc.log)
            cause = diagnose.last_exception(exc.log) or _first_line(exc)
            if check_id == "app.start":
                self._record(check_id, FAIL, f"{app.import_string} did not start: {cause}" + (f" ({why})" if why else ""),
                             rules, time.monotonic() - began, exc.log)
            else:
                self._record(check_id, FAIL, f"the app did not start again: {cause}", rules,
                             time.monotonic() - began, exc.log)
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
            log = self.app.log()
            self._record("app.alive", FAIL, f"the app exited (code {code}): "
                                            f"{diagnose.last_exception(log) or 'see its log'}",
                         diagnose.rules_from_log(log)[0], 0.0, log)
            self._skip_rest("the app exited")
            raise _Stop

    # ---- the checks ---------------------------------------------------------------------------------------------

    def _run(self) -> None:
        script = self.o.script or FakeScript()
        if self.o.script is None and self.d.mcp is not None and self.d.mcp.tools:
            script = FakeScript(tool_name=self.d.mcp.tools[0])
        self.fake = FakeOpenAI(script=script).start()
        self._build_env()
        self.report.setup.update({"openai_base_url": self.fake.base_url, "python": self.o.python,
                                  "endpoint_path": self.path})
        self.progress(f"fake OpenAI API on {self.fake.base_url}")
        self._start_mcp()
        self.app = self._start_app()
        if self.app is None:
            self._skip_rest("the app did not start")
            return
        self.report.setup["app_url"] = self.app.url
        self._endpoint()
        self._conversation()
        self._attachments()
        self._auth()
        self._cors()
        self._persistence()

    def _endpoint(self) -> None:
        import httpx

        from .protocol import threads_list

        assert self.app is not None
        began = time.monotonic()
        mark = self._log_mark()
        url = f"{self.app.url}{self.path}"
        try:
            response = httpx.post(url, json=threads_list(), timeout=self.o.timeout)
        except httpx.HTTPError as exc:
            self._record("endpoint", FAIL, f"POST {url}: {type(exc).__name__}: {exc}", (), time.monotonic() - began,
                         self._log_since(mark))
            self._skip_rest("the endpoint did not answer")
            raise _Stop from None
        status = response.status_code
        seconds = time.monotonic() - began
        if status in (404, 405):
            self._record("endpoint", FAIL, f"POST {self.path} got HTTP {status}: no ChatKit route there "
                                           "(pass --path, or --app for another app)", (), seconds)
            self._skip_rest("no ChatKit endpoint")
            raise _Stop
        if status in (401, 403):
            self.auth_mode = "bearer"
            self.report.setup["auth"] = {"mode": "bearer", "secret": self.secret_source or None}
            self._record("endpoint", PASS, f"POST {self.path} answers (HTTP {status} without a token: bearer auth)",
                         (), seconds)
            if not self.secret:
                reason = ("the endpoint requires a bearer token and no JWT secret is known: pass --jwt-secret, or set "
                          "it in the project's .env")
                for check_id in ("threads.create", "tools", "threads.add_user_message", "items.list", "threads.list",
                                 "threads.get_by_id", "item_ids.unique", "auth.valid_token", "auth.isolation",
                                 "persistence"):
                    self._record(check_id, SKIP, reason)
            return
        self.auth_mode = "open"
        self.report.setup["auth"] = {"mode": "open", "secret": None}
        if status >= 500:
            log = self._log_since(mark)
            rules, why = diagnose.rules_from_log(log)
            self._record("endpoint", FAIL, f"threads.list got HTTP {status}: "
                                           f"{diagnose.last_exception(log) or response.text[:200]}"
                                           + (f" ({why})" if why else ""), rules, seconds, log)
            return
        self._record("endpoint", PASS, f"POST {self.path} answers HTTP {status} without a token", (), seconds)

    def _conversation(self) -> None:
        if self.report.check("threads.create") is not None:
            return  # skipped already (no secret)
        assert self.fake is not None
        self.model_mark = len(self.fake.requests)
        tools_mark_mcp = len(self.mcp.log()) if self.mcp is not None else 0
        with self._client(USER_A) as client:
            first = self._stream_check("threads.create", lambda: client.create_thread(FIRST_TEXT), create=True)
            self._ensure_alive()
            if self.thread_id is None:
                self.thread_id = self._saved_thread(client)
            if self.thread_id is None:
                for check_id in ("tools", "threads.add_user_message", "items.list", "threads.list",
                                 "threads.get_by_id", "item_ids.unique"):
                    self._record(check_id, SKIP, "no thread: threads.create did not create one")
                return
            second = self._stream_check("threads.add_user_message",
                                        lambda: client.add_user_message(self.thread_id, SECOND_TEXT), create=False,
                                        record=False)
            self._tools(first, tools_mark_mcp)
            self.report.checks.append(second)
            self.progress(f"{second.status.upper():4}  {second.id}")
            self._ensure_alive()
            self._request_check("items.list", client, lambda: client.all_items(self.thread_id), self._judge_items)
            self._request_check("threads.list", client, lambda: client.list_threads(), self._judge_list)
            self._request_check("threads.get_by_id", client, lambda: client.get_thread(self.thread_id),
                                self._judge_get)
            self._unique_ids()

    def _saved_thread(self, client) -> str | None:
        """A stream that died before `thread.created` may still have saved the thread: look for it."""
        with contextlib.suppress(Exception):
            data = client.list_threads().get("data", [])
            if data and isinstance(data[0], dict):
                return data[0].get("id")
        return None

    def _stream_check(self, check_id: str, call: Callable[[], Any], create: bool, record: bool = True):
        from .protocol import ProtocolError, parse_sse

        began = time.monotonic()
        mark = self._log_mark()
        requests_before = len(self.fake.requests) if self.fake else 0
        try:
            result = call()
        except ProtocolError as exc:
            log = self._log_since(mark)
            rules, why = diagnose.rules_from_log(log, diagnose.STREAM_FAILURE_RULES)
            return self._finish(check_id, FAIL, f"{exc}" + (f" ({why})" if why else ""), rules, began, log, record)
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
        log_needed = not result.ok
        log = self._log_since(mark, settle=log_needed) if log_needed else ""
        if result.status != 200:
            cause = diagnose.last_exception(log) or _clip(result.raw, 200)
            if result.status in (404, 405):
                return self._finish(check_id, FAIL, f"HTTP {result.status}: no ChatKit route at {self.path} (pass "
                                                    "--path)", [], began, log, record)
            if result.status in (401, 403):
                return self._finish(check_id, FAIL, f"HTTP {result.status} for a token signed with "
                                                    f"{self.secret_source or 'no secret'}: {cause}", [], began, log,
                                    record)
            validation = "ValidationError" in log or "validation error" in log or result.status in (400, 422)
            fallback: tuple[str, ...] = ()
            if result.status >= 500 or validation:
                fallback = diagnose.VALIDATION_FAILURE_RULES if validation else diagnose.STREAM_FAILURE_RULES
            rules, why = diagnose.rules_from_log(log, fallback)
            return self._finish(check_id, FAIL, f"HTTP {result.status}: {cause}" + (f" ({why})" if why else ""),
                                rules, began, log, record)
        if not result.is_event_stream:
            return self._finish(check_id, FAIL, f"answered {result.content_type or 'no content type'}, not "
                                                "text/event-stream: the endpoint buffers or re-wraps the stream",
                                ["CK201"], began, log, record)
        assistant = [item for item in result.assistant_messages() if _message_text(item).strip()]
        if result.errors or result.cut_off or result.undecodable:
            rules, why = diagnose.rules_from_log(log, diagnose.STREAM_FAILURE_RULES)
            if result.errors:
                error = result.errors[0]
                what = f"an error event ({error.get('code', '?')}: {error.get('message') or 'no message'})"
            elif result.cut_off:
                what = f"the stream was cut off after {len(result.events)} events ({result.transport_error})"
            else:
                what = "undecodable event data"
            cause = diagnose.last_exception(log)
            reason = what + (f"; server: {cause}" if cause else "") + (f" ({why})" if why else "")
            return self._finish(check_id, FAIL, reason, rules, began, log, record)
        kinds = [event.get("type") for event in result.events]
        missing = []
        if create and "thread.created" not in kinds:
            missing.append("thread.created")
        if not result.items_done("user_message"):
            missing.append("the user message (thread.item.done)")
        if not assistant:
            missing.append("an assistant message with text")
        if missing:
            rules: list[str] = []
            reason = f"no {', '.join(missing)} in the stream (events: {_kinds(kinds)})"
            if not assistant and self.fake is not None and len(self.fake.requests) == requests_before:
                reason += "; the app never called the fake OpenAI API (does it honour OPENAI_BASE_URL?)"
            else:
                rules, _ = diagnose.rules_from_log(self._log_since(mark), diagnose.STREAM_FAILURE_RULES)
            return self._finish(check_id, FAIL, reason, rules, began, self._log_since(mark, settle=False), record)
        text = _message_text(assistant[-1])
        return self._finish(check_id, PASS, f"{len(result.events)} events; assistant: {_clip(text, 80)!r}", [],
                            began, "", record)

    def _finish(self, check_id, status, reason, rules, began, log, record):
        result = CheckResult(check_id, status, reason, list(dict.fromkeys(rules)), time.monotonic() - began,
                             _tail(log, 30) if status == FAIL else "")
        if record:
            self.report.checks.append(result)
            self.progress(f"{status.upper():4}  {check_id}")
        return result

    def _request_check(self, check_id: str, client, call: Callable[[], Any], judge: Callable[[Any], tuple]) -> None:
        from .protocol import ProtocolError

        began = time.monotonic()
        mark = self._log_mark()
        try:
            answer = call()
        except ProtocolError as exc:
            log = self._log_since(mark)
            fallback = ("CK302", "CK303") if exc.status == 500 else ()
            rules, why = diagnose.rules_from_log(log, fallback)
            cause = diagnose.last_exception(log)
            reason = f"HTTP {exc.status}: {cause or exc.body[:200] or exc}" + (f" ({why})" if why else "")
            self._record(check_id, FAIL, reason, rules, time.monotonic() - began, log)
            return
        except Exception as exc:  # noqa: BLE001 - a transport error is a failed check, not a crash of verify
            log = self._log_since(mark)
            self._record(check_id, FAIL, f"{type(exc).__name__}: {exc}", diagnose.rules_from_log(log)[0],
                         time.monotonic() - began, log)
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
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if FAKE_ID in ids or FAKE_ID in streamed or duplicates:
            shown = duplicates or [FAKE_ID]
            self._record("item_ids.unique", FAIL, f"assistant messages share the id {', '.join(shown)}: each new "
                                                  "answer overwrites the last one in the UI", ["CK209"],
                         time.monotonic() - began)
            return
        self._record("item_ids.unique", PASS, f"{len(ids)} assistant messages, {len(set(ids))} ids", [],
                     time.monotonic() - began)

    def _attachments(self) -> None:
        """User A uploads a text file in two phases (`attachments.create`, then the file to the URL it answers
        with) and sends a message naming it: the model must get its content. User B then names it in a message of
        their own and deletes it: B's message must not carry it, and A's file must survive. A server with no
        attachment store (any non-200 to `attachments.create`) is skipped: its front end cannot offer uploads."""
        from .protocol import attachments_create, attachments_delete

        create = self.report.check("threads.create")
        if create is None or create.status != PASS:
            self._record("attachments", SKIP, "no conversation to attach a file to (see threads.create)")
            return
        assert self.fake is not None
        began = time.monotonic()
        mark = self._log_mark()
        marker = f"chatkit-fix-verify-attachment-{secrets.token_hex(4)}"
        data = f"{marker}: a file uploaded by user A\n".encode()

        def fail(reason: str) -> None:
            log = self._log_since(mark)
            self._record("attachments", FAIL, reason, diagnose.rules_from_log(log)[0], time.monotonic() - began, log)

        def model_saw_marker(since: int) -> bool:
            return any(marker in json.dumps(request.body) for request in self.fake.requests[since:])

        with self._client(USER_A) as owner, self._client(USER_B) as other:
            created = owner.post(attachments_create("verify.txt", len(data), "text/plain"))
            if created.status_code != 200:
                self._record("attachments", SKIP, f"attachments.create answered HTTP {created.status_code}: no "
                                                  "attachment store, so the front end cannot offer uploads",
                             [], time.monotonic() - began)
                return
            attachment = created.json()
            descriptor = attachment.get("upload_descriptor")
            if descriptor:
                uploaded = owner.upload(descriptor, "verify.txt", data, "text/plain")
                if uploaded.status_code >= 300:
                    fail(f"the upload to {descriptor.get('url')} answered HTTP {uploaded.status_code}: "
                         f"{_clip(uploaded.text, 200)}")
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

    def _tools(self, first, mcp_mark: int) -> None:
        began = time.monotonic()
        assert self.fake is not None
        script = self.fake.script
        if script.tool_call == "never":
            self._record("tools", SKIP, "the fake script never calls tools")
            return
        requests = self.fake.requests[self.model_mark:]
        offered, calls = tool_activity(requests)
        mcp = self.d.mcp
        mcp_tools = set(mcp.tools) if mcp else set()
        if not requests:
            create = self.report.check("threads.create")
            if create is not None and create.status == PASS:
                self._record("tools", SKIP, "the app answered without calling a model")
            else:
                self._record("tools", SKIP, "no model request reached the fake OpenAI API (see threads.create)")
            return
        if not offered:
            if mcp is not None and self.mcp is not None:
                self._record("tools", FAIL, f"the agent offered none of the MCP server's tools "
                                            f"({', '.join(sorted(mcp_tools)) or 'none found'}) to the model",
                             ["CK501"], time.monotonic() - began)
            else:
                self._record("tools", SKIP, "the agent offers no tools")
            return
        if mcp_tools and self.mcp is not None and not (offered & mcp_tools):
            self._record("tools", FAIL, f"the model was offered {', '.join(sorted(offered))} but none of the MCP "
                                        f"tools ({', '.join(sorted(mcp_tools))})", ["CK501"], time.monotonic() - began)
            return
        if not calls:
            log = self._log_since(0, settle=False)
            is_mcp = bool(offered & mcp_tools)
            rules, why = diagnose.rules_from_log(log, ("CK501", "CK502") if is_mcp else ("CK205",))
            self._record("tools", FAIL, f"the model called a tool ({', '.join(sorted(offered))}) but no tool output "
                                        "came back" + (f" ({why})" if why else ""), rules, time.monotonic() - began,
                         log)
            return
        name, output = calls[0]
        is_mcp = name in mcp_tools
        if diagnose.is_tool_error(output):
            log = self._log_since(0, settle=False)
            if is_mcp and self.mcp is not None:
                log += "\n--- MCP server log ---\n" + self.mcp.log()[mcp_mark:]
            rules, why = diagnose.rules_from_log(log, ("CK501", "CK502", "CK505") if is_mcp else ("CK205",))
            self._record("tools", FAIL, f"{name} failed: {_clip(output, 120)!r}" + (f" ({why})" if why else ""),
                         rules, time.monotonic() - began, log)
            return
        if is_mcp and self.mcp is not None:
            mcp_log = self.mcp.log()[mcp_mark:]
            if f"POST {mcp.path}" not in mcp_log and "POST /" not in mcp_log:  # type: ignore[union-attr]
                self._record("tools", FAIL, f"{name} returned output but the MCP server logged no request",
                             ["CK501"], time.monotonic() - began, mcp_log)
                return
            where = f"MCP tool {name} on {self.report.setup.get('mcp_url')}"
        else:
            where = f"tool {name}"
        self._record("tools", PASS, f"{where} -> {_clip(output, 80)!r}", [], time.monotonic() - began)

    # ---- auth ---------------------------------------------------------------------------------------------------

    def _auth(self) -> None:
        if self.auth_mode == "open":
            self._auth_open()
            return
        from .protocol import threads_list

        # bearer mode
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

        evidence = self.d.auth_evidence
        if not evidence:
            reason = "the endpoint needs no token and the back end has no authentication"
            for check_id in ("auth.no_token", "auth.bad_token", "auth.valid_token", "auth.isolation"):
                self._record(check_id, SKIP, reason)
            return
        self._record("auth.no_token", FAIL, f"served a request without a token although the back end authenticates "
                                            f"({evidence[0]}): it falls back to an anonymous user", ["CK403"])
        wrong = hs256_token("not-the-project-secret-" + secrets.token_hex(16), USER_A, self.o.jwt_claims)
        with self._client(token=wrong) as client:
            self._status_check("auth.bad_token", lambda: client.post(threads_list()), expect_refused=True)
        self._record("auth.valid_token", SKIP, "the endpoint accepts requests without a token")
        self._record("auth.isolation", SKIP, "the endpoint accepts requests without a token")

    def _status_check(self, check_id: str, call: Callable[[], Any], expect_refused: bool) -> None:
        began = time.monotonic()
        mark = self._log_mark()
        try:
            response = call()
        except Exception as exc:  # noqa: BLE001
            self._record(check_id, FAIL, f"{type(exc).__name__}: {exc}", [], time.monotonic() - began,
                         self._log_since(mark))
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
                log = self._log_since(mark)
                rules, why = diagnose.rules_from_log(log)
                self._record(check_id, FAIL, f"HTTP {status} instead of 401: "
                                             f"{diagnose.last_exception(log) or response.text[:160]}"
                             + (f" ({why})" if why else ""), rules, time.monotonic() - began, log)

    def _record_valid_token(self) -> None:
        from .protocol import threads_list

        began = time.monotonic()
        mark = self._log_mark()
        with self._client(USER_A) as client:
            response = client.post(threads_list())
        if response.status_code == 200:
            self._record("auth.valid_token", PASS, f"signed with {self.secret_source}", [], time.monotonic() - began)
            return
        log = self._log_since(mark)
        rules, why = diagnose.rules_from_log(log)
        self._record("auth.valid_token", FAIL, f"HTTP {response.status_code} for a token signed with "
                                               f"{self.secret_source}: {diagnose.last_exception(log) or response.text[:160]}"
                     + (f" ({why})" if why else ""), rules, time.monotonic() - began, log)

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
        if self.o.origin:
            return self.o.origin, "--origin"
        d = self.d
        for name in d.cors_env:
            value = self.env.get(name) or os.environ.get(name) or d.dotenv.get(name)
            if value:
                origin = _first_origin(value)
                if origin:
                    return origin, name
        origin = _first_origin(",".join(d.cors_origins))
        if origin:
            return origin, "the app's allowed origins"
        for name, value in d.example_env.items():
            if "CORS" in name or "ORIGIN" in name:
                origin = _first_origin(value)
                if origin:
                    return origin, f"{name} in .env.example"
        if d.frontend:
            return FRONTEND_ORIGINS[d.frontend], f"the {d.frontend} dev server"
        if d.cors_middleware:
            return FRONTEND_ORIGINS["vite"], "a typical dev server (no origin configured)"
        return None, ""

    def _cors(self) -> None:
        import httpx

        origin, source = self._origin()
        d = self.d
        if not d.cors_middleware and not self.o.origin:
            reason = ("no CORSMiddleware: the front end must be same-origin or proxied "
                      "(`chatkit-fix check` reports CK406 when it calls cross-origin)")
            self._record("cors.allowed_origin", SKIP, reason)
            self._record("cors.foreign_origin", SKIP, reason)
            return
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
        return FAIL, (f"the preflight from {origin} ({source}) got HTTP {code}, Access-Control-Allow-Origin: "
                      f"{acao}: the origin is not allowed"), ["CK406"]


    # ---- restart ------------------------------------------------------------------------------------------------

    def _persistence(self) -> None:
        if self.report.check("persistence") is not None:
            return
        if self.d.memory_store:
            self._record("persistence", SKIP, f"in-memory store (CK308): {self.d.memory_store}")
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
            self._record("persistence", FAIL, f"after a restart, reading thread {self.thread_id} got HTTP "
                                              f"{exc.status}: {diagnose.last_exception(log) or exc.body[:160]}: "
                                              "the store keeps threads in process memory", ["CK308"],
                         time.monotonic() - began, log)
            return
        before = [item.get("id") for item in self.items_a]
        after = [item.get("id") for item in items]
        if thread.get("id") != self.thread_id or before != after:
            self._record("persistence", FAIL, f"after a restart the thread has {len(after)} items instead of "
                                              f"{len(before)}", ["CK308"], time.monotonic() - began)
            return
        self._record("persistence", PASS, f"thread and its {len(after)} items read back after a restart", [],
                     time.monotonic() - began)


# ---- helpers ------------------------------------------------------------------------------------------------------


def tool_activity(requests: list[RecordedRequest]) -> tuple[set[str], list[tuple[str, str]]]:
    """Tools offered to the model, and (tool name, output) of each call whose output came back, first call first."""
    offered: set[str] = set()
    names: dict[str, str] = {}
    outputs: dict[str, str] = {}
    for request in requests:
        body = request.body if isinstance(request.body, dict) else {}
        path = request.path.split("?")[0].rstrip("/")
        if path.endswith("/responses"):
            for tool in body.get("tools") or []:
                if isinstance(tool, dict) and tool.get("type") == "function" and tool.get("name"):
                    offered.add(tool["name"])
            items = body.get("input") if isinstance(body.get("input"), list) else []
            for item in items:
                if not isinstance(item, dict):
                    continue
                if item.get("type") == "function_call":
                    names[item.get("call_id", "")] = item.get("name", "?")
                elif item.get("type") == "function_call_output":
                    outputs.setdefault(item.get("call_id", ""), _output_text(item.get("output")))
        elif path.endswith("/chat/completions"):
            for tool in body.get("tools") or []:
                function = tool.get("function", {}) if isinstance(tool, dict) else {}
                if function.get("name"):
                    offered.add(function["name"])
            for message in body.get("messages") or []:
                if not isinstance(message, dict):
                    continue
                for call in message.get("tool_calls") or []:
                    names[call.get("id", "")] = call.get("function", {}).get("name", "?")
                if message.get("role") == "tool":
                    outputs.setdefault(message.get("tool_call_id", ""), _output_text(message.get("content")))
    return offered, [(names.get(call_id, "?"), output) for call_id, output in outputs.items()]


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


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _first_origin(value: str) -> str | None:
    for part in re.split(r"[,\s]+", value):
        part = part.strip().strip("\"'[]")
        if part and part != "*" and re.match(r"^https?://", part):
            return part.rstrip("/")
    return None
