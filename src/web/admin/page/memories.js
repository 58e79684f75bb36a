// The memory browser: filters (persona, type, visibility, importance range, text), cursor paging, inline edit of
// importance and visibility, delete and bulk delete.

import { all, del, get, patch, post } from "./api.js";
import { attempt, h, num, when } from "./dom.js";

const VISIBILITIES = ["private", "shared", "public"];

/** `#memories` or `#memories/<persona>`. */
export async function memoriesView(root, arg) {
  const personas = await all("/personas");
  const names = new Map(personas.map((p) => [p.id, p.name]));
  const f = {
    q: h("input", { type: "search", id: "mem-q", placeholder: "Search memories…", "aria-label": "Search" }),
    persona: h("select", { id: "mem-persona", "aria-label": "Persona" }, h("option", { value: "" }, "All personas"),
      personas.map((p) => h("option", { value: p.id, selected: arg && (arg === p.id || arg.toLowerCase() === p.name.toLowerCase()) }, p.name))),
    type: h("input", { type: "text", id: "mem-type", placeholder: "type", list: "mem-types", "aria-label": "Memory type", size: "10" }),
    visibility: h("select", { id: "mem-visibility", "aria-label": "Visibility" }, h("option", { value: "" }, "any visibility"),
      VISIBILITIES.map((v) => h("option", { value: v }, v))),
    min_importance: h("input", { type: "number", id: "mem-min", min: "0", max: "1", step: "0.05", placeholder: "min", "aria-label": "Minimum importance" }),
    max_importance: h("input", { type: "number", id: "mem-max", min: "0", max: "1", step: "0.05", placeholder: "max", "aria-label": "Maximum importance" }),
  };
  const types = h("datalist", { id: "mem-types" },
    ["user_input", "conversation", "observation", "reflection", "lore", "relationship", "emotional"].map((t) => h("option", { value: t })));
  const body = h("tbody", { id: "mem-rows" });
  const count = h("span", { class: "muted", id: "mem-count" });
  const more = h("button", { type: "button", class: "quiet", hidden: true }, "Load more");
  const bulk = h("button", { type: "button", class: "danger", id: "mem-bulk-delete", disabled: true }, "Delete selected");
  const checkAll = h("input", { type: "checkbox", "aria-label": "Select all" });
  let cursor = null;
  let shown = 0;

  const query = () => {
    const q = {};
    for (const [k, el] of Object.entries(f)) if (el.value.trim() !== "") q[k] = el.value.trim();
    return q;
  };
  const selected = () => [...body.querySelectorAll("input.pick:checked")].map((c) => c.value);
  const syncBulk = () => {
    const n = selected().length;
    bulk.disabled = n === 0;
    bulk.textContent = n ? `Delete selected (${n})` : "Delete selected";
  };

  async function load(reset) {
    if (reset) {
      cursor = null;
      shown = 0;
      body.replaceChildren();
      checkAll.checked = false;
    }
    const page = await attempt(() => get("/memories", { ...query(), limit: 50, cursor }));
    if (!page) return;
    const rows = page.items || page.memories || [];
    shown += rows.length;
    body.append(...rows.map(row));
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
    count.textContent = `${shown}${cursor ? "+" : ""} ${shown === 1 && !cursor ? "memory" : "memories"}`;
    if (!shown) body.append(h("tr", {}, h("td", { colspan: "7", class: "muted" }, "No memories match.")));
    syncBulk();
  }

  function row(m) {
    const mid = m.id || m.memory_id;
    const importance = h("input", { type: "number", min: "0", max: "1", step: "0.05", value: num(m.importance), class: "imp", "aria-label": "Importance" });
    importance.addEventListener("change", () =>
      attempt(() => patch(`/memories/${encodeURIComponent(mid)}`, { importance: Number(importance.value) }), "Importance saved"));
    const vis = h("select", { "aria-label": "Visibility" }, VISIBILITIES.map((v) => h("option", { value: v, selected: v === m.visibility }, v)));
    vis.addEventListener("change", () =>
      attempt(() => patch(`/memories/${encodeURIComponent(mid)}`, { visibility: vis.value }), "Visibility saved"));
    const tr = h(
      "tr",
      { dataset: { id: mid } },
      h("td", {}, h("input", { type: "checkbox", class: "pick", value: mid, "aria-label": "Select", onchange: syncBulk })),
      h("td", { class: "content" }, m.content, m.similarity !== undefined ? h("small", { class: "muted" }, ` · match ${num(m.similarity)}`) : null),
      h("td", { "data-label": "persona" }, names.get(m.persona_id) || m.persona_name || m.persona_id || "—"),
      h("td", { "data-label": "type" }, h("span", { class: "tag" }, m.memory_type)),
      h("td", { "data-label": "importance" }, importance, h("span", { class: "bar", style: `--v:${Number(m.importance) || 0}` })),
      h("td", { "data-label": "visibility" }, vis),
      h("td", { "data-label": "created" }, when(m.created_at),
        h("button", {
          type: "button", class: "quiet danger", title: "Delete", "aria-label": "Delete",
          onclick: async () => {
            if (await attempt(() => del(`/memories/${encodeURIComponent(mid)}`), "Memory deleted")) tr.remove();
          },
        }, "×")),
    );
    return tr;
  }

  checkAll.addEventListener("change", () => {
    for (const c of body.querySelectorAll("input.pick")) c.checked = checkAll.checked;
    syncBulk();
  });
  bulk.addEventListener("click", async () => {
    const ids = selected();
    if (!ids.length || !confirm(`Delete ${ids.length} memories?`)) return;
    if (await attempt(() => post("/memories/bulk_delete", { ids }), `Deleted ${ids.length} memories`)) load(true);
  });
  more.addEventListener("click", () => load(false));
  const form = h("form", { class: "filters", id: "mem-filters" }, f.q, f.persona, f.type, types, f.visibility, f.min_importance, f.max_importance,
    h("button", { type: "submit", id: "mem-search" }, "Search"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    load(true);
  });
  for (const el of [f.persona, f.visibility]) el.addEventListener("change", () => load(true));

  root.append(
    h("div", { class: "toolbar" }, h("h2", {}, "Memories"), count, bulk),
    form,
    h("div", { class: "table-wrap" }, h("table", { class: "memories" },
      h("thead", {}, h("tr", {}, h("th", {}, checkAll), h("th", {}, "Content"), h("th", {}, "Persona"), h("th", {}, "Type"),
        h("th", {}, "Importance"), h("th", {}, "Visibility"), h("th", {}, "Created"))),
      body)),
    more,
  );
  await load(true);
  return null;
}
