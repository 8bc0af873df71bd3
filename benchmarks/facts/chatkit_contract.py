"""Fact `chatkit-sdk-contract` (CK202, CK208, CK301-CK308): what one openai-chatkit release asks of an integration,
read by importing it: the `Store` methods (abstract or not, parameters, async, annotations), the fields each request
model requires, `Page`'s fields, where `NotFoundError` lives, and the codes `ErrorEvent(code=...)` accepts, tried one
by one. The probe is `chatkit_fix.sdk.probe_facts`, the same one that reads an installed SDK when a project declares
no release.
"""

from __future__ import annotations

FACT = "chatkit-sdk-contract"
PACKAGE = "openai-chatkit"
RELEASES = ">=1.0.0"


def measure() -> dict:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from chatkit_fix.sdk import probe_facts

    facts = probe_facts()
    for key in ("version", "origin"):
        facts.pop(key, None)
    for method in facts["store_methods"]:
        method.pop("order", None)  # source line numbers: they move with every edit of the SDK, the contract does not
    return {"value": facts}


if __name__ == "__main__":
    import json

    print(json.dumps(measure()))
