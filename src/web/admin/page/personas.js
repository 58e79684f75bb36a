// Personas: the list with avatars, character-card import (file drop) and export, and the editor (every card field,
// traits, topic preferences, model, system prompt, avatar upload, emotional state, pruning).

import { all, del, download, get, patch, post, put, request } from "./api.js";
import { attempt, avatar, forgetAvatar, h, kv, num, section, toast } from "./dom.js";

const id = (p) => encodeURIComponent(p.id || p.persona_id);

/** Card fields a persona keeps besides the core ones (`persona.card`, Character Card V2/V3 names). */
const CARD_TEXT = [
  ["greeting", "Greeting (first message)"],
  ["mes_example", "Example messages"],
  ["post_history_instructions", "Post-history instructions"],
  ["creator_notes", "Creator notes"],
];
const CARD_LINE = [
  ["creator", "Creator"],
  ["character_version", "Character version"],
];
const CARD_LIST = [
  ["tags", "Tags (comma separated)", ","],
  ["alternate_greetings", "Alternate greetings (one per line)", "\n"],
];

/** `#personas` (the list), `#personas/new` or `#personas/<id>` (the editor). */
export async function personasView(root, arg) {
  if (arg) return editor(root, arg === "new" ? null : arg);
  const list = h("div", { class: "cards", id: "persona-list" });
  const file = h("input", { type: "file", accept: ".png,.json,image/png,application/json", id: "card-file", hidden: true });
  const drop = h(
    "div",
    { class: "drop", id: "card-drop", tabindex: "0", role: "button", onclick: () => file.click() },
    h("strong", {}, "Import a character card"),
    h("span", {}, "Drop a V2/V3 card here (PNG or JSON), or click to choose one"),
  );
  const importFile = async (f) => {
    const form = new FormData();
    form.append("file", f, f.name);
    const persona = await attempt(() => post("/personas/import", form));
    if (persona) {
      toast(`Imported ${persona.name || (persona.persona && persona.persona.name) || "the card"}`);
      await refresh();
    }
  };
  file.addEventListener("change", () => file.files[0] && importFile(file.files[0]));
  drop.addEventListener("keydown", (e) => (e.key === "Enter" || e.key === " ") && file.click());
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) importFile(f);
  });

  async function refresh() {
    const personas = await all("/personas");
    list.replaceChildren(...personas.map(card));
    if (!personas.length) list.append(h("p", { class: "muted" }, "No personas yet."));
  }

  function card(p) {
    return h(
      "article",
      { class: "card persona", dataset: { name: p.name, id: p.id } },
      h("a", { class: "card-head", href: `#personas/${id(p)}` }, avatar(p, "lg"), h("h3", {}, p.name)),
      h("p", { class: "desc" }, p.description || ""),
      h(
        "div",
        { class: "row wrap" },
        h("a", { class: "button", href: `#chat/${id(p)}` }, "Chat"),
        h("a", { class: "button quiet", href: `#personas/${id(p)}` }, "Edit"),
        exportMenu(p),
      ),
    );
  }

  root.append(
    h("div", { class: "toolbar" }, h("h2", {}, "Personas"), h("a", { class: "button", href: "#personas/new", id: "new-persona" }, "New persona")),
    drop,
    file,
    list,
  );
  await refresh();
  return null;
}

function exportMenu(p) {
  const choice = h(
    "select",
    { "aria-label": `Export ${p.name}`, class: "export" },
    h("option", { value: "" }, "Export…"),
    h("option", { value: "json:v2" }, "Card V2 (JSON)"),
    h("option", { value: "json:v3" }, "Card V3 (JSON)"),
    h("option", { value: "png:v3" }, "Card (PNG, V2 + V3)"),
  );
  choice.addEventListener("change", async () => {
    const [format, spec] = choice.value.split(":");
    choice.value = "";
    if (!format) return;
    await attempt(() => download(`/personas/${id(p)}/card`, { format, spec }, `${p.name}.${format}`), "Exported");
  });
  return choice;
}

