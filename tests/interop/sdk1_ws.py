"""The official Python MCP SDK 1.x (the last with a WebSocket client, `mcp.client.websocket`) drives persona-mcp
over its WebSocket endpoint (MCP_URL, subprotocol `mcp`): initialize handshake, then the shared checks."""

import asyncio
import os
import warnings

from mcp import ClientSession
from mcp.client.websocket import websocket_client

from checks import exercise, ok


async def main():
    warnings.simplefilter("ignore", DeprecationWarning)
    async with websocket_client(os.environ["MCP_URL"]) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            assert init.protocolVersion == "2025-11-25", init
            assert init.serverInfo.name == "persona-mcp", init
            assert init.capabilities.tools and init.capabilities.resources and init.capabilities.prompts, init
            ok("sdk1 ws", f"protocol {init.protocolVersion}, server {init.serverInfo.name}")
            await exercise(session, "sdk1 ws")


asyncio.run(main())
