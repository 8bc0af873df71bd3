"""CK502 boot fixture: the agent's stream is consumed after `async with` has closed the MCP session."""

from __future__ import annotations

import os
from typing import Any

from agents import Agent, Runner
from agents.mcp import MCPServerStreamableHttp
from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response
from chatkit.server import ChatKitServer, StreamingResult
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from store import InMemoryStore

MCP_URL = os.environ.get("MCP_URL", "http://127.0.0.1:8001/mcp")


class DemoServer(ChatKitServer[dict[str, Any]]):
    async def respond(self, thread, input_user_message, context):
        page = await self.store.load_thread_items(thread.id, None, 20, "desc", context)
        agent_input = await simple_to_agent_input(list(reversed(page.data)))
        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)
        async with MCPServerStreamableHttp(params={"url": MCP_URL}, cache_tools_list=True) as tools:
            agent = Agent(name="Assistant", instructions="Use the tools.", model="gpt-4.1", mcp_servers=[tools])
            result = Runner.run_streamed(agent, agent_input, context=agent_context)
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
