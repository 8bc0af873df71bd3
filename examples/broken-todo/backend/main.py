"""FastAPI entry point of the to-do assistant."""

import uvicorn
from chatkit.server import StreamingResult
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response, StreamingResponse

from server import TodoChatKitServer
from store import TodoStore

app = FastAPI(title="todo assistant")
app.add_middleware(
    CORSMiddleware,
    allow_origins=["*"],
    allow_credentials=True,
    allow_methods=["*"],
    allow_headers=["*"],
)

server = TodoChatKitServer(TodoStore())


@app.post("/chatkit")
async def chatkit_endpoint(request: Request):
    user_id = request.headers.get("X-User-ID", "anonymous")
    result = await server.process(await request.body(), {"user_id": user_id})
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=8000, reload=True)
