"""The official Python MCP SDK 2.x drives persona-mcp over Streamable HTTP (MCP_URL), in auto mode (stateless
requests) and legacy mode (an Mcp-Session-Id session)."""

import asyncio
import os

from mcp.client import Client

from checks import both_modes

asyncio.run(both_modes(lambda mode: Client(os.environ["MCP_URL"], mode=mode), "http"))
