"""The generated stores honour the `chatkit.store.Store` contract: signatures, pagination, upserts, user scoping."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from chatkit.store import NotFoundError, Store
from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    FileAttachment,
    ThreadMetadata,
)
from scaffold_support.postgres import fresh_database, postgres_server  # noqa: F401 (a fixture)
from scaffold_support.projects import generate

ALICE = {"user_id": "alice"}
BOB = {"user_id": "bob"}
START = datetime(2026, 1, 1, 12, 0, 0)


def load_store_module(target: Path, store: str) -> ModuleType:
    """Import the generated `chatkit_store` under a package name of its own (the modules import relatively)."""
    package = f"generated_{store}_{target.name.replace('-', '_')}"
    generate(target, backend_dir=package, store=store, framework="none")
    sys.path.insert(0, str(target))
    try:
        return importlib.import_module(f"{package}.chatkit_store")
    finally:
        sys.path.remove(str(target))


@pytest.fixture(params=["sqlite", "postgres", "memory"])
def store_module(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[ModuleType, SimpleNamespace]:
    """The generated store module and the settings its `create_store` reads."""
    module = load_store_module(tmp_path, request.param)
    if request.param == "sqlite":
        settings = SimpleNamespace(sqlite_path=str(tmp_path / "data" / "chatkit.sqlite3"), attachments_dir=None)
    elif request.param == "postgres":
        server_url = request.getfixturevalue("postgres_server")
        settings = SimpleNamespace(database_url=fresh_database(server_url, tmp_path.name.lower()), attachments_dir=None)
    else:
        settings = SimpleNamespace()
    return module, settings


def run(coroutine_function) -> None:
    asyncio.run(coroutine_function())


def thread(number: int) -> ThreadMetadata:
    return ThreadMetadata(id=f"thr_{number}", created_at=START + timedelta(seconds=number))


def message(thread_id: str, number: int, text: str = "") -> AssistantMessageItem:
    return AssistantMessageItem(
        id=f"msg_{number}",
        thread_id=thread_id,
        created_at=START + timedelta(seconds=number),
        content=[AssistantMessageContent(text=text or f"answer {number}")],
    )


@contextlib.asynccontextmanager
async def opened(module: ModuleType, settings: SimpleNamespace) -> AsyncIterator[Store]:
    store = module.create_store(settings)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def test_every_abstract_method_has_the_sdk_signature(store_module) -> None:
    module, settings = store_module
    store_class = type(module.create_store(settings))
    for name in Store.__abstractmethods__:
        expected = inspect.signature(getattr(Store, name))
        actual = getattr(store_class, name)
        assert inspect.iscoroutinefunction(actual), f"{name} must be async def"
        assert list(inspect.signature(actual).parameters) == list(expected.parameters), name
    assert not getattr(store_class, "__abstractmethods__", None)


def test_threads_page_in_both_orders_and_stay_with_their_user(store_module) -> None:
    module, settings = store_module

    async def scenario() -> None:
        async with opened(module, settings) as store:
            for number in range(5):
                await store.save_thread(thread(number), ALICE)
            await store.save_thread(thread(9), BOB)
            renamed = thread(2).model_copy(update={"title": "renamed"})
            await store.save_thread(renamed, ALICE)

            first = await store.load_threads(2, None, "desc", ALICE)
            assert [t.id for t in first.data] == ["thr_4", "thr_3"] and first.has_more and first.after == "thr_3"
            second = await store.load_threads(2, first.after, "desc", ALICE)
            assert [t.id for t in second.data] == ["thr_2", "thr_1"] and second.has_more
            last = await store.load_threads(2, second.after, "desc", ALICE)
            assert [t.id for t in last.data] == ["thr_0"] and not last.has_more and last.after is None
            ascending = await store.load_threads(3, "thr_0", "asc", ALICE)
            assert [t.id for t in ascending.data] == ["thr_1", "thr_2", "thr_3"] and ascending.has_more
            assert (await store.load_thread("thr_2", ALICE)).title == "renamed"

            assert [t.id for t in (await store.load_threads(20, None, "desc", BOB)).data] == ["thr_9"]
            with pytest.raises(NotFoundError):
                await store.load_thread("thr_1", BOB)
            with pytest.raises(NotFoundError):
                await store.load_thread("thr_missing", ALICE)

    run(scenario)


def test_items_page_upsert_and_delete(store_module) -> None:
    module, settings = store_module

    async def scenario() -> None:
        async with opened(module, settings) as store:
            await store.save_thread(thread(1), ALICE)
            for number in range(5):
                await store.add_thread_item("thr_1", message("thr_1", number), ALICE)
            await store.save_item("thr_1", message("thr_1", 3, text="edited"), ALICE)

            newest = await store.load_thread_items("thr_1", None, 2, "desc", ALICE)
            assert [i.id for i in newest.data] == ["msg_4", "msg_3"] and newest.has_more
            older = await store.load_thread_items("thr_1", newest.after, 10, "desc", ALICE)
            assert [i.id for i in older.data] == ["msg_2", "msg_1", "msg_0"] and not older.has_more
            ascending = await store.load_thread_items("thr_1", "msg_1", 2, "asc", ALICE)
            assert [i.id for i in ascending.data] == ["msg_2", "msg_3"] and ascending.has_more
            assert (await store.load_item("thr_1", "msg_3", ALICE)).content[0].text == "edited"

            await store.delete_thread_item("thr_1", "msg_0", ALICE)
            with pytest.raises(NotFoundError):
                await store.load_item("thr_1", "msg_0", ALICE)
            assert (await store.load_thread_items("thr_1", None, 10, "asc", BOB)).data == []
            with pytest.raises(NotFoundError):
                await store.load_item("thr_1", "msg_1", BOB)
            with pytest.raises(NotFoundError):
                await store.add_thread_item("thr_1", message("thr_1", 7), BOB)

            await store.delete_thread("thr_1", BOB)
            assert len((await store.load_thread_items("thr_1", None, 10, "asc", ALICE)).data) == 4
            await store.delete_thread("thr_1", ALICE)
            assert (await store.load_thread_items("thr_1", None, 10, "asc", ALICE)).data == []
            with pytest.raises(NotFoundError):
                await store.load_thread("thr_1", ALICE)

    run(scenario)


def test_attachments_are_stored_per_user(store_module) -> None:
    module, settings = store_module
    attachment = FileAttachment(id="atc_1", name="a.txt", mime_type="text/plain")

    async def scenario() -> None:
        async with opened(module, settings) as store:
            await store.save_attachment(attachment, ALICE)
            assert (await store.load_attachment("atc_1", ALICE)).name == "a.txt"
            with pytest.raises(NotFoundError):
                await store.load_attachment("atc_1", BOB)
            await store.delete_attachment("atc_1", BOB)
            await store.delete_attachment("atc_1", ALICE)
            with pytest.raises(NotFoundError):
                await store.load_attachment("atc_1", ALICE)

    run(scenario)


@pytest.mark.parametrize("on_disk", [False, True], ids=["bytes-in-database", "bytes-on-disk"])
def test_two_users_may_save_the_same_attachment_id(store_module, tmp_path: Path, on_disk: bool) -> None:
    """Attachment ids come from each user's requests: the same id from two users makes two rows and two files."""
    module, settings = store_module
    if on_disk and hasattr(settings, "attachments_dir"):
        settings = SimpleNamespace(**{**vars(settings), "attachments_dir": str(tmp_path / "files")})

    async def scenario() -> None:
        async with opened(module, settings) as store:
            for user, context in (("alice", ALICE), ("bob", BOB)):
                await store.save_attachment(
                    FileAttachment(id="atc_same", name=f"{user}.txt", mime_type="text/plain"), context
                )
                await store.save_attachment_bytes("atc_same", user.encode(), context)
            for user, context in (("alice", ALICE), ("bob", BOB)):
                assert (await store.load_attachment("atc_same", context)).name == f"{user}.txt"
                assert await store.load_attachment_bytes("atc_same", context) == user.encode()
            await store.delete_attachment_bytes("atc_same", BOB)
            await store.delete_attachment("atc_same", BOB)
            assert await store.load_attachment_bytes("atc_same", ALICE) == b"alice"
            with pytest.raises(NotFoundError):
                await store.load_attachment_bytes("atc_same", BOB)

    run(scenario)


