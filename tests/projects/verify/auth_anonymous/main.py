"""verify fixture (CK403): the endpoint carries on as "anonymous" when the bearer token is missing or invalid."""

from __future__ import annotations

import os

import jwt
from chatkit.server import StreamingResult
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from echo import EchoServer
from store import UserMemoryStore

JWT_SECRET = os.environ["JWT_SECRET"]

server = EchoServer(UserMemoryStore())
app = FastAPI()


@app.post("/chatkit")
async def chatkit_endpoint(request: Request) -> Response:
    user_id = "anonymous"
    auth_header = request.headers.get("authorization", "")
    if auth_header.startswith("Bearer "):
        try:
            user_id = jwt.decode(auth_header[7:], JWT_SECRET, algorithms=["HS256"])["sub"]
        except Exception as exc:
            print(f"JWT decode failed: {exc}")
    result = await server.process(await request.body(), {"user_id": user_id})
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")
