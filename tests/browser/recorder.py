"""Copied next to a generated back end by tests/test_browser_e2e.py and served as `chatkit_e2e_recorder:app`.

It wraps the generated `backend.main:app` unchanged and appends one JSON line per HTTP request it receives to
$CHATKIT_E2E_REQUEST_LOG: method, path, the Origin, Authorization and Content-Type headers, the ChatKit request
type from the body and the status code answered. That is what the back end really received from the browser,
preflights included, so the tests need not trust the browser's side of the story.
"""

from __future__ import annotations

import json
import os
from typing import Any

from backend.main import app as backend_app

LOG_PATH = os.environ["CHATKIT_E2E_REQUEST_LOG"]


def _request_type(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data.get("type") if isinstance(data, dict) else None


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        await backend_app(scope, receive, send)
        return
    headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
    body = bytearray()
    status: list[int] = []

    async def recording_receive() -> Any:
        message = await receive()
        if message["type"] == "http.request":
            body.extend(message.get("body", b""))
        return message

    async def recording_send(message: Any) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])
        await send(message)

    try:
        await backend_app(scope, recording_receive, recording_send)
    finally:
        entry = {
            "method": scope["method"],
            "path": scope["path"],
            "origin": headers.get("origin"),
            "authorization": headers.get("authorization"),
            "content_type": headers.get("content-type"),
            "request_type": _request_type(bytes(body)) if body else None,
            "status": status[0] if status else None,
        }
        _append(entry)


def _append(entry: dict[str, Any]) -> None:
    """One short line per request, written at once: the log is read while the server runs."""
    with open(LOG_PATH, "a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")
