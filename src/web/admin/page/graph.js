// The relationship graph: personas as nodes on a circle, relationships as edges whose width is their strength,
// colour their type, and label "type strength". A table below lists the same edges.

import { all, get, items } from "./api.js";
import { h, hue, num, svg } from "./dom.js";

const TYPE_COLOURS = {
  stranger: "#9ca3af",
  acquaintance: "#60a5fa",
  friend: "#34d399",
  close_friend: "#10b981",
  best_friend: "#059669",
  romantic: "#f472b6",
  rival: "#f59e0b",
  enemy: "#ef4444",
  mentor: "#a78bfa",
  family: "#8b5cf6",
};

/** The two ends, type and strength (0..1) of a relationship as the API answers it. */
function edgeOf(r) {
  const a = r.persona1_id || r.persona_id || r.a;
  const b = r.persona2_id || r.other_persona_id || r.b;
  let strength = r.relationship_strength ?? r.strength;
  if (typeof strength !== "number") {
    const dims = ["affinity", "trust", "respect", "intimacy"].map((k) => Number(r[k]) || 0);
    strength = dims.reduce((x, y) => x + y, 0) / 4;
  }
  return { a, b, type: r.relationship_type || r.type || "unknown", strength, raw: r };
}

/** `#graph`. */
export async function graphView(root) {
  const personas = await all("/personas");
  const edges = [];
  const seen = new Set();
  for (const r of items(await get("/relationships"))) {
    const e = edgeOf(r);
    const key = [e.a, e.b].sort().join("|");
    if (e.a && e.b && !seen.has(key)) {
      seen.add(key);
      edges.push(e);
    }
  }
  const byId = new Map(personas.map((p) => [p.id, p]));
  const narrow = root.clientWidth < 600;
  const W = narrow ? 400 : 720;
  const H = narrow ? 420 : 520;
  const R = Math.min(W, H) / 2 - 70;
  const pos = new Map(
    personas.map((p, i) => {
      const t = (2 * Math.PI * i) / Math.max(personas.length, 1) - Math.PI / 2;
      return [p.id, { x: W / 2 + R * Math.cos(t), y: H / 2 + R * Math.sin(t) }];
    }),
  );
  const lines = edges.filter((e) => pos.has(e.a) && pos.has(e.b)).map((e) => {
    const p = pos.get(e.a);
    const q = pos.get(e.b);
    const colour = TYPE_COLOURS[e.type] || "#6366f1";
    const label = `${e.type} ${num(e.strength)}`;
    return svg(
      "g",
      { class: "edge", "data-type": e.type, "data-a": e.a, "data-b": e.b },
      svg("title", {}, `${byId.get(e.a)?.name} — ${byId.get(e.b)?.name}: ${label}`),
      svg("line", { x1: p.x, y1: p.y, x2: q.x, y2: q.y, stroke: colour, "stroke-width": String(2 + 10 * Math.max(0, Math.min(1, e.strength))), "stroke-linecap": "round", opacity: "0.8" }),
      svg("text", { x: (p.x + q.x) / 2, y: (p.y + q.y) / 2 - 8, class: "edge-label", "text-anchor": "middle" }, label),
    );
  });
  const nodes = personas.map((p) => {
    const { x, y } = pos.get(p.id);
    const initials = p.name.split(/\s+/).map((w) => w[0]).join("").slice(0, 2).toUpperCase();
    const node = svg(
      "g",
      { class: "node", "data-id": p.id, transform: `translate(${x} ${y})` },
      svg("title", {}, p.name),
      svg("circle", { r: "26", class: "node-circle" }),
      svg("text", { class: "node-initials", "text-anchor": "middle", dy: "6" }, initials),
      svg("text", { class: "node-name", "text-anchor": "middle", y: "46" }, p.name),
    );
    node.style.setProperty("--hue", String(hue(p.name)));
    return node;
  });
  const graph = svg("svg", { viewBox: `0 0 ${W} ${H}`, id: "relationship-graph", role: "img", "aria-label": "Relationship graph" }, ...lines, ...nodes);
  graph.addEventListener("click", (ev) => {
    const node = ev.target.closest && ev.target.closest(".node");
    if (node) location.hash = `#personas/${encodeURIComponent(node.dataset.id)}`;
  });
  const rows = edges.map((e) =>
    h("tr", {},
      h("td", {}, byId.get(e.a)?.name || e.a),
      h("td", {}, byId.get(e.b)?.name || e.b),
      h("td", {}, h("span", { class: "tag", style: `--tag:${TYPE_COLOURS[e.type] || "#6366f1"}` }, e.type)),
      h("td", {}, num(e.strength)),
      h("td", {}, ["affinity", "trust", "respect", "intimacy"].map((k) => `${k[0].toUpperCase()} ${num(e.raw[k])}`).join(" · ")),
      h("td", {}, e.raw.interaction_count ?? "—")),
  );
  const legend = h("div", { class: "legend" }, Object.entries(TYPE_COLOURS).map(([t, c]) => h("span", { class: "tag", style: `--tag:${c}` }, t)));
  root.append(
    h("div", { class: "toolbar" }, h("h2", {}, "Relationships"), h("span", { class: "muted" }, `${personas.length} personas · ${edges.length} relationships`)),
    h("section", { class: "panel graph" }, graph, legend),
    h("div", { class: "table-wrap" }, h("table", { id: "relationship-table" },
      h("thead", {}, h("tr", {}, ["Persona", "Persona", "Type", "Strength", "Dimensions", "Interactions"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: "6", class: "muted" }, "No relationships yet."))))),
  );
  return null;
}
