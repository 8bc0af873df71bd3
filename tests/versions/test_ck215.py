"""CK215 where it happens: the release of openai-agents that the fact data says rejects ChatKit's history fails on
the second turn when run, the next release does not, and `chatkit-fix check` fires for a project declaring the first
and stays silent for one declaring the second or an unbounded pin. The helper the fix inserts is accepted by both."""

from __future__ import annotations

from pathlib import Path

import pytest
from matrix import python_with, run_json

from chatkit_fix import versions
from chatkit_fix.codemods.ck215_chatcmpl_history_content import (
    FACT,
    HELPER,
    HELPER_CODE,
)
from chatkit_fix.testing import check_rules, write_files

CHATKIT = "openai-chatkit==1.6.5"


def _boundary() -> tuple[str, str, str]:
    """The oldest and the newest release of the last range measured to reject the history, and the release after it
    (measured to accept it)."""
    ranges = versions.facts()[FACT]["ranges"]
    index = max(i for i, r in enumerate(ranges) if r["value"])
    assert index + 1 < len(ranges), "the newest measured release still rejects the history: no silent side to test"
    return ranges[index]["measured"][0], ranges[index]["measured"][-1], ranges[index + 1]["measured"][0]


FIRST_FAILING, FAILS, WORKS = _boundary()

CONVERT = """
import asyncio, json
from datetime import datetime
from agents.models.chatcmpl_converter import Converter
from chatkit.agents import simple_to_agent_input
from chatkit.types import (AssistantMessageContent, AssistantMessageItem, InferenceOptions, UserMessageItem,
                           UserMessageTextContent)
HELPER_CODE
now = datetime.now()
def user(i, text):
    return UserMessageItem(id=i, thread_id="t", created_at=now, content=[UserMessageTextContent(text=text)],
                           attachments=[], inference_options=InferenceOptions())
history = [user("m1", "hi"), AssistantMessageItem(id="m2", thread_id="t", created_at=now,
           content=[AssistantMessageContent(text="hello")]), user("m3", "again")]
def convert(items):
    try:
        return [m["role"] + ":" + (m["content"] if isinstance(m["content"], str) else "parts")
                for m in Converter.items_to_messages(items)]
    except Exception as exc:
        return type(exc).__name__ + ": " + str(exc)[:80]
raw = convert(asyncio.run(simple_to_agent_input(history)))
fixed = convert(HELPER(asyncio.run(simple_to_agent_input(history))))
print(json.dumps({"raw": raw, "fixed": fixed}))
""".replace("HELPER_CODE", HELPER_CODE).replace("HELPER(", HELPER + "(")


def test_the_release_the_rule_fires_for_rejects_the_history_and_the_helper_repairs_it():
    result = run_json(python_with(f"openai-agents=={FAILS}", CHATKIT), CONVERT)
    assert isinstance(result["raw"], str) and "Unknown content" in result["raw"], result
    assert result["fixed"][1] == "assistant:hello", result


def test_the_next_release_accepts_the_history_and_the_helper_too():
    result = run_json(python_with(f"openai-agents=={WORKS}", CHATKIT), CONVERT)
    assert isinstance(result["raw"], list), result
    assert result["fixed"][1] == "assistant:hello", result


SERVER = (
    "from agents import Agent, OpenAIChatCompletionsModel, Runner\n"
    "from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response\n"
    "from chatkit.server import ChatKitServer\n\n"
    "agent = Agent(name='a', model=OpenAIChatCompletionsModel(model='gpt-4.1', openai_client=None))\n\n\n"
    "class S(ChatKitServer[dict]):\n"
    "    async def respond(self, thread, input_user_message, context):\n"
    "        page = await self.store.load_thread_items(thread.id, None, 20, 'desc', context)\n"
    "        items = await simple_to_agent_input(list(reversed(page.data)))\n"
    "        ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
    "        async for e in stream_agent_response(ctx, Runner.run_streamed(agent, items, context=ctx)):\n"
    "            yield e\n"
)


@pytest.mark.parametrize(("declared", "fires"), [
    (f"openai-agents=={FAILS}", True),
    (f"openai-agents=={WORKS}", False),
    (f"openai-agents>={WORKS}", False),
    ("openai-agents", False),  # unbounded: the newest known release
    (f"openai-agents>={FIRST_FAILING},<={FAILS}", True),  # bounded: the newest release the bound admits
])
def test_check_follows_the_declared_release(tmp_path: Path, declared: str, fires: bool):
    write_files(tmp_path, {"requirements.txt": declared + "\n", "server.py": SERVER})
    found = [f for f in check_rules(tmp_path, {"CK215"}).findings if f.code == "CK215"]
    assert len(found) == (1 if fires else 0), [f.message for f in found]
    if fires:
        assert f"openai-agents {FAILS}" in found[0].message
