from datetime import datetime, timezone

from chatkit.store import Store
from chatkit.types import AssistantMessageContent, AssistantMessageItem, Page


class RecipeStore(Store[dict]):
    def __init__(self):
        self.threads, self.items = {}, {}

    def reply(self, thread, text):
        return AssistantMessageItem(
            id=f"msg_{len(self.items)}",
            thread_id=thread.id,
            created_at=datetime.now(timezone.utc),
            content=[AssistantMessageContent(text=text, annotations=[])],
        )

    async def load_thread(self, thread_id, context):
        return self.threads[thread_id]

    async def save_thread(self, thread, context):
        self.threads[thread.id] = thread

    async def load_threads(self, limit, after, order, context):
        return Page(data=list(self.threads.values()), has_more=False)

    async def load_thread_items(self, thread_id, after, limit, order, context):
        return Page(data=self.items.get(thread_id, []), has_more=False)

    async def add_thread_item(self, thread_id, item, context):
        self.items.setdefault(thread_id, []).append(item)

    async def save_item(self, thread_id, item, context):
        self.items.setdefault(thread_id, []).append(item)

    async def load_item(self, thread_id, item_id, context):
        return next(i for i in self.items.get(thread_id, []) if i.id == item_id)

    async def delete_thread(self, thread_id, context):
        self.threads.pop(thread_id, None)

    async def delete_thread_item(self, thread_id, item_id, context):
        pass

    async def save_attachment(self, attachment, context):
        pass

    async def load_attachment(self, attachment_id, context):
        raise KeyError(attachment_id)

    async def delete_attachment(self, attachment_id, context):
        pass
