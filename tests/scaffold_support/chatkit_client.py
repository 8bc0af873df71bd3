"""What a ChatKit front end sends, built by hand: tokens and request bodies (chatkit-sdk.md §1.5)."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt

TEST_JWT_SECRET = "test-secret-for-chatkit-fix-scaffold-tests-0123456789"


def token(user_id: str, secret: str = TEST_JWT_SECRET, expires_in: int = 600, algorithm: str = "HS256") -> str:
    claims = {"sub": user_id, "exp": int(time.time()) + expires_in}
    return jwt.encode(claims, None if algorithm == "none" else secret, algorithm=algorithm)


def bearer(user_id: str, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user_id, **kwargs)}"}


def user_input(text: str) -> dict[str, Any]:
    return {"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}}


def create_thread(text: str) -> dict[str, Any]:
    return {"type": "threads.create", "params": {"input": user_input(text)}}


def add_user_message(thread_id: str, text: str) -> dict[str, Any]:
    return {"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": user_input(text)}}


def list_threads() -> dict[str, Any]:
    return {"type": "threads.list", "params": {"limit": 20, "order": "desc"}}


def get_thread(thread_id: str) -> dict[str, Any]:
    return {"type": "threads.get_by_id", "params": {"thread_id": thread_id}}


def list_items(thread_id: str) -> dict[str, Any]:
    return {"type": "items.list", "params": {"thread_id": thread_id, "limit": 50, "order": "asc"}}


def sse_events(body: str) -> list[dict[str, Any]]:
    return [json.loads(line[len("data: ") :]) for line in body.splitlines() if line.startswith("data: ")]


def assistant_texts(events: list[dict[str, Any]]) -> list[str]:
    """Texts of the assistant messages completed in a stream."""
    return [
        "".join(part.get("text", "") for part in event["item"]["content"])
        for event in events
        if event.get("type") == "thread.item.done" and event["item"].get("type") == "assistant_message"
    ]
