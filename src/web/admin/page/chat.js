// Chat with a persona: `persona.chat_stream` over the WebSocket JSON-RPC endpoint on the MCP port, each
// `stream_chunk` appended to the reply as it arrives.

import { all, get } from "./api.js";
import { attempt, avatar, h } from "./dom.js";

/** The MCP WebSocket URL: the configured MCP port on the host this page came from. */
async function mcpUrl() {
  const cfg = await get("/system/config").catch(() => null);
  const server = cfg && (cfg.server || (cfg.config && cfg.config.server));
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const port = server && server.port ? server.port : location.port;
  const host = location.hostname.includes(":") ? `[${location.hostname}]` : location.hostname;
  return `${scheme}//${host}:${port}/mcp`;
}

/** One WebSocket JSON-RPC connection; `call` answers every frame for a request id to `onFrame` until it ends. */
class Rpc {
  constructor(url) {
    this.url = url;
    this.next = 1;
    this.handlers = new Map();
  }

  open() {
    if (this.ws && this.ws.readyState <= 1) return this.ready;
    this.ws = new WebSocket(this.url);
    this.ready = new Promise((ok, fail) => {
      this.ws.addEventListener("open", ok, { once: true });
      this.ws.addEventListener("error", () => fail(new Error(`cannot reach ${this.url}`)), { once: true });
    });
    this.ws.addEventListener("message", (e) => {
      const frame = JSON.parse(e.data);
      const handler = this.handlers.get(frame.id);
      if (handler) handler(frame);
    });
    this.ws.addEventListener("close", () => {
      for (const handler of this.handlers.values()) handler({ error: { message: "connection closed" } });
      this.handlers.clear();
    });
    return this.ready;
  }

  async call(method, params, onFrame) {
    await this.open();
    const id = `admin-${this.next++}`;
    this.handlers.set(id, (frame) => {
      if (onFrame(frame) === "done") this.handlers.delete(id);
    });
    this.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
  }

  close() {
    if (this.ws) this.ws.close();
  }
}

/** `#chat` or `#chat/<persona>`. */
export async function chatView(root, arg) {
  const personas = await all("/personas");
  const rpc = new Rpc(await mcpUrl());
  const pick = h(
    "select",
    { id: "chat-persona", "aria-label": "Persona" },
    personas.map((p) => h("option", { value: p.id, selected: arg && (p.id === arg || p.name.toLowerCase() === arg.toLowerCase()) }, p.name)),
  );
  const head = h("div", { class: "chat-head" });
  const log = h("div", { class: "transcript", id: "chat-log" });
  const input = h("textarea", { id: "chat-input", rows: "2", placeholder: "Say something…", "aria-label": "Message" });
  const send = h("button", { type: "submit", id: "chat-send" }, "Send");
  const stop = h("button", { type: "button", class: "quiet", id: "chat-stop", hidden: true }, "Stop");
  let streamId = null;

  const showHead = () => {
    const p = personas.find((x) => x.id === pick.value);
    head.replaceChildren(...(p ? [avatar(p, "lg"), h("div", {}, h("strong", {}, p.name), h("p", { class: "muted" }, p.description || ""))] : []));
  };
  pick.addEventListener("change", () => {
    showHead();
    log.replaceChildren();
  });
  showHead();

  stop.addEventListener("click", () => streamId && rpc.call("persona.chat_cancel", { stream_id: streamId }, () => "done"));

  const form = h("form", { class: "chat-form", id: "chat-form" }, input, h("div", { class: "col" }, send, stop));
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const message = input.value.trim();
    if (!message || !pick.value) return;
    input.value = "";
    log.append(h("div", { class: "msg user" }, message));
    const text = h("span", { class: "text" });
    const meta = h("div", { class: "meta" }, "…");
    const reply = h("div", { class: "msg persona streaming", "aria-busy": "true" }, text, meta);
    log.append(reply);
    log.scrollTop = log.scrollHeight;
    send.disabled = true;
    stop.hidden = false;
    const finish = (cls, note) => {
      reply.classList.remove("streaming");
      reply.classList.add(cls);
      reply.removeAttribute("aria-busy");
      meta.textContent = note;
      send.disabled = false;
      stop.hidden = true;
      streamId = null;
      return "done";
    };
    attempt(async () => {
      await rpc.call("persona.chat_stream", { persona_id: pick.value, message }, (frame) => {
        if (frame.error) return finish("failed", frame.error.message || "failed");
        const r = frame.result || {};
        const data = r.data || {};
        switch (r.event_type) {
          case "stream_start":
            streamId = r.stream_id;
            return null;
          case "stream_chunk":
            text.textContent += data.chunk ?? r.chunk ?? "";
            log.scrollTop = log.scrollHeight;
            return null;
          case "stream_complete":
            text.textContent = data.full_response ?? r.full_response ?? text.textContent;
            return finish("done", `${data.tokens_used ?? r.tokens_used ?? "?"} tokens · ${Number(data.processing_time ?? r.processing_time ?? 0).toFixed(2)} s`);
          case "stream_cancelled":
            return finish("cancelled", "cancelled");
          default:
            return r.event_type ? null : finish("done", "");
        }
      });
      return true;
    }).then((sent) => sent || finish("failed", "could not reach the chat endpoint"));
  });

  root.append(
    h("div", { class: "toolbar" }, h("h2", {}, "Chat"), pick),
    h("section", { class: "panel chat" }, head, log, form),
  );
  input.focus();
  return () => rpc.close();
}
