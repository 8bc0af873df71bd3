"""Fact `chatcmpl-streams-fake-id` (CK209): a chat-completions model streamed through ChatKit's
`stream_agent_response` gives its assistant items the placeholder id `__fake_id__` (Chat Completions has no item ids),
per openai-agents release, with openai-chatkit 1.6.5. Holds when an emitted assistant item carries it."""

from __future__ import annotations

FACT = "chatcmpl-streams-fake-id"
PACKAGE = "openai-agents"
RELEASES = ">=0.3.2"  # what openai-chatkit 1.6.5 accepts
WITH = ["openai-chatkit==1.6.5"]
FAKE_OPENAI = True


def measure() -> dict:
    from _fake_id import streamed_item_ids

    return streamed_item_ids()


if __name__ == "__main__":
    import json

    print(json.dumps(measure()))
