"""An in-memory store of threads and items."""

from chatkit.store import NotFoundError, Store
from chatkit.types import ThreadMetadata


class TodoStore(Store):
    def __init__(self):
        self.threads = {}
        self.items = {}

    async def load_thread(self, thread_id, context):
        if thread_id not in self.threads:
            self.threads[thread_id] = ThreadMetadata(id=thread_id, created_at=0)
        return self.threads[thread_id]

    async def save_thread(self, thread, context):
        self.threads[thread.id] = thread

    async def load_threads(self, context, limit, after, order):
        return {"data": list(self.threads.values()), "has_more": False}

    async def load_thread_items(self, thread_id, after, limit, order, context):
        from chatkit.store import Page

        return Page(data=self.items.get(thread_id, []), has_more=False)

    async def add_thread_item(self, thread_id, item, context):
        self.items.setdefault(thread_id, []).append(item)

    async def save_item(self, item, context):
        self.items.setdefault(item.thread_id, []).append(item)

    async def load_item(self, thread_id, item_id, context):
        for item in self.items.get(thread_id, []):
            if item.id == item_id:
                return item
        return None

    async def delete_thread(self, thread_id, context):
        self.threads.pop(thread_id, None)

    def delete_thread_item(self, thread_id, item_id, context):
        self.items[thread_id] = [i for i in self.items.get(thread_id, []) if i.id != item_id]
