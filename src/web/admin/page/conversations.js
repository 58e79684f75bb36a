// Conversations (chats with users and persona-to-persona dialogues) and their transcripts.

import { all, get, items } from "./api.js";
import { attempt, h, when } from "./dom.js";

/** `#conversations` or `#conversations/<cid>`. */
export async function conversationsView(root, arg) {
  const personas = await all("/personas");
  const names = new Map(personas.map((p) => [p.id, p.name]));
  const name = (id) => names.get(id) || id || "—";
  const persona = h("select", { id: "conv-persona", "aria-label": "Persona" }, h("option", { value: "" }, "All personas"),
    personas.map((p) => h("option", { value: p.id }, p.name)));
  const kind = h("select", { id: "conv-kind", "aria-label": "Kind" },
    h("option", { value: "" }, "chats and dialogues"), h("option", { value: "chat" }, "chats"), h("option", { value: "dialogue" }, "dialogues"));
  const list = h("ul", { class: "list", id: "conv-list" });
  const transcript = h("div", { class: "panel transcript-view", id: "conv-transcript" }, h("p", { class: "muted" }, "Pick a conversation."));

  async function refresh() {
    const convs = await attempt(() => all("/conversations", { persona: persona.value, kind: kind.value }, 300));
    if (!convs) return;
    list.replaceChildren(...convs.map((c) => {
      const cid = c.id || c.conversation_id;
      const who = (c.participants || [c.persona_id, c.persona1_id, c.persona2_id].filter(Boolean)).map((p) => name(typeof p === "object" ? p.id : p));
      return h("li", {}, h("a", { href: `#conversations/${encodeURIComponent(cid)}`, class: cid === arg ? "active" : "" },
        h("strong", {}, who.join(" ↔ ") || cid),
        h("span", { class: "tag" }, c.kind || (c.participants && c.participants.length === 2 ? "dialogue" : "chat")),
        h("small", { class: "muted" }, [c.topic, c.turn_count !== undefined && `${c.turn_count} turns`, c.channel, c.summary]
          .filter(Boolean).join(" · "))));
    }));
    if (!convs.length) list.append(h("li", { class: "muted" }, "No conversations."));
  }

  async function open(cid) {
    const c = await attempt(() => get(`/conversations/${encodeURIComponent(cid)}`));
    if (!c) return;
    const conv = c.conversation || c;
    const messages = items(c.messages ? { items: c.messages } : conv.messages || c.turns || []);
    transcript.replaceChildren(
      h("h3", {}, conv.topic || `Conversation ${cid}`),
      h("p", { class: "muted" }, [conv.kind, conv.summary].filter(Boolean).join(" · ")),
      ...messages.map((m) => {
        const isUser = m.role === "user";
        const speaker = m.speaker_id || m.persona_id || conv.persona_id;
        return h("div", { class: `msg ${isUser ? "user" : "persona"}` },
          h("div", { class: "meta" }, `${isUser ? m.sender || "user" : name(speaker)} · ${when(m.created_at || m.timestamp)}`),
          m.content);
      }),
    );
    if (!messages.length) transcript.append(h("p", { class: "muted" }, "No messages."));
  }

  persona.addEventListener("change", refresh);
  kind.addEventListener("change", refresh);
  root.append(
    h("div", { class: "toolbar" }, h("h2", {}, "Conversations"), persona, kind),
    h("div", { class: "split" }, h("section", { class: "panel" }, list), transcript),
  );
  await refresh();
  if (arg) await open(arg);
  return null;
}
