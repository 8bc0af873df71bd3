"""Threads and items in SQLite, one JSON document per row."""

from __future__ import annotations

import json
import sqlite3

from chatkit.store import NotFoundError, Store
from chatkit.types import Page, ThreadItem, ThreadMetadata


class SqliteStore(Store[dict]):
    def __init__(self, path: str):
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("create table if not exists threads (id text primary key, user text, doc text)")
        self.db.execute("create table if not exists items (id text primary key, thread text, doc text)")

    async def load_thread(self, thread_id, context):
        row = self.db.execute("select doc from threads where id = ?", (thread_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"thread {thread_id} not found")
        return ThreadMetadata.model_validate_json(row[0])

    async def save_thread(self, thread, context):
        self.db.execute(
            "insert or replace into threads values (?, ?, ?)", (thread.id, context["user_id"], thread.model_dump_json())
        )

    async def load_threads(self, context, limit, after, order):
        rows = self.db.execute("select doc from threads where user = ?", (context["user_id"],)).fetchall()
        threads = [ThreadMetadata.model_validate_json(r[0]) for r in rows][:limit]
        return Page(data=threads, has_more=False)

    async def load_thread_items(self, thread_id, after, limit, order, context):
        rows = self.db.execute("select doc from items where thread = ?", (thread_id,)).fetchall()
        return Page(data=[json.loads(r[0]) for r in rows][:limit], has_more=False)

    async def add_thread_item(self, thread_id, item: ThreadItem, context):
        self.db.execute("insert into items values (?, ?, ?)", (item.id, thread_id, item.model_dump_json()))

    async def save_item(self, item, context):
        self.db.execute("insert or replace into items values (?, ?, ?)", (item.id, item.thread_id, item.model_dump_json()))

    async def load_item(self, thread_id, item_id, context):
        row = self.db.execute("select doc from items where id = ?", (item_id,)).fetchone()
        return json.loads(row[0]) if row else None

    async def delete_thread(self, thread_id, context):
        self.db.execute("delete from threads where id = ?", (thread_id,))

    def delete_thread_item(self, thread_id, item_id, context):
        self.db.execute("delete from items where id = ?", (item_id,))

    async def save_attachment(self, attachment, context):
        raise NotImplementedError

    async def load_attachment(self, attachment_id, context):
        raise NotImplementedError

    async def delete_attachment(self, attachment_id, context):
        raise NotImplementedError
