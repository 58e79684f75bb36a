// System: status, models, metrics summary, configuration (secrets redacted by the server), memory decay control.

import { get, post } from "./api.js";
import { attempt, h, kv, section } from "./dom.js";

/** `#system`. */
export async function systemView(root) {
  const load = (path) => get(path).catch((e) => ({ error: e.message }));
  const [status, models, metrics, config, decay] = await Promise.all(
    ["/system/status", "/system/models", "/system/metrics", "/system/config", "/decay"].map(load),
  );
  const healthy = status && (status.health || status.system_status);
  const decayBox = h("div", {}, kv(decay.decay_statistics || decay));
  const decayAction = (path, label) =>
    h("button", {
      type: "button",
      class: "quiet",
      onclick: async () => {
        const r = await attempt(() => post(path, {}), label);
        if (r) decayBox.replaceChildren(kv(r));
      },
    }, label);
  const pre = h("pre", { class: "config", id: "system-config" }, JSON.stringify(config, null, 2));
  root.append(
    h("div", { class: "toolbar" }, h("h2", {}, "System"), h("span", { class: `pill ${healthy === "healthy" || healthy === "operational" ? "live" : ""}`, id: "system-health" }, String(healthy || "unknown"))),
    h("div", { class: "grid2" },
      section("Status", h("div", { id: "system-status" }, kv(status))),
      section("Models", kv(models)),
      section("Metrics", kv(metrics)),
      section("Memory decay", decayBox, h("div", { class: "row wrap" },
        decayAction("/decay/start", "Start decay"), decayAction("/decay/stop", "Stop decay"), decayAction("/decay/force", "Run one cycle")))),
    section("Configuration (secrets redacted)", pre),
  );
  return null;
}
