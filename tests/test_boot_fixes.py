"""The proof by booting: each broken back end in tests/projects/boot/ runs under uvicorn on 127.0.0.1 and shows its
real failure; `chatkit-fix apply` fixes it; booted again, it streams answers and stores each item once.

No OpenAI key exists here: the model is the offline fake OpenAI server (Responses and Chat Completions wire formats,
reached through OPENAI_BASE_URL), and MCP tools come from a real mcp 2 server started as its own uvicorn process.
The first tests cover the harness itself (chatkit_fix.verify.processes and .protocol).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from matrix import python_for

from chatkit_fix.verify.fake_openai import FakeOpenAI, FakeScript
from chatkit_fix.verify.processes import (
    ProcessError,
    ServerProcess,
    child_env,
    free_port,
    running_uvicorn,
)
from chatkit_fix.verify.protocol import (
    ChatKitClient,
    SSEEvent,
    parse_sse,
    threads_create,
    user_input,
)

BOOT = Path(__file__).resolve().parent / "projects" / "boot"
AGENT_ENV = {"OPENAI_AGENTS_DISABLE_TRACING": "1", "OPENAI_AGENTS_DONT_LOG_MODEL_DATA": "1"}

# ---- the harness ------------------------------------------------------------------------------------------------------


def test_parse_sse_follows_the_event_stream_format():
    lines = [": comment", "event: message", "data: {\"a\": 1}", "", "data: line one", "data: line two", "id: 7", "",
             "data:{\"b\":2}"]
    events = list(parse_sse(lines))
    assert events == [
        SSEEvent('{"a": 1}', "message", None),
        SSEEvent("line one\nline two", None, "7"),
        SSEEvent('{"b":2}', None, "7"),  # the last event id carries over, as in EventSource
    ]


def test_request_bodies_match_the_sdk_models():
    from chatkit.types import ThreadsCreateReq, ThreadsListReq, UserMessageInput

    body = threads_create("Hi")
    assert ThreadsCreateReq.model_validate(body).params.input.content[0].type == "input_text"
    UserMessageInput.model_validate(user_input("Hi", quoted_text="q"))
    ThreadsListReq.model_validate({"type": "threads.list", "params": {"limit": 5, "order": "desc", "after": None}})


@pytest.mark.slow
def test_server_process_reports_a_crash_with_its_log(tmp_path):
    (tmp_path / "broken.py").write_text("raise RuntimeError('cannot start: missing setting')\n")
    with pytest.raises(ProcessError) as raised, running_uvicorn("broken:app", tmp_path, timeout=20):
        pass
    assert "exited with code" in str(raised.value) and "missing setting" in str(raised.value)


@pytest.mark.slow
def test_server_process_stops_its_whole_process_group(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent("""
        import http.server, subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        print("CHILD", child.pid, flush=True)
        http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.BaseHTTPRequestHandler).serve_forever()
    """))
    port = free_port()
    server = ServerProcess([sys.executable, str(script), str(port)], tmp_path, child_env(), port=port, name="parent")
    with server:
        assert server.alive()
        deadline = time.monotonic() + 10
        while "CHILD" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        child_pid = int(server.log().split("CHILD", 1)[1].split()[0])
    assert not server.alive()
    deadline = time.monotonic() + 5
    while _running(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child_pid), "the grandchild outlived stop()"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has exited; only its parent has not reaped it
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return True


# ---- booting the fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake_openai():
    # known arguments for the fixtures' tools, so their outputs can be asserted (else drawn from the tools' schemas)
    known = {"look_up": {"topic": "test"}, "get_weather": {"city": "test"}}
    with FakeOpenAI(script=FakeScript(tool_arguments=known)) as fake:
        yield fake


def copy_fixture(name: str, tmp_path: Path) -> Path:
    project = tmp_path / name
    shutil.copytree(BOOT / name, project)
    shutil.copy(BOOT / "_shared" / "store.py", project / "store.py")
    return project


@contextmanager
def boot(project: Path, fake: FakeOpenAI, env: dict[str, str] | None = None, name: str = "app", python=None):
    """`python`: the interpreter of an environment holding the releases the fixture declares (default: this one)."""
    log = project.parent / f"{project.name}-{name}-{time.monotonic_ns()}.log"
    with running_uvicorn("main:app", project, env={**fake.env(), **AGENT_ENV, **(env or {})}, log_path=log,
                         name=name, timeout=60, unset_env=("OPENAI_ORG_ID", "OPENAI_PROJECT_ID"),
                         python=python) as server:
        yield server


def apply_fix(project: Path, code: str) -> str:
    """`python -m chatkit_fix apply --select CODE <dir>`; returns the unified diff it made."""
    before = {p: p.read_text() for p in project.rglob("*") if p.is_file() and p.suffix in (".py", ".json")}
    applied = subprocess.run([sys.executable, "-m", "chatkit_fix", "apply", "--no-color", "--select", code, str(project)],
                             cwd=project, capture_output=True, text=True, timeout=120, check=False)
    assert applied.returncode in (0, 1), applied.stdout + applied.stderr
    changed = [p for p, text in before.items() if p.read_text() != text]
    assert changed, f"`chatkit-fix apply --select {code}` changed nothing:\n{applied.stdout}{applied.stderr}"
    checked = subprocess.run([sys.executable, "-m", "chatkit_fix", "check", "--no-color", "--select", code, str(project)],
                             cwd=project, capture_output=True, text=True, timeout=120, check=False)
    assert checked.returncode == 0, f"{code} still reports after apply:\n{checked.stdout}{checked.stderr}"
    return applied.stdout


def conversation(url: str, first_text: str = "Hello there", second_text: str = "Tell me more"):
    """threads.create then threads.add_user_message; both stream an assistant message; each item stored once."""
    with ChatKitClient(url) as client:
        first = client.create_thread(first_text)
        assert first.ok and first.assistant_messages(), first.summary()
        thread_id = first.thread_id
        assert thread_id, first.summary()
        second = client.add_user_message(thread_id, second_text)
        assert second.ok and second.assistant_messages(), second.summary()
        items = client.all_items(thread_id)
        assert_stored_once(items)
        assert thread_id in [t["id"] for t in client.list_threads()["data"]]
        assert client.get_thread(thread_id)["id"] == thread_id
    return first, second, items


def assert_stored_once(items):
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)), f"items stored twice or sharing an id: {ids}"
    kinds = [item["type"] for item in items]
    assert kinds == ["user_message", "assistant_message", "user_message", "assistant_message"], kinds


def failed_in_stream(result) -> bool:
    return bool(result.errors) and not result.assistant_messages()


@pytest.mark.slow
def test_protocol_client_sees_a_stream_cut_off(tmp_path, fake_openai):
    """HTTP 200 and then an aborted stream (an unknown thread id) is reported as cut off, not as an empty success."""
    project = copy_fixture("ck202_request_content_type", tmp_path)
    with boot(project, fake_openai) as server, ChatKitClient(server.url) as client:
        result = client.add_user_message("thr_does_not_exist", "Hello?")
        assert result.status == 200 and result.cut_off and not result.ok, result.summary()
        assert client.list_threads()["data"] == []


@pytest.mark.slow
def test_ck201_buffered_endpoint_streams_after_fix(tmp_path, fake_openai):
    project = copy_fixture("ck201_endpoint_response", tmp_path)
    with boot(project, fake_openai) as server, ChatKitClient(server.url) as client:
        before = client.create_thread("Hello there")
        assert before.status == 200 and not before.is_event_stream and not before.events, before.summary()
        assert "thread.item.done" in before.raw  # the whole stream arrived at once, as JSON
    apply_fix(project, "CK201")
    with boot(project, fake_openai) as server:
        first, _, _ = conversation(server.url)
        assert "Echo: Hello there" in first.assistant_text()


@pytest.mark.slow
def test_ck202_smoke_requests_work_after_fix(tmp_path, fake_openai):
    project = copy_fixture("ck202_request_content_type", tmp_path)
    create = project / "requests" / "threads_create.json"
    add = project / "requests" / "add_user_message.json"
    with boot(project, fake_openai) as server, ChatKitClient(server.url) as client:
        assert client.post(create.read_text()).status_code == 500
        thread_id = client.create_thread("a correct request").thread_id
        assert client.post(add.read_text().replace("THREAD_ID", thread_id)).status_code == 500
    apply_fix(project, "CK202")
    with boot(project, fake_openai) as server, ChatKitClient(server.url) as client:
        first = client.stream(create.read_text())
        assert first.ok and first.assistant_messages(), first.summary()
        second = client.stream(add.read_text().replace("THREAD_ID", first.thread_id))
        assert second.ok and second.assistant_messages(), second.summary()
        assert "Echo: And a second message" in second.assistant_text()
        assert_stored_once(client.all_items(first.thread_id))


@pytest.mark.slow
def test_ck203_returned_stream_becomes_a_generator(tmp_path, fake_openai):
    project = copy_fixture("ck203_respond_not_generator", tmp_path)
    with boot(project, fake_openai) as server, ChatKitClient(server.url) as client:
        before = client.create_thread("Hello there")
        assert failed_in_stream(before), before.summary()
        assert before.errors[0].get("code") == "stream.error"
        assert "'async for' requires an object with __aiter__ method, got coroutine" in server.log()
    apply_fix(project, "CK203")
    with boot(project, fake_openai) as server:
        conversation(server.url)


@pytest.mark.slow
def test_ck204_run_result_replaced_by_the_agent(tmp_path, fake_openai):
    project = copy_fixture("ck204_run_streamed_misuse", tmp_path)
    with boot(project, fake_openai) as server, ChatKitClient(server.url) as client:
        before = client.create_thread("Hello there")
        assert failed_in_stream(before), before.summary()
        assert "'RunResult' object has no attribute" in server.log()
    apply_fix(project, "CK204")
    with boot(project, fake_openai) as server:
        conversation(server.url)


@pytest.mark.slow
def test_ck205_tools_reach_the_agent_context_after_fix(tmp_path, fake_openai):
    project = copy_fixture("ck205_run_streamed_no_context", tmp_path)
    with boot(project, fake_openai) as server, ChatKitClient(server.url) as client:
        before = client.create_thread("Look up ChatKit")
        assert not before.of_type("progress_update"), before.summary()
        assert "Looking up" not in before.raw
        assert "An error occurred while running the tool" in before.assistant_text(), before.summary()
    apply_fix(project, "CK205")
    with boot(project, fake_openai) as server:
        first, second, _ = conversation(server.url)
        for result in (first, second):
            assert [e["text"] for e in result.of_type("progress_update")] == ["Looking up test"], result.summary()
            assert "Tool said: found test" in result.assistant_text()


@pytest.mark.slow
def test_ck209_assistant_messages_get_their_own_ids(tmp_path, fake_openai):
    project = copy_fixture("ck209_fake_id_collision", tmp_path)
    with boot(project, fake_openai) as server, ChatKitClient(server.url) as client:
        first = client.create_thread("Hello there")
        client.add_user_message(first.thread_id, "Tell me more")
        stored = client.all_items(first.thread_id)
        assistant_ids = [item["id"] for item in stored if item["type"] == "assistant_message"]
        assert assistant_ids == ["__fake_id__", "__fake_id__"], stored
    apply_fix(project, "CK209")
    with boot(project, fake_openai) as server:
        _, _, items = conversation(server.url)
        assert "__fake_id__" not in [item["id"] for item in items]


@pytest.mark.slow
def test_ck215_second_turn_works_after_fix(tmp_path, fake_openai):
    """In the release the fixture pins (openai-agents 0.24.0): the bug is version-dependent, so it is shown there."""
    project = copy_fixture("ck215_chatcmpl_history_content", tmp_path)
    python = python_for(project)
    with boot(project, fake_openai, python=python) as server, ChatKitClient(server.url) as client:
        first = client.create_thread("Hello there")
        assert first.ok and first.assistant_messages(), first.summary()
        second = client.add_user_message(first.thread_id, "Tell me more")
        assert failed_in_stream(second), second.summary()
        assert "Unknown content" in server.log()
    apply_fix(project, "CK215")
    with boot(project, fake_openai, python=python) as server:
        _, second, _ = conversation(server.url)
        assert "Echo: Tell me more" in second.assistant_text()


@pytest.mark.slow
def test_ck502_stream_consumed_inside_the_mcp_session(tmp_path, fake_openai):
    project = copy_fixture("ck502_mcp_lifetime", tmp_path)
    log = tmp_path / "mcp-tools.log"
    with running_uvicorn("mcp_tools:app", project, log_path=log, name="mcp-tools", timeout=60) as tools:
        env = {"MCP_URL": f"{tools.url}/mcp"}
        with boot(project, fake_openai, env) as server, ChatKitClient(server.url) as client:
            before = client.create_thread("What is the weather?")
            assert failed_in_stream(before), before.summary()
            assert "Connection closed" in server.log()
        apply_fix(project, "CK502")
        with boot(project, fake_openai, env) as server:
            first, second, _ = conversation(server.url, "What is the weather?", "And tomorrow?")
            for result in (first, second):
                assert "Tool said: It is sunny in test." in result.assistant_text(), result.summary()
        assert "POST /mcp" in tools.log()


def test_fixtures_are_listed_in_the_readme():
    readme = (BOOT / "README.md").read_text()
    for folder in sorted(p.name for p in BOOT.iterdir() if p.is_dir() and not p.name.startswith("_")):
        assert folder in readme, folder
    assert json.loads((BOOT / "ck202_request_content_type" / "requests" / "threads_create.json").read_text())
    assert signal.SIGTERM  # the harness relies on process groups and SIGTERM (POSIX)
