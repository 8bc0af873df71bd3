"""The generated router's stream handling, in process, where the failures can be made to happen on purpose.

Before `stream_options` the SDK's failures end a stream without a word: the router reads that far first, answers
with a 4xx instead, and deletes a thread it created for the request. After it, a failure the SDK does not catch
itself ends the stream with an `error` event, not with a connection cut mid-chunk.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest
from chatkit.server import StreamingResult
from chatkit.store import NotFoundError
from chatkit.types import ThreadMetadata
from scaffold_support import chatkit_client as ck
from scaffold_support.projects import generate

ALICE = {"user_id": "alice"}


@pytest.fixture
def router(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    package = f"generated_router_{tmp_path.name.replace('-', '_')}"
    generate(tmp_path, backend_dir=package, store="memory", framework="none", mcp=False)
    monkeypatch.setenv("CHATKIT_JWT_SECRET", ck.TEST_JWT_SECRET)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        return importlib.import_module(f"{package}.chatkit_router")
    finally:
        sys.modules.pop(package, None)


def event(payload: dict) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def stream_of(*chunks: bytes, then: Exception | None = None) -> StreamingResult:
    async def events() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk
        if then is not None:
            raise then

    return StreamingResult(events())


def test_a_failure_before_stream_options_is_raised_and_the_new_thread_deleted(router: ModuleType) -> None:
    async def scenario() -> None:
        store = router.server.store
        await store.save_thread(ThreadMetadata(id="thr_new", created_at=datetime.now()), ALICE)
        result = stream_of(event({"type": "thread.created", "thread": {"id": "thr_new"}}),
                           then=NotFoundError("Attachment atc_x not found"))
        with pytest.raises(NotFoundError):
            await router.open_stream(result, ALICE)
        with pytest.raises(NotFoundError):
            await store.load_thread("thr_new", ALICE)
        refusal = router.refusal_for(NotFoundError("Attachment atc_x not found"))
        assert refusal.status == 404 and json.loads(refusal.response().body) == {
            "code": "not_found", "detail": "Attachment atc_x not found"}

    asyncio.run(scenario())


def test_the_stream_is_read_up_to_stream_options_and_no_further(router: ModuleType) -> None:
    later = event({"type": "thread.item.added"})

    async def scenario() -> None:
        head, rest = await router.open_stream(
            stream_of(event({"type": "thread.created", "thread": {"id": "thr_1"}}),
                      event({"type": "stream_options", "stream_options": {"allow_cancel": True}}), later),
            ALICE,
        )
        assert [json.loads(chunk[6:])["type"] for chunk in head] == ["thread.created", "stream_options"]
        assert [chunk async for chunk in rest] == [later]

    asyncio.run(scenario())


def test_a_failure_after_the_stream_started_ends_it_with_an_error_event(router: ModuleType) -> None:
    started = event({"type": "stream_options", "stream_options": {"allow_cancel": True}})

    async def scenario() -> list[bytes]:
        failing = stream_of(event({"type": "thread.item.added"}), then=RuntimeError("the store went away"))
        return [chunk async for chunk in router.head_then_rest([started], aiter(failing))]

    chunks = asyncio.run(scenario())
    assert chunks[0] == started and len(chunks) == 3
    assert json.loads(chunks[-1][6:]) == {"type": "error", "code": "stream.error", "allow_retry": True}
