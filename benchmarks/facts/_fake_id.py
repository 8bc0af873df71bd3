"""The experiment behind the two `__fake_id__` facts (CK209): the ids of the assistant items ChatKit's
`stream_agent_response` emits for one streamed turn of a chat-completions model (the local fake OpenAI API)."""

from __future__ import annotations


def streamed_item_ids() -> dict:
    import asyncio
    from datetime import datetime

    from agents import Agent, OpenAIChatCompletionsModel, Runner
    from chatkit.agents import AgentContext, stream_agent_response
    from chatkit.store import Store
    from chatkit.types import ThreadMetadata
    from openai import AsyncOpenAI

    def unused(name):
        async def method(*args, **kwargs):
            if name == "load_thread_items":  # an empty thread
                import chatkit.store

                return chatkit.store.Page(data=[], has_more=False, after=None)
            raise AssertionError(f"the experiment stores nothing, yet {name}() was called")
        return method

    # a Store with every abstract method of this release stubbed: the contract differs between releases
    store_class = type("NoStore", (Store,), {name: unused(name) for name in Store.__abstractmethods__})
    store = store_class()
    thread = ThreadMetadata(id="thr_1", created_at=datetime.now())
    agent = Agent(name="a", instructions="answer",
                  model=OpenAIChatCompletionsModel(model="gpt-4.1", openai_client=AsyncOpenAI()))

    async def turn() -> dict:
        context = AgentContext(thread=thread, store=store, request_context={})
        try:
            result = Runner.run_streamed(agent, "hi", context=context)
            ids = []
            async for event in stream_agent_response(context, result):
                item = getattr(event, "item", None)
                if item is not None and getattr(item, "type", "") == "assistant_message":
                    ids.append(item.id)
        except Exception as exc:  # noqa: BLE001 - the environment cannot stream a turn at all
            return {"unusable": f"the turn failed: {type(exc).__name__}: {str(exc)[:160]}"}
        if not ids:
            return {"unusable": "no assistant item was streamed"}
        return {"value": "__fake_id__" in ids, "detail": f"assistant item ids: {sorted(set(ids))}"}

    return asyncio.run(turn())
