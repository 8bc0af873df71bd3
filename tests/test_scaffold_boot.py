"""The generated back end and MCP server, booted as real uvicorn processes against the fake OpenAI server.

Everything is checked over HTTP, as a ChatKit front end would talk to it: the agent calls the
MCP tool as the signed-in user, threads survive a restart, users are kept apart, and bad
bodies get 4xx answers instead of 500s. Forged tokens and the other attacks are in test_attacks.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from scaffold_support import chatkit_client as ck
from scaffold_support.postgres import postgres_server  # noqa: F401 (a fixture)
from scaffold_support.projects import generate
from scaffold_support.servers import base_env, cached_virtualenv, uvicorn_app

from chatkit_fix.verify import protocol
from chatkit_fix.verify.fake_openai import FakeOpenAI, FakeScript
from chatkit_fix.verify.processes import ServerProcess, free_port

pytestmark = pytest.mark.slow

MAX_BODY_BYTES = 4000


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    # every turn saves a note with a known text (by default the fake would go round the tools with drawn arguments)
    with FakeOpenAI(script=FakeScript(tool_call="add_note", tool_arguments={"add_note": {"text": "test"}})) as fake:
        yield fake


def project_env(fake: FakeOpenAI, target: Path, mcp_port: int, **extra: str) -> dict[str, str]:
    return base_env(
        {
            **fake.env(),
            "CHATKIT_JWT_SECRET": ck.TEST_JWT_SECRET,
            "CHATKIT_MCP_URL": f"http://127.0.0.1:{mcp_port}/mcp",
            "CHATKIT_SQLITE_PATH": str(target / "var" / "chatkit.sqlite3"),
            "CHATKIT_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            **extra,
        }
    )


@contextlib.contextmanager
def mcp_server(target: Path, env: dict[str, str]) -> Iterator[ServerProcess]:
    port = int(env["CHATKIT_MCP_URL"].split(":")[2].split("/")[0])
    with uvicorn_app("backend.mcp_tools:app", target, env, port=port) as server:
        yield server


class Api:
    """A client for one running back end."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server

    def post(self, body: object, user: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        all_headers = {**(ck.bearer(user) if user else {}), **(headers or {})}
        return httpx.post(f"{self.server.url}/chatkit", json=body, headers=all_headers, timeout=60)

    def stream(self, body: object, user: str | None = None) -> list[dict]:
        response = self.post(body, user)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/event-stream")
        events = ck.sse_events(response.text)
        errors = [event for event in events if event["type"] == "error"]
        assert not errors, f"{errors}\n{self.server.log()[-4000:]}"
        return events

    def items(self, thread_id: str, user: str) -> list[dict]:
        response = self.post(protocol.items_list(thread_id), user)
        assert response.status_code == 200, response.text
        return response.json()["data"]


def converse(api: Api, user: str) -> str:
    """Two turns in a new thread; returns the thread id after checking what the agent answered."""
    events = api.stream(protocol.threads_create("Remember this"), user)
    assert events[0]["type"] == "thread.created"
    thread_id = events[0]["thread"]["id"]
    assert any(e["type"] == "thread.item.done" and e["item"]["type"] == "user_message" for e in events)
    assert ck.assistant_texts(events) == [f"Tool said: Saved note 1 for {user}: test"]

    events = api.stream(protocol.threads_add_user_message(thread_id, "And this"), user)
    assert ck.assistant_texts(events) == [f"Tool said: Saved note 2 for {user}: test"]
    return thread_id


def test_sqlite_backend_with_jwt_end_to_end(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    generate(tmp_path, framework="none", store="sqlite", auth="jwt")
    env = project_env(fake_openai, tmp_path, free_port())

    with mcp_server(tmp_path, env):
        with uvicorn_app("backend.main:app", tmp_path, env) as server:
            api = Api(server)
            thread_id = converse(api, "alice")
            items = api.items(thread_id, "alice")
            assert [item["type"] for item in items] == ["user_message", "assistant_message"] * 2
            assert len({item["id"] for item in items}) == 4

            check_users_are_kept_apart(api, thread_id, items)
            check_bad_bodies_get_4xx(api)
            check_cors(api)

        with uvicorn_app("backend.main:app", tmp_path, env) as restarted:
            api = Api(restarted)
            thread = api.post(protocol.threads_get_by_id(thread_id), "alice")
            assert thread.status_code == 200, thread.text
            assert [item["id"] for item in thread.json()["items"]["data"]] == [item["id"] for item in items]
            assert ck.assistant_texts(api.stream(protocol.threads_add_user_message(thread_id, "Once more"), "alice")) == [
                "Tool said: Saved note 3 for alice: test"
            ]


def check_users_are_kept_apart(api: Api, alice_thread: str, alice_items: list[dict]) -> None:
    listed = api.post(protocol.threads_list(), "bob")
    assert listed.status_code == 200 and listed.json()["data"] == []
    assert [t["id"] for t in api.post(protocol.threads_list(), "alice").json()["data"]] == [alice_thread]
    assert api.post(protocol.threads_get_by_id(alice_thread), "bob").status_code == 404
    assert api.items(alice_thread, "bob") == []
    with contextlib.suppress(httpx.HTTPError):  # the SDK aborts this stream; nothing may be written
        api.post(protocol.threads_add_user_message(alice_thread, "let me in"), "bob")
    assert api.items(alice_thread, "alice") == alice_items
    assert api.post({"type": "threads.delete", "params": {"thread_id": alice_thread}}, "bob").status_code == 200
    assert api.items(alice_thread, "alice") == alice_items


def check_bad_bodies_get_4xx(api: Api) -> None:
    text_typed = protocol.threads_create("hi")
    text_typed["params"]["input"]["content"][0]["type"] = "text"
    for body in (text_typed, {"type": "threads.list"}, {"type": "no.such.request", "params": {}}):
        response = api.post(body, "alice")
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "invalid_request"
        assert "invalid ChatKit request" in response.json()["detail"]
    json_type = {**ck.bearer("alice"), "Content-Type": "application/json"}
    not_json = httpx.post(f"{api.server.url}/chatkit", content=b"{not json", headers=json_type, timeout=30)
    assert not_json.status_code == 400
    oversized = protocol.threads_create("x" * MAX_BODY_BYTES)
    too_large = api.post(oversized, "alice")
    assert too_large.status_code == 413, too_large.text
    assert "exceeds CHATKIT_MAX_BODY_BYTES" in too_large.json()["detail"]
    chunked = httpx.post(
        f"{api.server.url}/chatkit",
        content=iter([b"{" + b" " * MAX_BODY_BYTES, b"}"]),
        headers=json_type,
        timeout=30,
    )
    assert chunked.status_code == 413, "a body without Content-Length is limited too"


def check_cors(api: Api) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    allowed = httpx.options(
        f"{api.server.url}/chatkit", headers={"Origin": "http://localhost:5173", **preflight}, timeout=30
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "access-control-allow-credentials" not in allowed.headers
    refused = httpx.options(
        f"{api.server.url}/chatkit", headers={"Origin": "https://evil.example", **preflight}, timeout=30
    )
    assert "access-control-allow-origin" not in refused.headers


WEAK_SECRETS = {
    None: "is not set",
    "too-short": "is shorter than 32 bytes",
    "a" * 32: "is too predictable (about 0 bits",
    "0123456789abcdef" * 2: "is too predictable",
    "changeme-" * 5: "is too predictable",
    "0123456789abcdef0123456789abcdef": "is too predictable",  # 32 hex digits: 128 bits at most, 118 estimated
}


def test_backend_refuses_to_start_with_a_missing_or_weak_jwt_secret(tmp_path: Path) -> None:
    generate(tmp_path, framework="none")
    for module in ("backend.main", "backend.mcp_tools"):
        for secret, message in WEAK_SECRETS.items():
            env = base_env({} if secret is None else {"CHATKIT_JWT_SECRET": secret})
            result = subprocess.run(
                [sys.executable, "-c", f"import {module}"],
                cwd=tmp_path,
                env=env,
                check=False,
                capture_output=True,
                text=True,
            )
            assert result.returncode != 0
            assert f"SettingsError: CHATKIT_JWT_SECRET {message}" in result.stderr, result.stderr
            assert 'secrets.token_urlsafe(48)' in result.stderr, "the message says how to make a good one"
    good = subprocess.run(
        [sys.executable, "-c", "import secrets, backend.chatkit_settings as s;"
         "print(s.estimated_entropy_bits(secrets.token_urlsafe(48)) >= s.MIN_JWT_SECRET_BITS)"],
        cwd=tmp_path, env=base_env({}), check=True, capture_output=True, text=True,
    )
    assert good.stdout.strip() == "True"


def test_memory_store_without_auth_serves_the_demo_user(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    generate(tmp_path, framework="vite", store="memory", auth="none")
    env = project_env(fake_openai, tmp_path, free_port())
    del env["CHATKIT_JWT_SECRET"]

    with mcp_server(tmp_path, env), uvicorn_app("backend.main:app", tmp_path, env) as server:
        api = Api(server)
        events = api.stream(protocol.threads_create("hello"))
        assert ck.assistant_texts(events) == ["Tool said: Saved note 1 for demo-user: test"]
        assert len(api.post(protocol.threads_list()).json()["data"]) == 1


def test_chat_completions_models_keep_unique_ids_and_a_working_history(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    generate(tmp_path, framework="none", mcp=False)
    env = project_env(fake_openai, tmp_path, free_port(), CHATKIT_OPENAI_API="chat_completions")

    with uvicorn_app("backend.main:app", tmp_path, env) as server:
        api = Api(server)
        events = api.stream(protocol.threads_create("first"), "carol")
        thread_id = events[0]["thread"]["id"]
        assert ck.assistant_texts(events) == ["Echo: first"]
        assert ck.assistant_texts(api.stream(protocol.threads_add_user_message(thread_id, "second"), "carol")) == ["Echo: second"]
        ids = [item["id"] for item in api.items(thread_id, "carol")]
        assert len(ids) == len(set(ids)) == 4 and "__fake_id__" not in ids


def test_postgres_backend_shared_by_two_workers(
    tmp_path: Path,
    fake_openai: FakeOpenAI,
    postgres_server: str,  # noqa: F811 (the fixture)
) -> None:
    generate(tmp_path, framework="next", store="postgres")
    env = project_env(fake_openai, tmp_path, free_port(), DATABASE_URL=postgres_server)
    with (
        mcp_server(tmp_path, env),
        uvicorn_app("backend.main:app", tmp_path, env) as first,
        uvicorn_app("backend.main:app", tmp_path, env) as second,
    ):
        thread_id = Api(first).stream(protocol.threads_create("hello"), "dave")[0]["thread"]["id"]
        events = Api(second).stream(protocol.threads_add_user_message(thread_id, "again"), "dave")
        assert ck.assistant_texts(events) == ["Tool said: Saved note 2 for dave: test"]
        assert len(Api(first).items(thread_id, "dave")) == 4
        assert Api(second).post(protocol.threads_get_by_id(thread_id), "erin").status_code == 404
    with uvicorn_app("backend.main:app", tmp_path, env) as restarted:
        assert len(Api(restarted).items(thread_id, "dave")) == 4


def test_sqlite_backend_served_by_two_workers(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    """WAL mode lets several uvicorn workers share the database file: concurrent users, every turn stored once."""
    generate(tmp_path, framework="none", store="sqlite", mcp=False)
    env = project_env(fake_openai, tmp_path, free_port())
    with uvicorn_app("backend.main:app", tmp_path, env, extra_args=("--workers", "2")) as server:
        deadline = time.monotonic() + 60
        while server.log().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.1)
        api = Api(server)

        def two_turns(user: str) -> str:
            thread_id = api.stream(protocol.threads_create("one"), user)[0]["thread"]["id"]
            api.stream(protocol.threads_add_user_message(thread_id, "two"), user)
            return thread_id

        users = [f"worker-user-{index}" for index in range(8)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            threads = dict(zip(users, pool.map(two_turns, users)))
        for user, thread_id in threads.items():
            assert [item["type"] for item in api.items(thread_id, user)] == ["user_message", "assistant_message"] * 2
            assert [t["id"] for t in api.post(protocol.threads_list(), user).json()["data"]] == [thread_id]
        assert "Traceback" not in server.log()


def test_mcp_1_tool_server_acts_for_the_token_user(tmp_path: Path) -> None:
    """The FastMCP form, rendered for projects pinned to mcp 1.x, served by mcp 1.x itself."""
    try:
        python = cached_virtualenv("scaffold-mcp1", ["mcp>=1.20,<2", "pyjwt>=2.10", "uvicorn>=0.30"])
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"could not install mcp 1.x: {exc.stderr}")
    generate(tmp_path, framework="none", mcp_major=1)
    env = base_env({"CHATKIT_JWT_SECRET": ck.TEST_JWT_SECRET})

    with uvicorn_app("backend.mcp_tools:app", tmp_path, env, python=python) as server:
        assert call_add_note(f"{server.url}/mcp", ck.bearer("alice")) == "Saved note 1 for alice: hello"
        assert call_add_note(f"{server.url}/mcp", ck.bearer("bob")) == "Saved note 1 for bob: hello"
        refused = call_add_note(
            f"{server.url}/mcp", ck.bearer("mallory", secret="a-forged-secret-that-is-32-bytes-long")
        )
        assert "invalid bearer token" in refused


def call_add_note(url: str, headers: dict[str, str]) -> str:
    """Call the `add_note` tool through the Agents SDK's MCP client, as the generated back end does."""
    from agents.mcp import MCPServerStreamableHttp

    async def call() -> str:
        async with MCPServerStreamableHttp(params={"url": url, "headers": headers}) as client:
            assert [tool.name for tool in await client.list_tools()] == ["add_note", "list_notes"]
            result = await client.call_tool("add_note", {"text": "hello"})
            return result.content[0].text

    return asyncio.run(call())
