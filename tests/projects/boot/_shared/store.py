"""In-memory ChatKit stores for the boot and verify fixtures (all twelve abstract methods of chatkit.store.Store).

`InMemoryStore` ignores the user (boot_auth relies on that: CK306); `UserMemoryStore` keeps one set of threads per
user (`context["user_id"]`), so the verify fixtures pass the isolation check once their own flaw is fixed.
"""

from __future__ import annotations

from typing import Any

from chatkit.store import NotFoundError, Store
from chatkit.types import Attachment, Page, ThreadItem, ThreadMetadata


class InMemoryStore(Store[dict[str, Any]]):
    """Threads and items kept in dicts; `add_thread_item` appends, so an id used twice is stored twice."""

    def __init__(self) -> None:
        self.threads: dict[tuple[str, str], ThreadMetadata] = {}
        self.items: dict[tuple[str, str], list[ThreadItem]] = {}
        self.attachments: dict[str, Attachment] = {}

    def _key(self, thread_id: str, context: dict[str, Any]) -> tuple[str, str]:
        return ("", thread_id)  # one owner for everyone

    async def load_thread(self, thread_id: str, context: dict[str, Any]) -> ThreadMetadata:
        key = self._key(thread_id, context)
        if key not in self.threads:
            raise NotFoundError(f"thread {thread_id} not found")
        return self.threads[key].model_copy(deep=True)

    async def save_thread(self, thread: ThreadMetadata, context: dict[str, Any]) -> None:
        self.threads[self._key(thread.id, context)] = ThreadMetadata.model_validate(thread.model_dump(exclude={"items"}))

    async def load_threads(self, limit: int, after: str | None, order: str, context: dict[str, Any]) -> Page[ThreadMetadata]:
        owner = self._key("", context)[0]
        return _page([t for (who, _), t in self.threads.items() if who == owner], limit, after, order)

    async def delete_thread(self, thread_id: str, context: dict[str, Any]) -> None:
        key = self._key(thread_id, context)
        self.threads.pop(key, None)
        self.items.pop(key, None)

    async def load_thread_items(
        self, thread_id: str, after: str | None, limit: int, order: str, context: dict[str, Any]
    ) -> Page[ThreadItem]:
        return _page(list(self.items.get(self._key(thread_id, context), [])), limit, after, order)

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: dict[str, Any]) -> None:
        self.items.setdefault(self._key(thread_id, context), []).append(item)

    async def save_item(self, thread_id: str, item: ThreadItem, context: dict[str, Any]) -> None:
        items = self.items.setdefault(self._key(thread_id, context), [])
        for index, existing in enumerate(items):
            if existing.id == item.id:
                items[index] = item
                return
        items.append(item)

    async def load_item(self, thread_id: str, item_id: str, context: dict[str, Any]) -> ThreadItem:
        for item in self.items.get(self._key(thread_id, context), []):
            if item.id == item_id:
                return item
        raise NotFoundError(f"item {item_id} not found")

    async def delete_thread_item(self, thread_id: str, item_id: str, context: dict[str, Any]) -> None:
        key = self._key(thread_id, context)
        self.items[key] = [i for i in self.items.get(key, []) if i.id != item_id]

    async def save_attachment(self, attachment: Attachment, context: dict[str, Any]) -> None:
        self.attachments[attachment.id] = attachment

    async def load_attachment(self, attachment_id: str, context: dict[str, Any]) -> Attachment:
        if attachment_id not in self.attachments:
            raise NotFoundError(f"attachment {attachment_id} not found")
        return self.attachments[attachment_id]

    async def delete_attachment(self, attachment_id: str, context: dict[str, Any]) -> None:
        self.attachments.pop(attachment_id, None)


class UserMemoryStore(InMemoryStore):
    """Threads and items in dicts, one set per user: nobody sees another user's threads."""

    def _key(self, thread_id: str, context: dict[str, Any]) -> tuple[str, str]:
        return (context.get("user_id") or "demo", thread_id)


def _page(rows: list, limit: int, after: str | None, order: str) -> Page:
    rows = sorted(rows, key=lambda row: row.created_at, reverse=order == "desc")
    start = next((i + 1 for i, row in enumerate(rows) if row.id == after), 0) if after else 0
    data = rows[start:start + limit]
    has_more = start + limit < len(rows)
    return Page(data=data, has_more=has_more, after=data[-1].id if has_more and data else None)
