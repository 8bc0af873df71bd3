"""In-memory store with the Store mistakes found in real projects (see tests/test_boot_store.py)."""

from collections import defaultdict
from typing import Any

from chatkit.store import NotFoundError, Store
from chatkit.types import Page, ThreadItem, ThreadMetadata


class MemoryStore(Store[dict[str, Any]]):
    def __init__(self):
        self.threads: dict[str, ThreadMetadata] = {}
        self.items: dict[str, list[ThreadItem]] = defaultdict(list)

    async def load_thread(self, thread_id: str, ctx: dict[str, Any]) -> ThreadMetadata:
        if thread_id not in self.threads:
            raise NotFoundError(f"Thread {thread_id} not found")
        return self.threads[thread_id]

    def save_thread(self, thread: ThreadMetadata, context: dict[str, Any]) -> None:
        self.threads[thread.id] = ThreadMetadata(**thread.model_dump(exclude={"items"}))

    async def load_thread_items(self, thread_id: str, limit: int, after: str | None, order: str, context: dict[str, Any]):
        items = sorted(self.items.get(thread_id, []), key=lambda i: i.created_at, reverse=order == "desc")
        start = next((index + 1 for index, item in enumerate(items) if item.id == after), 0) if after else 0
        page = items[start:start + limit]
        return {
            "items": page,
            "has_more": start + limit < len(items),
            "next_cursor": page[-1].id if page and start + limit < len(items) else None,
        }

    async def load_threads(self, context, limit: int, after: str | None, order: str) -> Page[ThreadMetadata]:
        threads = sorted(self.threads.values(), key=lambda t: t.created_at, reverse=order == "desc")
        start = next((index + 1 for index, thread in enumerate(threads) if thread.id == after), 0) if after else 0
        page = threads[start:start + limit]
        more = start + limit < len(threads)
        return Page(data=page, has_more=more, next_cursor=page[-1].id if page and more else None)

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: dict[str, Any]) -> None:
        self.items[thread_id].append(item)

    async def save_item(self, item: ThreadItem, context: dict[str, Any]) -> None:
        items = self.items[item.thread_id]
        for index, existing in enumerate(items):
            if existing.id == item.id:
                items[index] = item
                return
        items.append(item)

    async def load_item(self, thread_id: str, item_id: str, context: dict[str, Any]) -> ThreadItem:
        for item in self.items.get(thread_id, []):
            if item.id == item_id:
                return item
        return None

    async def delete_thread(self, thread_id: str, context: dict[str, Any]) -> None:
        self.threads.pop(thread_id, None)
        self.items.pop(thread_id, None)

    async def delete_thread_item(self, thread_id: str, item_id: str, context: dict[str, Any]) -> None:
        self.items[thread_id] = [item for item in self.items.get(thread_id, []) if item.id != item_id]
