from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse

from chatkit.server import StreamingResult

from app.server import create_server

app = FastAPI()
server = create_server()


@app.get("/health")
async def health() -> dict:
    return {"ok": True}


@app.post("/chatkit")
async def chatkit_endpoint(request: Request) -> Response:
    result = await server.process(await request.body(), {"request": request})
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")