/** Key/value rows (traits: any value; topics: 0..100 sliders). */
function pairs(kind, obj, numeric) {
  const box = h("div", { class: "pairs", id: `${kind}-rows` });
  const add = (k = "", v = numeric ? 50 : "") => {
    const value = numeric
      ? h("input", { type: "number", min: "0", max: "100", step: "1", value: String(v), class: "pair-value", "aria-label": "value" })
      : h("input", { type: "text", value: String(v), class: "pair-value", "aria-label": "value" });
    const row = h(
      "div",
      { class: "pair" },
      h("input", { type: "text", value: k, class: "pair-key", placeholder: kind === "traits" ? "trait" : "topic", "aria-label": "name" }),
      value,
      h("button", { type: "button", class: "quiet", title: "Remove", onclick: () => row.remove() }, "×"),
    );
    box.append(row);
  };
  for (const [k, v] of Object.entries(obj || {})) add(k, v);
  const read = () => {
    const out = {};
    for (const row of box.querySelectorAll(".pair")) {
      const k = row.querySelector(".pair-key").value.trim();
      const raw = row.querySelector(".pair-value").value.trim();
      if (!k) continue;
      out[k] = raw !== "" && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
    }
    return out;
  };
  const addButton = h("button", { type: "button", class: "quiet", id: `${kind}-add`, onclick: () => add() }, "+ add");
  return { box: h("div", {}, box, addButton), read };
}

function field(label, input) {
  return h("label", { class: "field" }, h("span", {}, label), input);
}

async function editor(root, personaId) {
  const p = personaId ? unwrap(await get(`/personas/${encodeURIComponent(personaId)}`)) : {};
  const models = await get("/system/models").catch(() => null);
  const modelNames = (models && (models.available_models || models.models || models.items)) || [];

  const text = (name, value, attrs = {}) => h("input", { type: "text", name, id: `f-${name}`, value: value ?? "", ...attrs });
  const area = (name, value, rows = 3, readonly = false) =>
    h("textarea", { name, id: `f-${name}`, rows: String(rows), readonly }, value ?? "");
  const card = p.card || {};
  const number = (name, value, min, max) =>
    h("input", { type: "number", name, id: `f-${name}`, min: String(min), max: String(max), value: String(value ?? 10) });

  const traits = pairs("traits", p.personality_traits, false);
  const topics = pairs("topics", p.topic_preferences, true);
  const avatarInput = h("input", { type: "file", id: "f-avatar", accept: "image/png,image/jpeg,image/webp" });
  const preview = h("span", { class: "avatar-preview" }, p.id ? avatar(p, "xl") : avatar({ name: "?" }, "xl"));
  avatarInput.addEventListener("change", () => {
    const f = avatarInput.files[0];
    if (f) preview.replaceChildren(h("span", { class: "avatar xl" }, h("img", { src: URL.createObjectURL(f), alt: "", class: "avatar-img" })));
  });
  const modelList = h("datalist", { id: "model-names" }, modelNames.map((m) => h("option", { value: typeof m === "string" ? m : m.name })));

  const form = h(
    "form",
    { class: "editor", id: "persona-form" },
    h(
      "div",
      { class: "grid2" },
      section(
        "Identity",
        h("div", { class: "row" }, preview, field("Avatar (PNG, JPEG or WebP, ≤ 2 MiB)", avatarInput)),
        field("Name", text("name", p.name, { required: true, maxlength: "100" })),
        field("Description", area("description", p.description, 4)),
        field("Model", text("model", p.model, { list: "model-names", placeholder: "server default" })),
        modelList,
        field("System prompt", area("system_prompt", p.system_prompt, 5)),
        h(
          "div",
          { class: "row" },
          field("Charisma (1–20)", number("charisma", p.charisma, 1, 20)),
          field("Intelligence (1–20)", number("intelligence", p.intelligence, 1, 20)),
          field("Social rank", text("social_rank", p.social_rank ?? "commoner")),
        ),
      ),
      h(
        "div",
        {},
        section("Personality traits", traits.box),
        section("Topic preferences (0–100)", topics.box),
        section(
          "Character card",
          h("p", { class: "muted" }, "Kept from an imported card and written back on export; the API sets them only by import."),
          ...CARD_TEXT.map(([k, l]) => field(l, area(k, card[k], 3, true))),
          ...CARD_LIST.map(([k, l, sep]) => field(l, area(k, (card[k] || []).join(sep === "," ? ", " : "\n"), 2, true))),
          h("div", { class: "row" }, ...CARD_LINE.map(([k, l]) => field(l, text(k, card[k], { readonly: true })))),
        ),
      ),
    ),
    h(
      "div",
      { class: "toolbar sticky" },
      h("button", { type: "submit", id: "save-persona" }, personaId ? "Save" : "Create"),
      h("a", { class: "button quiet", href: "#personas" }, "Back"),
      personaId && h("a", { class: "button quiet", href: `#chat/${id(p)}` }, "Chat"),
      personaId && exportMenu(p),
      personaId && h("button", { type: "button", class: "danger", id: "delete-persona", onclick: () => remove(p) }, "Delete"),
    ),
  );

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    const body = {
      name: fd.get("name").trim(),
      description: fd.get("description"),
      model: fd.get("model").trim() || null,
      system_prompt: fd.get("system_prompt"),
      charisma: Number(fd.get("charisma")),
      intelligence: Number(fd.get("intelligence")),
      social_rank: fd.get("social_rank").trim() || "commoner",
      personality_traits: traits.read(),
      topic_preferences: topics.read(),
    };
    if (!body.model) delete body.model;
    const saved = await attempt(async () => {
      const answer = unwrap(personaId ? await patch(`/personas/${id(p)}`, body) : await post("/personas", body));
      const pid = answer.id || answer.persona_id;
      if (avatarInput.files[0]) {
        const up = new FormData();
        up.append("file", avatarInput.files[0], avatarInput.files[0].name);
        await request("PUT", `/personas/${encodeURIComponent(pid)}/avatar`, { body: up });
        forgetAvatar(pid);
      }
      return answer;
    });
    if (saved) {
      toast(personaId ? "Saved" : `Created ${saved.name}`);
      location.hash = "#personas";
    }
  });

  root.append(h("h2", {}, personaId ? `Edit ${p.name}` : "New persona"), form);
  if (personaId) root.append(h("div", { class: "grid2" }, await emotions(p), await pruning(p), stats(p)));
  return null;
}

