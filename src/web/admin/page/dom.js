// Small DOM helpers shared by the views: element building (text only, never HTML strings from data), notices,
// avatars, formatting.

import { blobUrl } from "./api.js";

/** `h("div", {class: "x", onclick: f}, child, …)`: children are nodes or text; null/false are skipped. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "style") el.style.cssText = v; // CSSOM: allowed under the page's style-src 'self'
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** An SVG element. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let toastTimer;

/** A short notice at the bottom of the page; errors stay longer. */
export function toast(message, isError = false) {
  const t = document.getElementById("toast");
  t.textContent = message;
  t.className = isError ? "error" : "";
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), isError ? 8000 : 3000);
}

/** Runs an async action and shows its error as a notice instead of losing it. */
export async function attempt(action, done) {
  try {
    const r = await action();
    if (done) toast(done);
    return r;
  } catch (e) {
    toast(e.message || String(e), true);
    return undefined;
  }
}

const avatars = new Map();

/** Forgets a persona's cached avatar (after an upload). */
export function forgetAvatar(id) {
  avatars.delete(id);
}

/** An avatar image for a persona: the uploaded one (fetched with the token), else its initials. */
export function avatar(persona, size = "") {
  const initials = (persona.name || "?").split(/\s+/).map((w) => w[0]).join("").slice(0, 2).toUpperCase();
  const box = h("span", { class: `avatar ${size}`, "aria-hidden": "true" }, initials);
  box.style.setProperty("--hue", String(hue(persona.name || "")));
  if (persona.avatar_url) {
    if (!avatars.has(persona.id)) avatars.set(persona.id, blobUrl(`/personas/${encodeURIComponent(persona.id)}/avatar`));
    avatars.get(persona.id).then((src) => {
      if (!src) return;
      box.textContent = "";
      box.append(h("img", { src, alt: "", class: "avatar-img" }));
    }, () => {});
  }
  return box;
}

/** A stable hue (0..359) for a name: the colour of its avatar and graph node. */
export function hue(s) {
  let x = 0;
  for (const c of s) x = (x * 31 + c.codePointAt(0)) % 360;
  return x;
}

/** A date as local time, or "—". */
export function when(v) {
  if (!v) return "—";
  const d = new Date(typeof v === "number" ? v * 1000 : v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleString();
}

/** A number with `digits` decimals, or "—". */
export function num(v, digits = 2) {
  return typeof v === "number" ? v.toFixed(digits) : v === undefined || v === null ? "—" : String(v);
}

/** A titled section. */
export function section(title, ...children) {
  return h("section", { class: "panel" }, h("h2", {}, title), ...children);
}

/** A key/value table of an object's scalar fields (nested objects as JSON). */
export function kv(obj) {
  const rows = Object.entries(obj || {}).map(([k, v]) =>
    h("tr", {}, h("th", {}, k), h("td", {}, typeof v === "object" && v !== null ? JSON.stringify(v) : String(v))),
  );
  return h("table", { class: "kv" }, h("tbody", {}, rows));
}
