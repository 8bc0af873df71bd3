"""CK201 boot fixture: the endpoint buffers ChatKit's event stream into one JSON response."""

from __future__ import annotations

from typing import Any

from agents import Agent, Runner
from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response
from chatkit.server import ChatKitServer, StreamingResult
from fastapi import FastAPI, Request
from fastapi.responses import Response
from store import InMemoryStore

assistant = Agent(name="Assistant", instructions="Answer in one sentence.", model="gpt-4.1")


class DemoServer(ChatKitServer[dict[str, Any]]):
    async def respond(self, thread, input_user_message, context):
        page = await self.store.load_thread_items(thread.id, None, 20, "desc", context)
        agent_input = await simple_to_agent_input(list(reversed(page.data)))
        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)
        result = Runner.run_streamed(assistant, agent_input, context=agent_context)
        async for event in stream_agent_response(agent_context, result):
            yield event


server = DemoServer(InMemoryStore())
app = FastAPI()


@app.post("/chatkit")
async def chatkit_endpoint(request: Request) -> Response:
    result = await server.process(await request.body(), {"request": request})
    if isinstance(result, StreamingResult):
        chunks = [chunk async for chunk in result]
        return Response(content=b"".join(chunks), media_type="application/json")
    return Response(content=result.json, media_type="application/json")
