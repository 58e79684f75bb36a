"""Checks shared by the interop scripts: one MCP client session against persona-mcp.

Works with the official Python SDK 2.x `Client` and 1.x `ClientSession` alike (their methods have the same
names; 2.x results use snake_case attributes, 1.x camelCase). The fake LLM answers every chat with
PERSONA_MCP_REPLY. Each check prints one line; any failure raises.
"""

import json
import os

REPLY = os.environ["PERSONA_MCP_REPLY"]


def field(obj, snake, camel):
    """An attribute under its 2.x (snake_case) or 1.x (camelCase) name."""
    return getattr(obj, snake) if hasattr(obj, snake) else getattr(obj, camel)


def ok(label, what):
    print(f"ok: {label}: {what}", flush=True)


async def all_pages(fetch, key):
    """Every item of a paginated list, following nextCursor; also the number of pages."""
    items, cursor, pages = [], None, 0
    while True:
        page = await fetch(cursor)
        pages += 1
        items.extend(getattr(page, key))
        cursor = field(page, "next_cursor", "nextCursor")
        if not cursor:
            return items, pages


def structured(result):
    """The structured result of a tool call that must have succeeded, checked against its text content."""
    assert not field(result, "is_error", "isError"), f"tool failed: {result}"
    data = field(result, "structured_content", "structuredContent")
    assert json.loads(result.content[0].text) == data, "text content and structuredContent differ"
    return data


async def expect_error(label, call, wanted):
    """`call` must fail with a JSON-RPC error whose message contains `wanted`."""
    try:
        await call()
    except Exception as e:  # the SDKs raise their own MCPError / McpError
        assert wanted in str(e), f"{label}: unexpected error {e!r}"
        ok(label, f"refused: {e}")
        return
    raise AssertionError(f"{label}: no error")


async def exercise(client, label):
    """Tools, a chat (plain and streamed with progress), resources, prompts and the error cases."""
    tools, pages = await all_pages(lambda c: client.list_tools(cursor=c), "tools")
    names = {t.name for t in tools}
    for wanted in ("persona_list", "persona_switch", "persona_chat", "persona_chat_stream", "memory_search",
                   "relationship_list", "emotional_get_state"):
        assert wanted in names, f"{wanted} missing from {sorted(names)}"
    assert pages > 1, "the tool list spans several pages"
    chat_tool = next(t for t in tools if t.name == "persona_chat")
    schema = field(chat_tool, "input_schema", "inputSchema")
    assert schema["type"] == "object" and "message" in schema["properties"], schema
    assert "message" in schema.get("required", []), schema
    ok(label, f"{len(tools)} tools in {pages} pages")

    # A host without a session (the stateless revision) names the persona on the call itself.
    direct = structured(await client.call_tool("persona_chat", {"persona_id": "kira", "message": "Hello"}))
    assert direct["response"] == REPLY, direct
    assert direct["persona_state"]["social_energy"] >= 0, direct
    ok(label, f"persona_chat with persona_id, no persona_switch: {direct['response']!r}")

    listed = structured(await client.call_tool("persona_list", {}))
    assert listed["total_count"] >= 2, listed
    aria = next(p for p in listed["personas"] if p["name"] == "Aria")
    ok(label, f"persona_list: {[p['name'] for p in listed['personas']]}")

    switched = structured(await client.call_tool("persona_switch", {"persona_id": "Aria"}))
    assert switched["name"] == "Aria" and switched["status"] == "active", switched
    session = switched["session_id"]
    chat = structured(await client.call_tool("persona_chat", {"message": "Hello there", "session_id": session}))
    assert chat["response"] == REPLY, chat
    ok(label, f"persona_switch + persona_chat: {chat['response']!r}")

    progress = []

    async def on_progress(value, total, message):
        progress.append((value, message))

    streamed = structured(await client.call_tool(
        "persona_chat_stream", {"message": "Sing for me", "session_id": session}, progress_callback=on_progress))
    assert streamed["full_response"] == REPLY, streamed
    assert len(progress) == streamed["chunk_count"] > 1, (progress, streamed)
    assert [v for v, _ in progress] == list(range(1, len(progress) + 1)), progress
    assert "".join(m for _, m in progress) == REPLY, progress
    ok(label, f"persona_chat_stream: {len(progress)} progress notifications")

    bad = await client.call_tool("persona_switch", {})
    assert field(bad, "is_error", "isError"), bad
    assert "persona_id is required" in bad.content[0].text, bad
    ok(label, "bad arguments give an isError result")
    await expect_error(f"{label}: unknown tool", lambda: client.call_tool("no_such_tool", {}), "Unknown tool")

    resources, _ = await all_pages(lambda c: client.list_resources(cursor=c), "resources")
    uris = {str(r.uri) for r in resources}
    for suffix in ("", "/memories", "/relationships"):
        assert f"persona://{aria['id']}{suffix}" in uris, uris
    templates = await client.list_resource_templates()
    assert len(field(templates, "resource_templates", "resourceTemplates")) == 3, templates
    card = await client.read_resource(f"persona://{aria['id']}")
    doc = json.loads(card.contents[0].text)
    assert doc["persona"]["name"] == "Aria" and "social_energy" in doc["interaction_state"], doc
    relations = json.loads((await client.read_resource(f"persona://{aria['id']}/relationships")).contents[0].text)
    assert any(r["other_persona_name"] == "Kira" for r in relations["relationships"]), relations
    ok(label, f"{len(resources)} resources; read persona://{aria['id']} and its relationships")
    await expect_error(f"{label}: unknown resource", lambda: client.read_resource("persona://Nobody"),
                       "Resource not found")

    prompts, _ = await all_pages(lambda c: client.list_prompts(cursor=c), "prompts")
    assert "chat_as_aria" in {p.name for p in prompts}, prompts
    prompt = await client.get_prompt("chat_as_aria", {"message": "Hi!"})
    texts = [m.content.text for m in prompt.messages]
    assert texts[0].startswith("You are Aria.") and texts[1] == "Hi!", texts
    ok(label, "prompt chat_as_aria gives the persona's system prompt")


async def both_modes(connect, transport):
    """SDK 2.x: its default auto mode (server/discover, the stateless revision), then the legacy handshake.
    `connect(mode)` makes a `Client`."""
    for mode, version in (("auto", "2026-07-28"), ("legacy", "2025-11-25")):
        label = f"sdk2 {transport} {mode}"
        async with connect(mode) as client:
            assert client.protocol_version == version, client.protocol_version
            assert client.server_info.name == "persona-mcp", client.server_info
            ok(label, f"protocol {client.protocol_version}, server {client.server_info.name}")
            await exercise(client, label)
