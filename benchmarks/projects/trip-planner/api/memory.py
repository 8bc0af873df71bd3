from collections import defaultdict

from chatkit.store import NotFoundError, Store
from chatkit.types import Page


class MemoryStore(Store[dict]):
    def __init__(self):
        self.threads = {}
        self.items = defaultdict(list)

    async def load_thread(self, thread_id, context):
        try:
            return self.threads[thread_id]
        except KeyError:
            raise NotFoundError(thread_id) from None

    async def save_thread(self, thread, context):
        self.threads[thread.id] = thread

    async def load_threads(self, limit, after, order, context):
        return Page(data=list(self.threads.values())[:limit], has_more=False)

    async def load_thread_items(self, thread_id, after, limit, order, context):
        return Page(data=self.items[thread_id][:limit], has_more=False)

    async def add_thread_item(self, thread_id, item, context):
        self.items[thread_id].append(item)

    async def save_item(self, thread_id, item, context):
        self.items[thread_id] = [i for i in self.items[thread_id] if i.id != item.id] + [item]

    async def load_item(self, thread_id, item_id, context):
        return next(i for i in self.items[thread_id] if i.id == item_id)

    async def delete_thread(self, thread_id, context):
        self.threads.pop(thread_id, None)
        self.items.pop(thread_id, None)

    async def delete_thread_item(self, thread_id, item_id, context):
        self.items[thread_id] = [i for i in self.items[thread_id] if i.id != item_id]

    async def save_attachment(self, attachment, context):
        raise NotImplementedError("attachments are off")

    async def load_attachment(self, attachment_id, context):
        raise NotImplementedError("attachments are off")

    async def delete_attachment(self, attachment_id, context):
        raise NotImplementedError("attachments are off")
