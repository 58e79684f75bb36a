// Live server logs: the recent tail, then each new line as it arrives over Server-Sent Events (read with fetch so
// the bearer header can be sent), with level and target filters.

import { get, items, sse } from "./api.js";
import { h } from "./dom.js";

const LEVELS = ["", "error", "warn", "info", "debug", "trace"];

function line(entry) {
  let e = entry;
  if (typeof e === "string") {
    try {
      e = JSON.parse(e);
    } catch {
      e = { message: entry };
    }
  }
  const level = String(e.level || "").toLowerCase();
  const fields = e.fields && typeof e.fields === "object" ? { ...e.fields } : {};
  const message = e.message ?? fields.message ?? "";
  delete fields.message;
  const extra = typeof e.fields === "string"
    ? e.fields
    : Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
  return h("div", { class: `log-line lvl-${level}` },
    h("time", {}, (e.timestamp || e.time || "").replace("T", " ").replace(/\.\d+Z?$/, "")),
    h("span", { class: "lvl" }, level.toUpperCase()),
    h("span", { class: "target" }, e.target || ""),
    h("span", { class: "message" }, `${message}${extra ? `  ${extra}` : ""}`));
}

/** `#logs`. */
export async function logsView(root) {
  const level = h("select", { id: "log-level", "aria-label": "Level" }, LEVELS.map((l) => h("option", { value: l }, l || "any level")));
  const target = h("input", { type: "text", id: "log-target", placeholder: "target (e.g. persona_mcp::web)", "aria-label": "Target" });
  const pause = h("button", { type: "button", class: "quiet", id: "log-pause" }, "Pause");
  const state = h("span", { class: "pill", id: "log-state" }, "connecting");
  const out = h("div", { class: "logs", id: "log-lines", role: "log" });
  let controller = null;
  let paused = false;

  const push = (node) => {
    const stick = out.scrollTop + out.clientHeight >= out.scrollHeight - 30;
    out.append(node);
    while (out.childElementCount > 2000) out.firstElementChild.remove();
    if (stick) out.scrollTop = out.scrollHeight;
  };

  async function start() {
    if (controller) controller.abort();
    controller = new AbortController();
    const signal = controller.signal;
    const query = { level: level.value, target: target.value.trim() };
    out.replaceChildren();
    try {
      const tail = await get("/logs", { lines: 200, ...query });
      for (const l of items(tail)) push(line(l));
    } catch (e) {
      push(h("div", { class: "log-line lvl-error" }, `tail failed: ${e.message}`));
    }
    state.textContent = "live";
    state.className = "pill live";
    const onEvent = (ev) => {
      if (paused) return;
      if (ev.event === "lagged") push(h("div", { class: "log-line lvl-warn" }, "… some lines were skipped (the page fell behind)"));
      else push(line(ev.data));
    };
    sse("/logs/stream", query, onEvent, signal).then(
      () => {
        if (!signal.aborted) {
          state.textContent = "ended";
          state.className = "pill";
        }
      },
      (e) => {
        if (signal.aborted) return;
        state.textContent = `disconnected: ${e.message}`;
        state.className = "pill error";
      },
    );
  }

  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume" : "Pause";
  });
  level.addEventListener("change", start);
  target.addEventListener("change", start);
  root.append(h("div", { class: "toolbar" }, h("h2", {}, "Logs"), state, level, target, pause), out);
  await start();
  return () => controller && controller.abort();
}
