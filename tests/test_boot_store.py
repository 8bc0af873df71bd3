"""Proof by booting: the Store rules turn a broken store into one ChatKit can use.

`tests/projects/boot_store/backend` is a FastAPI + ChatKit back end (a direct-yield `respond()`: no model, no
network) whose `MemoryStore` has the mistakes real projects make: the attachment methods are missing (CK301),
`ctx` for `context`, a plain `def save_thread`, `limit`/`after` swapped, `context` first, `save_item` without
`thread_id` (CK302), a dict where a `Page` is due, `Page(next_cursor=...)`, `return None` for a missing item (CK303).

1. As it is, it does not start: `TypeError: Can't instantiate abstract class`.
2. With only CK301 applied it starts, but `threads.create` dies after the HTTP 200 and `threads.get_by_id` is HTTP 500.
3. After `chatkit-fix apply --select CK3` it serves every request type (attachments aside: there is no attachment
   store), pagination included, and a second `apply` changes nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chatkit_fix.verify.processes import ProcessError, running_uvicorn, start_uvicorn
from chatkit_fix.verify.protocol import ChatKitClient, ProtocolError

pytestmark = pytest.mark.slow

FIXTURE = Path(__file__).parent / "projects" / "boot_store"
APP = "app.main:app"


@pytest.fixture
def project(tmp_path) -> Path:
    target = tmp_path / "boot_store"
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def apply(project: Path, select: str) -> subprocess.CompletedProcess:
    completed = subprocess.run(
        [sys.executable, "-m", "chatkit_fix", "apply", str(project), "--select", select, "--no-color"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr
    return completed


def request(client: ChatKitClient, request_type: str, **params) -> dict:
    return client.request({"type": request_type, "params": params})


def test_broken_store_does_not_start(project):
    with pytest.raises(ProcessError) as failure:
        start_uvicorn(APP, project / "backend", ready_path="/health", timeout=30)
    assert "Can't instantiate abstract class MemoryStore" in failure.value.log


def test_wrong_signatures_fail_once_it_starts(project):
    apply(project, "CK301")
    with running_uvicorn(APP, project / "backend", ready_path="/health") as server, ChatKitClient(server.url) as client:
        created = client.create_thread("hello")
        assert not created.ok, created.summary()  # `await` on the plain `def save_thread` kills the stream
        listed = request(client, "threads.list", limit=5, order="desc")
        assert listed["data"], "the thread was saved before the await failed"
        thread_id = listed["data"][0]["id"]
        with pytest.raises(ProtocolError) as failure:
            client.get_thread(thread_id)
        assert failure.value.status == 500  # load_thread(thread_id, context=...) against `ctx`
    assert "unexpected keyword argument 'context'" in server.log()


def test_fixed_store_serves_every_request_type(project):
    applied = apply(project, "CK3")
    assert "Fixed 9 findings" in applied.stdout, applied.stdout
    with running_uvicorn(APP, project / "backend", ready_path="/health") as server, ChatKitClient(server.url) as client:
        first = client.create_thread("hello")
        assert first.ok, first.summary()
        assert first.assistant_text() == "Echo: hello"
        thread_id = first.thread_id
        second = client.add_user_message(thread_id, "again")
        assert second.ok, second.summary()

        thread = client.get_thread(thread_id)
        assert thread["id"] == thread_id and thread["title"] == "hello"
        items = client.all_items(thread_id, page_size=1)  # pages of one: `after` must carry the cursor
        assert [item["type"] for item in items] == ["user_message", "assistant_message"] * 2
        assert len({item["id"] for item in items}) == 4

        other = client.create_thread("other").thread_id
        page = request(client, "threads.list", limit=1, order="desc")
        assert page["has_more"] and page["after"] == other, page
        rest = request(client, "threads.list", limit=1, order="desc", after=page["after"])
        assert [t["id"] for t in rest["data"]] == [thread_id]

        renamed = request(client, "threads.update", thread_id=thread_id, title="renamed")
        assert renamed["title"] == "renamed"
        assert request(client, "items.feedback", thread_id=thread_id, item_ids=[items[1]["id"]], kind="positive") == {}

        retried = client.stream({"type": "threads.retry_after_item", "params": {"thread_id": thread_id, "item_id": items[0]["id"]}})
        assert retried.ok, retried.summary()
        after_retry = client.all_items(thread_id)
        assert [item["type"] for item in after_retry] == ["user_message", "assistant_message"]

        assert request(client, "threads.delete", thread_id=other) == {}
        assert [t["id"] for t in request(client, "threads.list", limit=10, order="desc")["data"]] == [thread_id]
        with pytest.raises(ProtocolError) as missing:
            client.get_thread(other)
        assert missing.value.status == 500
    assert "NotFoundError" in server.log()

    again = apply(project, "CK3")
    assert "Fixed" not in again.stdout, again.stdout
