"""Fact `chatkit-keeps-fake-id` (CK209): ChatKit's `stream_agent_response` passes the `__fake_id__` of a
chat-completions model's items on instead of giving them store ids, per openai-chatkit release, with an openai-agents
release that emits it (chatcmpl-streams-fake-id). Holds when an emitted assistant item still carries it."""

from __future__ import annotations

FACT = "chatkit-keeps-fake-id"
PACKAGE = "openai-chatkit"
RELEASES = ">=1.0.0"
WITH = ["openai-agents==0.24.0"]
FAKE_OPENAI = True


def measure() -> dict:
    from _fake_id import streamed_item_ids

    return streamed_item_ids()


if __name__ == "__main__":
    import json

    print(json.dumps(measure()))
