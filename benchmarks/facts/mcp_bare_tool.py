"""Fact `bare-tool-decorator-rejected` (CK506): `@server.tool` written without parentheses makes the module fail at
import, per mcp release (the server class of the release: MCPServer, else FastMCP), and so does `@server.prompt`.
The value maps each refused decorator to the error's text, as the finding quotes it; None when both are accepted."""

from __future__ import annotations

FACT = "bare-tool-decorator-rejected"
PACKAGE = "mcp"
RELEASES = ">=1.0.0"


def measure() -> dict:
    from _mcp_server import measured, server_class

    return measured(lambda: _measure(server_class))


def _measure(server_class) -> dict:
    server_type = server_class()
    if server_type is None:
        return {"value": None, "detail": "no MCP server class in this release"}
    errors = {}
    for factory in ("tool", "prompt"):
        server = server_type("probe")

        def add(a: int) -> int:
            return a

        try:
            getattr(server, factory)(add)
        except Exception as exc:  # noqa: BLE001 - the refusal is what is measured
            errors[factory] = f"{type(exc).__name__}: {exc}"
    return {"value": errors or None, "detail": f"{server_type.__module__}.{server_type.__name__}"}


if __name__ == "__main__":
    import json

    print(json.dumps(measure()))
