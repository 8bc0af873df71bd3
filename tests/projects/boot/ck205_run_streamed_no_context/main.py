"""CK205 boot fixture: `Runner.run_streamed()` without `context=`, so tools cannot reach the ChatKit AgentContext."""

from __future__ import annotations

from typing import Any

from agents import Agent, RunContextWrapper, Runner, function_tool
from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response
from chatkit.server import ChatKitServer, StreamingResult
from chatkit.types import ProgressUpdateEvent
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from store import InMemoryStore


@function_tool
async def look_up(ctx: RunContextWrapper[AgentContext], topic: str) -> str:
    """Look a topic up, showing progress in the chat."""
    await ctx.context.stream(ProgressUpdateEvent(text=f"Looking up {topic}"))
    return f"found {topic}"


assistant = Agent[AgentContext](name="Assistant", instructions="Use look_up.", model="gpt-4.1", tools=[look_up])


class DemoServer(ChatKitServer[dict[str, Any]]):
    async def respond(self, thread, input_user_message, context):
        page = await self.store.load_thread_items(thread.id, None, 20, "desc", context)
        agent_input = await simple_to_agent_input(list(reversed(page.data)))
        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)
        result = Runner.run_streamed(assistant, agent_input)
        async for event in stream_agent_response(agent_context, result):
            yield event


server = DemoServer(InMemoryStore())
app = FastAPI()


@app.post("/chatkit")
async def chatkit_endpoint(request: Request) -> Response:
    result = await server.process(await request.body(), {"request": request})
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")
