"""Fact `fastmcp-module-removed` (CK504): `from mcp.server.fastmcp import FastMCP` fails and the server class is
`mcp.server.mcpserver.MCPServer`, per mcp release. Holds when the old import fails and the new one works (a release
with neither, from before FastMCP joined mcp, holds no fact here)."""

from __future__ import annotations

FACT = "fastmcp-module-removed"
PACKAGE = "mcp"
RELEASES = ">=1.0.0"


def measure() -> dict:
    import importlib

    def missing(module: str, name: str) -> str | None:
        """Why `module.name` cannot be imported because the release lacks it; None when it imports."""
        try:
            getattr(importlib.import_module(module), name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module.startswith(exc.name):
                return f"ModuleNotFoundError: {exc}"
            raise
        return None

    try:
        old = missing("mcp.server.fastmcp", "FastMCP")
        new = missing("mcp.server.mcpserver", "MCPServer")
    except (ImportError, AttributeError) as exc:  # the module is there and cannot be imported in this environment
        return {"unusable": f"{type(exc).__name__}: {exc}"[:200]}
    if old is not None and new is not None:
        return {"value": None, "detail": f"neither server class: {old}; {new}"}
    return {"value": old is not None and new is None, "detail": old or "mcp.server.fastmcp.FastMCP imports"}


if __name__ == "__main__":
    import json

    print(json.dumps(measure()))
