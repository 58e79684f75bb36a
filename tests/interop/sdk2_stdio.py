"""The official Python MCP SDK 2.x drives `persona-mcp stdio` (PERSONA_MCP_BIN), in auto and legacy mode. The
server's settings come from the environment (PERSONA_MCP__*), which the child process inherits."""

import asyncio
import os

from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from checks import both_modes

server = StdioServerParameters(command=os.environ["PERSONA_MCP_BIN"], args=["stdio"], env=dict(os.environ))
asyncio.run(both_modes(lambda mode: Client(server, mode=mode), "stdio"))
