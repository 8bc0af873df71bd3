"""The MCP tool server of the CK502 boot fixture (mcp 2): run it with `uvicorn mcp_tools:app --port 8001`."""

from mcp.server.mcpserver import MCPServer

mcp = MCPServer("boot-tools")


@mcp.tool()
def get_weather(city: str) -> str:
    """The weather for a city."""
    return f"It is sunny in {city}."


app = mcp.streamable_http_app(stateless_http=True, json_response=True)
