"""The MCP server class of the installed mcp release, for the mcp facts: `mcp.server.mcpserver.MCPServer` (mcp 2),
else `mcp.server.fastmcp.FastMCP` (mcp 1.2 and later)."""

from __future__ import annotations

import importlib

CLASSES = (("mcp.server.mcpserver", "MCPServer"), ("mcp.server.fastmcp", "FastMCP"))


class Unusable(Exception):
    """The release has the module but it cannot be imported here (a dependency it does not bound has moved on)."""


def server_class():
    """The class, or None when the release has neither module."""
    for module, name in CLASSES:
        try:
            return getattr(importlib.import_module(module), name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module.startswith(exc.name):
                continue  # the release has no such module
            raise Unusable(f"{module}: {type(exc).__name__}: {exc}") from exc
        except (ImportError, AttributeError) as exc:
            raise Unusable(f"{module}: {type(exc).__name__}: {exc}") from exc
    return None


def measured(function) -> dict:
    """`function()`'s answer, or the unusable answer when the server class cannot be imported."""
    try:
        return function()
    except Unusable as exc:
        return {"unusable": str(exc)[:200]}
