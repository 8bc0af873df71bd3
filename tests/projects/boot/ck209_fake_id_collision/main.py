"""CK209 boot fixture: a Chat Completions model streamed through stream_agent_response, with no id remapping."""

from __future__ import annotations

from typing import Any

from agents import Agent, OpenAIChatCompletionsModel, Runner
from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response
from chatkit.server import ChatKitServer, StreamingResult
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from openai import AsyncOpenAI
from store import InMemoryStore

model = OpenAIChatCompletionsModel(model="gpt-4.1", openai_client=AsyncOpenAI())
assistant = Agent(name="Assistant", instructions="Answer in one sentence.", model=model)


class DemoServer(ChatKitServer[dict[str, Any]]):
    async def respond(self, thread, input_user_message, context):
        # only the new message: the history would trip the Chat Completions converter (CK215), not this rule
        agent_input = await simple_to_agent_input([input_user_message] if input_user_message else [])
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
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")
