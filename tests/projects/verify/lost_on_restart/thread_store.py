"""A store over "tables" that are module-level dicts: nothing survives the process."""

from __future__ import annotations

from typing import Any

from chatkit.store import NotFoundError, Store
from chatkit.types import Attachment, Page, ThreadItem, ThreadMetadata

THREADS: dict[str, ThreadMetadata] = {}
ITEMS: dict[str, list[ThreadItem]] = {}
ATTACHMENTS: dict[str, Attachment] = {}


class ThreadStore(Store[dict[str, Any]]):
    async def load_thread(self, thread_id: str, context: dict[str, Any]) -> ThreadMetadata:
        if thread_id not in THREADS:
            raise NotFoundError(f"thread {thread_id} not found")
        return THREADS[thread_id].model_copy(deep=True)

    async def save_thread(self, thread: ThreadMetadata, context: dict[str, Any]) -> None:
        THREADS[thread.id] = ThreadMetadata.model_validate(thread.model_dump(exclude={"items"}))

    async def load_threads(self, limit: int, after: str | None, order: str, context: dict[str, Any]) -> Page[ThreadMetadata]:
        rows = sorted(THREADS.values(), key=lambda t: t.created_at, reverse=order == "desc")
        return Page(data=rows[:limit], has_more=len(rows) > limit, after=None)

    async def delete_thread(self, thread_id: str, context: dict[str, Any]) -> None:
        THREADS.pop(thread_id, None)
        ITEMS.pop(thread_id, None)

    async def load_thread_items(
        self, thread_id: str, after: str | None, limit: int, order: str, context: dict[str, Any]
    ) -> Page[ThreadItem]:
        rows = sorted(ITEMS.get(thread_id, []), key=lambda i: i.created_at, reverse=order == "desc")
        return Page(data=rows[:limit], has_more=len(rows) > limit, after=None)

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: dict[str, Any]) -> None:
        await self.save_item(thread_id, item, context)

    async def save_item(self, thread_id: str, item: ThreadItem, context: dict[str, Any]) -> None:
        rows = ITEMS.setdefault(thread_id, [])
        rows[:] = [row for row in rows if row.id != item.id] + [item]

    async def load_item(self, thread_id: str, item_id: str, context: dict[str, Any]) -> ThreadItem:
        for item in ITEMS.get(thread_id, []):
            if item.id == item_id:
                return item
        raise NotFoundError(f"item {item_id} not found")

    async def delete_thread_item(self, thread_id: str, item_id: str, context: dict[str, Any]) -> None:
        ITEMS[thread_id] = [i for i in ITEMS.get(thread_id, []) if i.id != item_id]

    async def save_attachment(self, attachment: Attachment, context: dict[str, Any]) -> None:
        ATTACHMENTS[attachment.id] = attachment

    async def load_attachment(self, attachment_id: str, context: dict[str, Any]) -> Attachment:
        if attachment_id not in ATTACHMENTS:
            raise NotFoundError(f"attachment {attachment_id} not found")
        return ATTACHMENTS[attachment_id]

    async def delete_attachment(self, attachment_id: str, context: dict[str, Any]) -> None:
        ATTACHMENTS.pop(attachment_id, None)
