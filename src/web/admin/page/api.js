// The REST client: every call carries the admin token as a bearer header (never in a URL). The token lives in
// sessionStorage, so it is gone when the tab closes. Cross-site request forgery cannot ride on it: a browser never
// adds it to a request by itself, as it would a cookie.

const BASE = new URL("api/v1", new URL(".", document.baseURI)).pathname;
const KEY = "persona-mcp.admin.token";

/** The stored token, or null. */
export function token() {
  return sessionStorage.getItem(KEY);
}

/** Stores the token for this tab. */
export function setToken(t) {
  sessionStorage.setItem(KEY, t);
}

/** Forgets the token. */
export function clearToken() {
  sessionStorage.removeItem(KEY);
}

/** An API error: HTTP status plus the server's `{error: {code, message, details}}`. */
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code;
    this.details = e.details;
  }
}

let onUnauthorized = () => {};

/** Called whenever the server answers 401 (the token is missing or wrong). */
export function whenUnauthorized(f) {
  onUnauthorized = f;
}

function url(path, query) {
  const u = new URL(BASE + path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, v);
  }
  return u.pathname + u.search;
}

/** Sends a request; `body` is JSON unless it is FormData. Answers the parsed JSON (or the Response for `raw`). */
export async function request(method, path, { query, body, raw, signal } = {}) {
  const headers = { Authorization: `Bearer ${token() || ""}` };
  let payload;
  if (body instanceof FormData || body instanceof Blob) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(url(path, query), { method, headers, body: payload, signal, cache: "no-store" });
  if (!res.ok) {
    let parsed = null;
    try {
      parsed = await res.json();
    } catch {
      // Not JSON: the status alone tells.
    }
    if (res.status === 401) onUnauthorized();
    throw new ApiError(res.status, parsed);
  }
  if (raw) return res;
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path, query) => request("GET", path, { query });
export const post = (path, body, query) => request("POST", path, { body, query });
export const patch = (path, body) => request("PATCH", path, { body });
export const put = (path, body) => request("PUT", path, { body });
export const del = (path, body) => request("DELETE", path, { body });

/** The list inside a list answer: `{items}` (the API's paging shape) or a bare array. */
export function items(answer) {
  if (Array.isArray(answer)) return answer;
  if (!answer || typeof answer !== "object") return [];
  for (const k of ["items", "personas", "memories", "relationships", "conversations", "lines", "models"]) {
    if (Array.isArray(answer[k])) return answer[k];
  }
  return [];
}

/** Every page of a paged list (`limit` + `cursor` → `{items, next_cursor}`), up to `max` items. */
export async function all(path, query = {}, max = 1000) {
  const out = [];
  let cursor;
  do {
    const page = await get(path, { ...query, limit: 100, cursor });
    out.push(...items(page));
    cursor = page && page.next_cursor;
  } while (cursor && out.length < max);
  return out;
}

/** An object URL for a binary the API serves behind the token (an avatar), or null when there is none. */
export async function blobUrl(path) {
  try {
    const res = await request("GET", path, { raw: true });
    return URL.createObjectURL(await res.blob());
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/** Downloads an API answer as a file. */
export async function download(path, query, fallbackName) {
  const res = await request("GET", path, { query, raw: true });
  const disposition = res.headers.get("content-disposition") || "";
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const name = m ? decodeURIComponent(m[1]) : fallbackName;
  const a = document.createElement("a");
  a.href = URL.createObjectURL(await res.blob());
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  return name;
}

/**
 * Reads a Server-Sent Events stream with fetch (EventSource cannot send the Authorization header) and calls
 * `onEvent({event, data})` for each event. Ends when `signal` aborts or the server closes the stream.
 */
export async function sse(path, query, onEvent, signal) {
  const res = await request("GET", path, { query, raw: true, signal });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let end;
    while ((end = buf.search(/\r?\n\r?\n/)) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end).replace(/^\r?\n\r?\n/, "");
      const ev = { event: "message", data: "" };
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(":")) continue;
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "data") data.push(val);
        else if (field === "event") ev.event = val;
        else if (field === "id") ev.id = val;
      }
      if (data.length) {
        ev.data = data.join("\n");
        onEvent(ev);
      }
    }
  }
}