function unwrap(answer) {
  return (answer && answer.persona) || answer;
}

async function remove(p) {
  if (!confirm(`Delete ${p.name} with its memories, relationships and conversations?`)) return;
  if (await attempt(() => del(`/personas/${id(p)}`), `Deleted ${p.name}`)) location.hash = "#personas";
}

const MOODS = [
  ["mood", -1, 1],
  ["energy_level", 0, 1],
  ["stress_level", 0, 1],
  ["curiosity", 0, 1],
  ["social_battery", 0, 1],
];

async function emotions(p) {
  const answer = await get(`/personas/${id(p)}/emotions`).catch(() => null);
  const state = (answer && (answer.emotional_state || answer)) || {};
  const inputs = {};
  const rows = MOODS.map(([k, min, max]) => {
    const out = h("output", {}, num(state[k]));
    inputs[k] = h("input", {
      type: "range", min: String(min), max: String(max), step: "0.01", value: String(state[k] ?? 0), "aria-label": k,
      oninput: (e) => (out.textContent = num(Number(e.target.value))),
    });
    return h("label", { class: "meter" }, h("span", {}, k.replace("_", " ")), inputs[k], out);
  });
  const save = h("button", {
    type: "button",
    onclick: () => {
      const body = Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, Number(el.value)]));
      attempt(() => put(`/personas/${id(p)}/emotions`, body), "Emotional state saved");
    },
  }, "Save state");
  return section("Emotional state", h("div", { id: "emotions" }, rows), h("p", { class: "muted" }, `Updated ${state.last_updated || "—"}`), save);
}

async function pruning(p) {
  const out = h("div", {});
  const preview = async () => {
    const r = await get(`/personas/${id(p)}/prune`).catch((e) => ({ error: e.message }));
    out.replaceChildren(kv(r.recommendations || r));
  };
  await preview();
  return section(
    "Memory pruning",
    out,
    h("div", { class: "row" },
      h("button", { type: "button", class: "quiet", onclick: preview }, "Preview"),
      h("button", {
        type: "button",
        class: "danger",
        onclick: async () => {
          if (!confirm(`Prune ${p.name}'s least important memories?`)) return;
          const r = await attempt(() => post(`/personas/${id(p)}/prune`, {}));
          if (r) out.replaceChildren(kv(r));
        },
      }, "Prune now")),
  );
}

function stats(p) {
  return section("Memory statistics", kv(p.memory_stats || {}));
}
