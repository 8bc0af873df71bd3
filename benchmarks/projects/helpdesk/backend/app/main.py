"""HTTP entry point of the help desk: one ChatKit endpoint and a health check."""

from __future__ import annotations

import logging

import uvicorn
from chatkit.server import StreamingResult
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response, StreamingResponse

from app.server import HelpdeskServer
from app.store import SqliteStore

log = logging.getLogger("helpdesk")

app = FastAPI(title="helpdesk")
app.add_middleware(
    CORSMiddleware,
    allow_origins=["http://localhost:3000"],
    allow_methods=["*"],
    allow_headers=["*"],
)

server = HelpdeskServer(SqliteStore("helpdesk.sqlite3"))


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/chatkit")
async def chatkit_endpoint(request: Request) -> Response:
    user = request.headers.get("X-User", "anonymous")
    result = await server.process(await request.body(), {"user_id": user})
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    uvicorn.run(app, host="0.0.0.0", port=8000, reload=True, log_level="info")
