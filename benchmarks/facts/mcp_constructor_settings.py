"""Fact `server-constructor-rejects-transport-settings` (CK504): the MCP server class refuses transport settings in
its constructor (`MCPServer("x", port=8001)` raises TypeError), per mcp release. The value is the list of settings
refused, each tried alone; empty when all are accepted."""

from __future__ import annotations

FACT = "server-constructor-rejects-transport-settings"
PACKAGE = "mcp"
RELEASES = ">=1.0.0"
SETTINGS = {"host": "127.0.0.1", "port": 8001, "json_response": True, "stateless_http": True,
            "streamable_http_path": "/mcp", "sse_path": "/sse", "message_path": "/messages/", "mount_path": "/"}


def measure() -> dict:
    from _mcp_server import measured, server_class

    return measured(lambda: _measure(server_class))


def _measure(server_class) -> dict:
    server = server_class()
    if server is None:
        return {"value": None, "detail": "no MCP server class in this release"}
    refused = []
    for name, value in SETTINGS.items():
        try:
            server("probe", **{name: value})
        except TypeError:
            refused.append(name)
    return {"value": refused, "detail": f"{server.__module__}.{server.__name__}"}


if __name__ == "__main__":
    import json

    print(json.dumps(measure()))