def test_nul_and_lone_surrogates_are_stored_as_replacement_characters(store_module) -> None:
    """PostgreSQL refuses NUL and UTF-8 cannot hold a lone surrogate: whatever a caller saves, every store keeps it."""
    module, settings = store_module
    dirty = "a\u0000b\ud800c"
    clean = "a\ufffdb\ufffdc"

    async def scenario() -> None:
        async with opened(module, settings) as store:
            await store.save_thread(ThreadMetadata(id="thr_1", title=dirty, created_at=START), ALICE)
            await store.add_thread_item("thr_1", message("thr_1", 1, dirty), ALICE)
            await store.save_attachment(FileAttachment(id="atc_1", name=dirty, mime_type="text/plain"), ALICE)
            assert (await store.load_thread("thr_1", ALICE)).title == clean
            assert (await store.load_item("thr_1", "msg_1", ALICE)).content[0].text == clean
            assert (await store.load_attachment("atc_1", ALICE)).name == clean

    run(scenario)


def test_deleting_a_thread_deletes_the_attachments_of_its_messages(store_module) -> None:
    module, settings = store_module

    async def scenario() -> None:
        async with opened(module, settings) as store:
            await store.save_thread(thread(1), ALICE)
            await store.save_thread(thread(2), ALICE)
            for number in (1, 2):
                attachment = FileAttachment(
                    id=f"atc_{number}", name="a.txt", mime_type="text/plain", thread_id=f"thr_{number}"
                )
                await store.save_attachment(attachment, ALICE)
                await store.save_attachment_bytes(attachment.id, b"data", ALICE)
            await store.delete_thread("thr_1", ALICE)
            with pytest.raises(NotFoundError):
                await store.load_attachment("atc_1", ALICE)
            with pytest.raises(NotFoundError):
                await store.load_attachment_bytes("atc_1", ALICE)
            assert await store.load_attachment_bytes("atc_2", ALICE) == b"data"

    run(scenario)


def test_thread_ids_are_long_enough_to_share_one_table(store_module) -> None:
    module, settings = store_module
    ids = {module.create_store(settings).generate_thread_id(ALICE) for _ in range(100)}
    assert len(ids) == 100 and all(len(thread_id) == len("thr_") + 32 for thread_id in ids)
