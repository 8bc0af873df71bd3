"""Trip planner API: the ChatKit endpoint behind a bearer token."""

import os

import uvicorn
from chatkit.server import StreamingResult
from fastapi import FastAPI, Header, Request
from fastapi.responses import Response, StreamingResponse
from memory import MemoryStore
from planner import PlannerServer


def create_app() -> FastAPI:
    api = FastAPI(title="trip planner")
    server = PlannerServer(MemoryStore())

    @api.post("/api/chatkit")
    async def chatkit(request: Request, authorization: str = Header(default="")):
        user_id = authorization.removeprefix("Bearer ") or "anonymous"
        result = await server.process(await request.body(), {"user_id": user_id})
        if isinstance(result, StreamingResult):
            return StreamingResponse(result, media_type="text/event-stream")
        return Response(content=result.json, media_type="application/json")

    return api


if __name__ == "__main__":
    uvicorn.run(create_app(), port=int(os.environ.get("PORT", "8080")), workers=4)
