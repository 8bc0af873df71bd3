"""Fact `chatcmpl-rejects-output-text-history` (CK215): a chat-completions model fails on a thread's second turn
when it is fed the history ChatKit converts (earlier assistant messages as `output_text` parts).

Runs two turns of a real `Runner.run_streamed` with `OpenAIChatCompletionsModel` against the local fake OpenAI API
(`OPENAI_BASE_URL`): the first with the user's message alone, the second with the thread (user, the assistant's
answer, user) converted by `chatkit.agents.simple_to_agent_input`. Holds when the second turn raises.
"""

from __future__ import annotations

FACT = "chatcmpl-rejects-output-text-history"
PACKAGE = "openai-agents"
RELEASES = ">=0.3.2"  # what openai-chatkit 1.6.5 accepts
WITH = ["openai-chatkit==1.6.5"]
FAKE_OPENAI = True


def measure() -> dict:
    import asyncio
    from datetime import datetime

    from agents import Agent, OpenAIChatCompletionsModel, Runner
    from chatkit.agents import simple_to_agent_input
    from chatkit.types import (
        AssistantMessageContent,
        AssistantMessageItem,
        InferenceOptions,
        UserMessageItem,
        UserMessageTextContent,
    )
    from openai import AsyncOpenAI

    agent = Agent(name="a", instructions="answer", model=OpenAIChatCompletionsModel(model="gpt-4.1",
                                                                                  openai_client=AsyncOpenAI()))
    now = datetime.now()

    def user(item_id: str, text: str) -> UserMessageItem:
        return UserMessageItem(id=item_id, thread_id="thr", created_at=now, content=[UserMessageTextContent(text=text)],
                               attachments=[], inference_options=InferenceOptions())

    async def turn(items) -> str:
        result = Runner.run_streamed(agent, await simple_to_agent_input(items))
        async for _ in result.stream_events():
            pass
        return str(result.final_output)

    async def conversation() -> dict:
        try:
            first = await turn([user("m1", "hi")])
        except Exception as exc:  # noqa: BLE001 - the environment cannot run a turn at all
            return {"unusable": f"the first turn failed: {type(exc).__name__}: {str(exc)[:160]}"}
        answer = AssistantMessageItem(id="m2", thread_id="thr", created_at=now,
                                      content=[AssistantMessageContent(text=first)])
        try:
            await turn([user("m1", "hi"), answer, user("m3", "again")])
        except Exception as exc:  # noqa: BLE001 - the failure is what is measured
            return {"value": True, "detail": f"{type(exc).__name__}: {str(exc)[:160]}"}
        return {"value": False, "detail": "the second turn answered"}

    return asyncio.run(conversation())


if __name__ == "__main__":
    import json

    print(json.dumps(measure()))
