"""What a ChatKit front end sends: tokens signed with the tests' secret (chatkit-sdk.md §1.5).

Request bodies and SSE parsing are chatkit_fix.verify.protocol's; `sse_events` and `assistant_texts` read a whole
response body with it.
"""

from __future__ import annotations

import time
from typing import Any

import jwt

from chatkit_fix.verify.protocol import message_text, parse_sse

TEST_JWT_SECRET = "test-secret-for-chatkit-fix-scaffold-tests-0123456789"


def token(user_id: str, secret: str = TEST_JWT_SECRET, expires_in: int = 600, algorithm: str = "HS256") -> str:
    claims = {"sub": user_id, "exp": int(time.time()) + expires_in}
    return jwt.encode(claims, None if algorithm == "none" else secret, algorithm=algorithm)


def bearer(user_id: str, **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user_id, **kwargs)}"}


def sse_events(body: str) -> list[dict[str, Any]]:
    """The JSON events of a whole `text/event-stream` body."""
    return [event.json() for event in parse_sse(body.splitlines())]


def assistant_texts(events: list[dict[str, Any]]) -> list[str]:
    """Texts of the assistant messages completed in a stream."""
    return [
        message_text(event["item"])
        for event in events
        if event.get("type") == "thread.item.done" and event["item"].get("type") == "assistant_message"
    ]
