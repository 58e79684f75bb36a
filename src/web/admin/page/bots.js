// Matrix bots: the list with each bot's status (refreshed every two seconds), create, start, stop, restart and
// delete, and a bot's log: the recent tail, then each new line live over Server-Sent Events.

import { all, del, get, items, post, sse } from "./api.js";
import { attempt, h, section, when } from "./dom.js";

const MODES = ["mention", "all"];

/** A bot's status as a pill: backoff says when it tries again, failed says the homeserver's errcode. */
function statusPill(b) {
  let text = b.status;
  if (b.status === "backoff" && typeof b.next_start_in === "number") text += ` (${b.next_start_in.toFixed(0)} s)`;
  if (b.status === "failed" && b.errcode) text += ` (${b.errcode})`;
  const kind = b.status === "running" ? "live" : b.status === "failed" || b.status === "backoff" ? "error" : "";
  return h("span", { class: `pill ${kind}`, dataset: { status: b.status }, title: b.last_error || "" }, text);
}

/** A bot's end-to-end encryption: its crypto store's state, its device, and how many of its rooms are encrypted. */
function encryptionCell(b) {
  const e = b.encryption;
  if (!e) return h("td", { class: "bot-encryption muted" }, "—");
  const kind = e.store === "ok" || e.store === "new" ? "live" : "error";
  return h("td", { class: "bot-encryption" },
    h("span", { class: `pill ${kind}`, dataset: { store: e.store }, title: e.message || "" }, `store ${e.store}`),
    h("div", { class: "muted", title: `Ed25519 ${e.device_key}` }, `device ${e.device_id}`),
    h("div", { class: "muted" }, `${e.encrypted_rooms} of ${e.joined_rooms} rooms encrypted`),
    e.message ? h("div", { class: "muted" }, e.message) : null);
}

/** `#bots`. */
export async function botsView(root) {
  const personas = await all("/personas");
  const names = new Map(personas.map((p) => [p.id, p.name]));
  const rows = h("tbody", { id: "bot-rows" });
  const logTitle = h("h2", {}, "Bot log");
  const logLines = h("div", { class: "logs", id: "bot-log", role: "log" });
  const logBox = h("section", { class: "panel", id: "bot-log-panel", hidden: true }, logTitle, logLines);
  let follow = null;
  let timer = null;

  const form = {
    persona: h("select", { id: "bot-persona", "aria-label": "Persona", required: true },
      personas.map((p) => h("option", { value: p.id }, p.name))),
    homeserver: h("input", { type: "url", id: "bot-homeserver", placeholder: "https://matrix.example.org", required: true, "aria-label": "Homeserver" }),
    user_id: h("input", { type: "text", id: "bot-user", placeholder: "@name:example.org", required: true, "aria-label": "Matrix user id" }),
    password: h("input", { type: "password", id: "bot-password", placeholder: "password (write-only)", autocomplete: "new-password", "aria-label": "Password" }),
    reply_mode: h("select", { id: "bot-mode", "aria-label": "Reply mode" }, MODES.map((m) => h("option", { value: m }, m))),
    enabled: h("input", { type: "checkbox", id: "bot-enabled", checked: true }),
  };

  async function showLog(b) {
    if (follow) follow.abort();
    follow = new AbortController();
    const signal = follow.signal;
    logBox.hidden = false;
    logTitle.textContent = `Log of ${b.user_id}`;
    logLines.replaceChildren();
    const push = (text) => {
      logLines.append(h("div", { class: "log-line" }, h("span", { class: "message" }, text)));
      while (logLines.childElementCount > 1000) logLines.firstElementChild.remove();
      logLines.scrollTop = logLines.scrollHeight;
    };
    const tail = await attempt(() => get(`/bots/${b.bot_id}/logs`, { lines: 200 }));
    for (const l of items(tail)) push(String(l));
    sse(`/bots/${b.bot_id}/logs/stream`, {}, (ev) => {
      if (ev.event === "lagged") return push("… some lines were skipped");
      let text = ev.data;
      try {
        text = JSON.parse(ev.data);
      } catch {
        // a plain line
      }
      push(String(text));
    }, signal).catch(() => {});
  }

  const act = (b, what) => async () => {
    const r = await attempt(() => post(`/bots/${b.bot_id}/${what}`, {}), `${what}: ${b.user_id}`);
    if (r) refresh();
  };

  function row(b) {
    return h("tr", { dataset: { bot: b.bot_id } },
      h("td", {}, names.get(b.persona_id) || b.persona_id),
      h("td", {}, b.user_id, h("div", { class: "muted" }, b.homeserver)),
      h("td", {}, b.reply_mode),
      h("td", { class: "bot-status" }, statusPill(b), b.last_error ? h("div", { class: "muted" }, b.last_error) : null),
      encryptionCell(b),
      h("td", {}, b.pid ?? "—", h("div", { class: "muted" }, `restarts ${b.restarts ?? 0}`)),
      h("td", { class: "muted" }, when(b.started_at)),
      h("td", { class: "row wrap" },
        h("button", { type: "button", class: "quiet bot-start", onclick: act(b, "start") }, "Start"),
        h("button", { type: "button", class: "quiet bot-stop", onclick: act(b, "stop") }, "Stop"),
        h("button", { type: "button", class: "quiet bot-restart", onclick: act(b, "restart") }, "Restart"),
        h("button", { type: "button", class: "quiet bot-logs", onclick: () => showLog(b) }, "Logs"),
        h("button", {
          type: "button",
          class: "danger bot-delete",
          onclick: async () => {
            if (!confirm(`Delete the bot ${b.user_id}?`)) return;
            if (await attempt(() => del(`/bots/${b.bot_id}`), "bot deleted")) refresh();
          },
        }, "Delete")));
  }

  async function refresh() {
    const list = await get("/bots").catch(() => null);
    if (!list) return;
    const bots = list.bots || [];
    rows.replaceChildren(...bots.map(row));
    if (!bots.length) rows.append(h("tr", {}, h("td", { colspan: "8", class: "muted" }, "No bots yet.")));
  }

  const create = h("form", {
    id: "bot-create",
    class: "row wrap",
    onsubmit: async (ev) => {
      ev.preventDefault();
      const body = {
        persona_id: form.persona.value,
        homeserver: form.homeserver.value.trim(),
        user_id: form.user_id.value.trim(),
        reply_mode: form.reply_mode.value,
        enabled: form.enabled.checked,
      };
      if (form.password.value) body.password = form.password.value;
      const made = await attempt(() => post("/bots", body), "bot created");
      if (made) {
        form.password.value = "";
        refresh();
      }
    },
  }, form.persona, form.homeserver, form.user_id, form.password, form.reply_mode,
  h("label", {}, form.enabled, " start now"), h("button", { type: "submit", id: "bot-create-submit" }, "Create bot"));

  root.append(
    h("div", { class: "toolbar" }, h("h2", {}, "Matrix bots")),
    section("New bot", create),
    h("div", { class: "table-wrap" }, h("table", { id: "bot-table" },
      h("thead", {}, h("tr", {}, ["Persona", "Matrix user", "Replies", "Status", "Encryption", "Process", "Started", ""].map((t) => h("th", {}, t)))),
      rows)),
    logBox,
  );
  await refresh();
  timer = setInterval(refresh, 2000);
  return () => {
    clearInterval(timer);
    if (follow) follow.abort();
  };
}
