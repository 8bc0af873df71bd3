"""CK403 boot fixture: the ChatKit endpoint carries on as "anonymous" when the token is missing or invalid."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import jwt
from chatkit.server import ChatKitServer, StreamingResult
from chatkit.types import AssistantMessageContent, AssistantMessageItem, ThreadItemDoneEvent
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from store import InMemoryStore

SECRET_KEY = os.environ["JWT_SECRET"]


class EchoServer(ChatKitServer[dict[str, Any]]):
    async def respond(self, thread, input_user_message, context):
        yield ThreadItemDoneEvent(
            item=AssistantMessageItem(
                id=self.store.generate_item_id("message", thread, context),
                thread_id=thread.id,
                created_at=datetime.now(),
                content=[AssistantMessageContent(text=f"hello {context['user_id']}")],
            )
        )


server = EchoServer(InMemoryStore())
app = FastAPI()


@app.post("/chatkit")
async def chatkit_endpoint(request: Request) -> Response:
    user_id = "anonymous"
    auth_header = request.headers.get("authorization", "")
    if auth_header.startswith("Bearer "):
        try:
            payload = jwt.decode(auth_header[7:], SECRET_KEY, algorithms=["HS256"])
            user_id = payload["sub"]
        except Exception as exc:
            print(f"JWT decode failed: {exc}")
    result = await server.process(await request.body(), {"user_id": user_id})
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")
