"""MCP tools for the to-do list, served over Streamable HTTP."""

from mcp.server.fastmcp import FastMCP

mcp = FastMCP("todo-tools", host="127.0.0.1", port=8001, stateless_http=True)
TODOS: dict[str, list[str]] = {}


@mcp.tool
def add_todo(user_id: str, title: str) -> str:
    TODOS.setdefault(user_id, []).append(title)
    return f"added {title}"


if __name__ == "__main__":
    mcp.run(transport="streamable-http")
