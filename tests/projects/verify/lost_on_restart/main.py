"""verify fixture (CK308): the store looks like a database layer, but its "tables" are module-level dicts, so every
restart loses every thread."""

from __future__ import annotations

from chatkit.server import StreamingResult
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from echo import EchoServer
from thread_store import ThreadStore

server = EchoServer(ThreadStore())
app = FastAPI()


@app.post("/chatkit")
async def chatkit_endpoint(request: Request) -> Response:
    result = await server.process(await request.body(), {"user_id": "demo"})
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")
