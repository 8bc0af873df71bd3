"""A generated back end (SQLite or PostgreSQL, JWT auth, the MCP tool server) running against the fake OpenAI API.

`booted_backend` generates the project, starts the MCP tool server and the back end as real uvicorn processes and
yields a `Backend`: a client that speaks ChatKit as a user, uploads attachments, and reads every row of the
database directly, so tests can prove what a request wrote, or that it wrote nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from scaffold_support import chatkit_client as ck
from scaffold_support.postgres import fresh_database
from scaffold_support.projects import generate
from scaffold_support.servers import base_env, uvicorn_app

from chatkit_fix.verify import protocol
from chatkit_fix.verify.fake_openai import FakeOpenAI, FakeScript
from chatkit_fix.verify.processes import ServerProcess, free_port

ALLOWED_ORIGIN = "http://localhost:5173"
MAX_BODY_BYTES = 1_000_000  # the generated default
ATTACHMENT_MAX_BYTES = 64 * 1024  # small, so tests can pass it


@dataclass
class Backend:
    store: str
    server: ServerProcess
    fake: FakeOpenAI
    client: httpx.Client
    database: str  # the SQLite file, or the PostgreSQL URL

    def post(self, body: Any, user: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        all_headers = {**(ck.bearer(user) if user else {}), **(headers or {})}
        if isinstance(body, bytes):
            all_headers.setdefault("Content-Type", "application/json")
            return self.client.post("/chatkit", content=body, headers=all_headers)
        return self.client.post("/chatkit", json=body, headers=all_headers)

    def stream(self, body: Any, user: str) -> list[dict]:
        """A streaming request that must work: HTTP 200, whole events, no error event."""
        response = self.post(body, user)
        assert response.status_code == 200, response.text[:500]
        events = ck.sse_events(response.text)
        assert not [event for event in events if event["type"] == "error"], f"{events}\n{self.server.log()[-3000:]}"
        return events

    def converse(self, user: str, text: str, **input_options: Any) -> str:
        """A new thread with one turn; its id."""
        events = self.stream(protocol.threads_create(text, **input_options), user)
        assert events[0]["type"] == "thread.created"
        return events[0]["thread"]["id"]

    def items(self, thread_id: str, user: str) -> list[dict]:
        response = self.post(protocol.items_list(thread_id), user)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def thread_ids(self, user: str) -> list[str]:
        response = self.post(protocol.threads_list(limit=100), user)
        assert response.status_code == 200, response.text
        return [thread["id"] for thread in response.json()["data"]]

    def create_attachment(self, user: str, name: str = "notes.txt", mime_type: str = "text/plain",
                          size: int = 12) -> httpx.Response:
        return self.post({"type": "attachments.create", "params": {"name": name, "size": size, "mime_type": mime_type}},
                         user)

    def upload(self, attachment: dict, data: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        """The second phase, as the browser does it: the file POSTed as multipart to the descriptor's URL."""
        descriptor = attachment["upload_descriptor"]
        assert descriptor["method"] == "POST"
        return self.client.post(
            descriptor["url"],
            headers={**descriptor["headers"], **(headers or {})},
            files={"file": (attachment["name"], data, attachment["mime_type"])},
        )

    def uploaded_attachment(self, user: str, data: bytes, name: str = "notes.txt",
                            mime_type: str = "text/plain") -> dict:
        created = self.create_attachment(user, name, mime_type, len(data))
        assert created.status_code == 200, created.text
        uploaded = self.upload(created.json(), data)
        assert uploaded.status_code == 200, uploaded.text
        return created.json()

    def rows(self) -> dict[str, list[tuple]]:
        """Every table of the database with all its rows, read past the API."""
        if self.store == "sqlite":
            connection = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)
            try:
                tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
                return {table: sorted(connection.execute(f'SELECT * FROM "{table}"').fetchall()) for table in tables}
            finally:
                connection.close()
        import asyncpg

        async def read() -> dict[str, list[tuple]]:
            connection = await asyncpg.connect(self.database)
            try:
                tables = await connection.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
                )
                return {
                    row["tablename"]: sorted(
                        (tuple(str(value) for value in record)
                         for record in await connection.fetch(f'SELECT * FROM "{row["tablename"]}"')),
                    )
                    for row in tables
                }
            finally:
                await connection.close()

        return asyncio.run(read())


@contextlib.contextmanager
def booted_backend(store: str, target: Path, postgres_url: str | None = None,
                   **env: str) -> Iterator[Backend]:
    """Generate a project into `target` and serve it; `postgres_url` is the server's URL for --store postgres."""
    generate(target, framework="none", store=store, auth="jwt")
    if store == "sqlite":
        database = str(target / "var" / "chatkit.sqlite3")
        store_env = {"CHATKIT_SQLITE_PATH": database}
    else:
        assert postgres_url is not None
        database = fresh_database(postgres_url, target.name.lower().replace("-", "_"))
        store_env = {"DATABASE_URL": database}
    mcp_port = free_port()
    with FakeOpenAI(script=FakeScript()) as fake:
        project_env = base_env({
            **fake.env(),
            **store_env,
            "CHATKIT_JWT_SECRET": ck.TEST_JWT_SECRET,
            "CHATKIT_MCP_URL": f"http://127.0.0.1:{mcp_port}/mcp",
            "CHATKIT_CORS_ORIGINS": ALLOWED_ORIGIN,
            "CHATKIT_ATTACHMENT_MAX_BYTES": str(ATTACHMENT_MAX_BYTES),
            **env,
        })
        with (
            uvicorn_app("backend.mcp_tools:app", target, project_env, port=mcp_port),
            uvicorn_app("backend.main:app", target, project_env) as server,
            httpx.Client(base_url=server.url, timeout=60) as client,
        ):
            yield Backend(store, server, fake, client, database)
