"""The helper the CK209 fix inserts into user code works against the installed SDK, and CK204 names the error text of
the openai-agents version the project declares. (The CK215 helper is proven where the bug happens: tests/versions.)"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from chatkit_fix.testing import check_rules, write_files


def _load(code: str, name: str):
    namespace: dict = {}
    exec(compile(code, "<helper>", "exec"), namespace)  # noqa: S102 - the helper text the fix inserts
    return namespace[name]


def test_remap_fake_ids_gives_each_message_a_store_id():
    from chatkit.types import (
        AssistantMessageContent,
        AssistantMessageContentPartTextDelta,
        AssistantMessageItem,
        ThreadItemAddedEvent,
        ThreadItemDoneEvent,
        ThreadItemUpdatedEvent,
    )

    from chatkit_fix.codemods.ck209_fake_id_collision import HELPER, HELPER_CODE

    remap = _load(HELPER_CODE, HELPER)
    issued = iter(["msg_1", "msg_2"])
    agent_context = SimpleNamespace(
        store=SimpleNamespace(generate_item_id=lambda kind, thread, context: next(issued)),
        thread=SimpleNamespace(id="thr_1"),
        request_context={},
    )

    def item(text: str) -> AssistantMessageItem:
        return AssistantMessageItem(id="__fake_id__", thread_id="thr_1", created_at=datetime.now(),
                                    content=[AssistantMessageContent(text=text)])

    async def events():
        for text in ("first", "second"):
            yield ThreadItemAddedEvent(item=item(""))
            yield ThreadItemUpdatedEvent(item_id="__fake_id__",
                                         update=AssistantMessageContentPartTextDelta(content_index=0, delta=text))
            yield ThreadItemDoneEvent(item=item(text))

    async def collect():
        return [event async for event in remap(events(), agent_context)]

    out = asyncio.run(collect())
    ids = [getattr(getattr(e, "item", None), "id", None) or e.item_id for e in out]
    assert ids == ["msg_1", "msg_1", "msg_1", "msg_2", "msg_2", "msg_2"]


@pytest.mark.parametrize(("pin", "attribute"), [("openai-agents==0.4.2", "output_type"), ("openai-agents==0.24.0", "handoffs")])
def test_ck204_names_the_declared_versions_error(tmp_path: Path, pin: str, attribute: str):
    write_files(tmp_path, {
        "requirements.txt": pin + "\n",
        "agent.py": "from agents import Runner\n\nasync def go(agent, items):\n"
                    "    first = await Runner.run(agent, items)\n    return Runner.run_streamed(first, items)\n",
    })
    findings = [f for f in check_rules(tmp_path, {"CK204"}).findings if f.code == "CK204"]
    assert len(findings) == 1
    assert f"no attribute '{attribute}'" in findings[0].message
