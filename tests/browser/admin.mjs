// Drives the admin page in Debian's chromium with playwright-core. Run by tests/api/admin_page.rs against a real
// server; exits non-zero at the first step that fails, leaving screenshots in OUT_DIR.
//
// Env: ADMIN_URL (http://127.0.0.1:PORT), ADMIN_TOKEN, EXPECTED_REPLY (the fake LLM's streamed reply), OUT_DIR.

import { mkdirSync, rmSync } from "node:fs";
import { deflateSync } from "node:zlib";
import { chromium } from "playwright-core";

const ADMIN_URL = need("ADMIN_URL");
const TOKEN = need("ADMIN_TOKEN");
const EXPECTED_REPLY = need("EXPECTED_REPLY");
const OUT_DIR = need("OUT_DIR");
const STEP_TIMEOUT = 20_000;

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

// ---- PNG files made here: a plain avatar, and a character card (tEXt "chara" = base64 of the V2 card JSON).

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A size×size RGB PNG: a diagonal gradient between two colours, with optional tEXt chunks. */
function png(size, [r1, g1, b1], [r2, g2, b2], texts = {}) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc(size * (size * 3 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 3 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const t = (x + y) / (2 * size - 2);
      const o = y * (size * 3 + 1) + 1 + x * 3;
      raw[o] = Math.round(r1 + (r2 - r1) * t);
      raw[o + 1] = Math.round(g1 + (g2 - g1) * t);
      raw[o + 2] = Math.round(b1 + (b2 - b1) * t);
    }
  }
  const text = Object.entries(texts).map(([k, v]) => chunk("tEXt", Buffer.from(`${k}\0${v}`, "latin1")));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    ...text,
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

const CARD = {
  spec: "chara_card_v2",
  spec_version: "2.0",
  data: {
    name: "Lyra Cardwright",
    description: "A cartographer who maps coastlines nobody else has seen.",
    personality: "patient, precise, quietly funny",
    scenario: "A harbour town at dawn.",
    first_mes: "Ah, a visitor. Mind the wet ink.",
    mes_example: "<START>\n{{user}}: Where are we?\n{{char}}: Off every map but mine.",
    creator_notes: "Imported by the browser test.",
    system_prompt: "",
    post_history_instructions: "",
    alternate_greetings: ["The tide is early today."],
    tags: ["cartography", "browser-test"],
    creator: "persona-mcp tests",
    character_version: "1.0",
    extensions: {},
  },
};

// ---- The run.

rmSync(OUT_DIR, { recursive: true, force: true });
mkdirSync(OUT_DIR, { recursive: true });
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await context.newPage();
page.setDefaultTimeout(STEP_TIMEOUT);
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(String(e)));
page.on("console", (m) => m.type() === "error" && console.error(`[page console] ${m.text()}`));

let stepNo = 0;
async function step(name, body) {
  stepNo += 1;
  const label = `${String(stepNo).padStart(2, "0")}-${name}`;
  const started = Date.now();
  try {
    await body();
    if (pageErrors.length) throw new Error(`uncaught error in the page: ${pageErrors.join("; ")}`);
    await page.screenshot({ path: `${OUT_DIR}/${label}.png` });
    console.log(`ok   ${label} (${Date.now() - started} ms)`);
  } catch (e) {
    await page.screenshot({ path: `${OUT_DIR}/${label}-FAILED.png` }).catch(() => {});
    console.error(`FAIL ${label}: ${e.stack || e}`);
    await browser.close();
    process.exit(1);
  }
}

async function api(path, init = {}) {
  const res = await fetch(`${ADMIN_URL}/admin/api/v1${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json", ...(init.headers || {}) },
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body;
}

function expect(cond, message) {
  if (!cond) throw new Error(message);
}

const card = (name) => page.locator(`#persona-list .persona[data-name="${name}"]`);
let novaId;

await step("login", async () => {
  await page.goto(`${ADMIN_URL}/admin/`);
  await page.locator("#login").waitFor({ state: "visible" });
  await page.fill("#login-token", "not-the-token-at-all");
  await page.click("#login-submit");
  await page.locator("#login-error").filter({ hasText: "not accepted" }).waitFor();
  await page.fill("#login-token", TOKEN);
  await page.click("#login-submit");
  await page.locator("#login").waitFor({ state: "hidden" });
  await card("Aria").waitFor();
  await card("Kira").waitFor();
  expect(!page.url().includes(TOKEN), "the token appeared in the URL");
  const stored = await page.evaluate(() => Object.values(sessionStorage));
  expect(stored.includes(TOKEN), "the token is not kept in sessionStorage");
});

await step("create-persona-with-avatar", async () => {
  await page.click("#new-persona");
  await page.fill("#f-name", "Nova Browser");
  await page.fill("#f-description", "A lighthouse keeper who collects stories from passing ships.");
  await page.fill("#f-model", "fake-model");
  await page.fill("#f-system_prompt", "You are Nova, a lighthouse keeper. Stay in character.");
  await page.fill("#f-charisma", "14");
  await page.fill("#f-intelligence", "16");
  await page.fill("#f-social_rank", "keeper");
  await page.click("#traits-add");
  await page.locator("#traits-rows .pair").last().locator(".pair-key").fill("curious");
  await page.locator("#traits-rows .pair").last().locator(".pair-value").fill("88");
  await page.click("#topics-add");
  await page.locator("#topics-rows .pair").last().locator(".pair-key").fill("ships");
  await page.locator("#topics-rows .pair").last().locator(".pair-value").fill("90");
  await page.setInputFiles("#f-avatar", { name: "nova.png", mimeType: "image/png", buffer: png(96, [255, 170, 40], [200, 40, 120]) });
  await page.click("#save-persona");
  const img = card("Nova Browser").locator("img.avatar-img");
  await img.waitFor();
  await page.waitForFunction((el) => el.complete && el.naturalWidth === 96, await img.elementHandle());
  const p = await api("/personas/Nova%20Browser");
  const persona = p.persona || p;
  novaId = persona.id;
  expect(persona.description.includes("lighthouse"), `description not saved: ${JSON.stringify(persona)}`);
  expect(persona.personality_traits.curious === 88, `trait not saved: ${JSON.stringify(persona.personality_traits)}`);
  expect(persona.topic_preferences.ships === 90, `topic not saved: ${JSON.stringify(persona.topic_preferences)}`);
  expect(persona.charisma === 14 && persona.intelligence === 16, "charisma/intelligence not saved");
  expect(persona.model === "fake-model", `model not saved: ${persona.model}`);
  expect(persona.avatar_url, "no avatar_url after the upload");
});

await step("import-png-card-by-drop", async () => {
  const bytes = png(64, [30, 90, 200], [20, 200, 180], { chara: Buffer.from(JSON.stringify(CARD)).toString("base64") });
  const dt = await page.evaluateHandle((b64) => {
    const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bin], "lyra.png", { type: "image/png" }));
    return data;
  }, bytes.toString("base64"));
  await page.dispatchEvent("#card-drop", "dragover", { dataTransfer: dt });
  await page.dispatchEvent("#card-drop", "drop", { dataTransfer: dt });
  await card("Lyra Cardwright").waitFor();
  const p = await api("/personas/Lyra%20Cardwright");
  const persona = p.persona || p;
  expect(persona.description.includes("cartographer"), `card description not imported: ${JSON.stringify(persona)}`);
  // The editor shows the card's own fields.
  await card("Lyra Cardwright").getByRole("link", { name: "Edit" }).click();
  expect((await page.inputValue("#f-greeting")) === CARD.data.first_mes, "the card greeting is not shown in the editor");
  expect((await page.inputValue("#f-tags")) === CARD.data.tags.join(", "), "the card tags are not shown in the editor");
  await page.click('#nav a[data-view="personas"]');
  await card("Nova Browser").waitFor();
});

await step("chat-streams", async () => {
  await card("Nova Browser").getByRole("link", { name: "Chat" }).click();
  await page.locator("#chat-persona").waitFor();
  expect((await page.locator("#chat-persona").inputValue()) === novaId, "the chat did not open on Nova");
  await page.evaluate(() => {
    window.__replyStates = [];
    const log = document.getElementById("chat-log");
    new MutationObserver(() => {
      const t = log.querySelector(".msg.persona .text");
      const s = window.__replyStates;
      if (t && t.textContent && s[s.length - 1] !== t.textContent) s.push(t.textContent);
    }).observe(log, { subtree: true, childList: true, characterData: true });
  });
  await page.fill("#chat-input", "Tell me about the lighthouse keeper and the northern ships");
  await page.click("#chat-send");
  await page.locator("#chat-log .msg.persona.streaming").waitFor();
  await page.screenshot({ path: `${OUT_DIR}/${String(stepNo).padStart(2, "0")}-chat-streaming.png` });
  await page.locator("#chat-log .msg.persona.done").waitFor();
  const states = await page.evaluate(() => window.__replyStates);
  const final = await page.locator("#chat-log .msg.persona .text").textContent();
  expect(final === EXPECTED_REPLY, `the reply is ${JSON.stringify(final)}, expected ${JSON.stringify(EXPECTED_REPLY)}`);
  const partial = states.filter((s) => s.length < EXPECTED_REPLY.length && EXPECTED_REPLY.startsWith(s));
  expect(partial.length >= 3, `the reply did not appear as it streamed: states ${JSON.stringify(states)}`);
});

await step("memory-browser-finds-the-exchange", async () => {
  await page.click('#nav a[data-view="memories"]');
  await page.locator("#mem-filters").waitFor();
  await page.selectOption("#mem-persona", novaId);
  await page.fill("#mem-q", "northern ships");
  await page.click("#mem-search");
  const hit = page.locator("#mem-rows tr td.content", { hasText: "northern ships" });
  await hit.first().waitFor();
  // Editing importance and visibility from the browser reaches the server.
  const row = page.locator("#mem-rows tr", { has: page.locator("td.content", { hasText: "northern ships" }) }).first();
  const mid = await row.getAttribute("data-id");
  await row.locator("select").selectOption("shared");
  await page.waitForFunction(
    async ([id, token]) => {
      const r = await fetch(`api/v1/memories/${id}`, { headers: { Authorization: `Bearer ${token}` } });
      const m = await r.json();
      return (m.memory || m).visibility === "shared";
    },
    [mid, TOKEN],
    { polling: 250 },
  );
});

await step("relationship-graph", async () => {
  await page.click('#nav a[data-view="graph"]');
  const graph = page.locator("svg#relationship-graph");
  await graph.waitFor();
  expect((await graph.locator("g.node").count()) >= 4, "fewer than 4 persona nodes in the graph");
  const edge = graph.locator("g.edge").first();
  await edge.waitFor();
  const label = await edge.locator("text.edge-label").textContent();
  expect(/^[a-z_]+ \d\.\d\d$/.test(label), `edge label is not "type strength": ${label}`);
});

await step("live-logs", async () => {
  await page.click('#nav a[data-view="logs"]');
  await page.locator("#log-state.live").waitFor();
  const done = () => page.locator("#log-lines .log-line", { hasText: "stream done" }).count();
  const before = await done();
  // A chat in a second tab makes the server log "stream done"; this tab must show it without a reload.
  const tab = await context.newPage();
  tab.setDefaultTimeout(STEP_TIMEOUT);
  await tab.goto(`${ADMIN_URL}/admin/#chat/${novaId}`);
  await tab.fill("#login-token", TOKEN);
  await tab.click("#login-submit");
  await tab.fill("#chat-input", "One more story, please");
  await tab.click("#chat-send");
  await tab.locator("#chat-log .msg.persona.done").waitFor();
  await tab.close();
  await page.waitForFunction(
    (n) => [...document.querySelectorAll("#log-lines .log-line")].filter((l) => l.textContent.includes("stream done")).length > n,
    before,
  );
  expect((await done()) > before, "no live log line arrived");
});

await step("bot-controls", async () => {
  await page.click('#nav a[data-view="bots"]');
  await page.locator("#bot-create").waitFor();
  // A homeserver that refuses connections: the bot's process starts, fails to reach it and backs off.
  await page.selectOption("#bot-persona", { label: "Nova Browser" });
  await page.fill("#bot-homeserver", "http://127.0.0.1:9");
  await page.fill("#bot-user", "@nova-browser:localhost");
  await page.fill("#bot-password", "browser-bot-secret-77");
  await page.selectOption("#bot-mode", "all");
  await page.uncheck("#bot-enabled");
  await page.click("#bot-create-submit");
  const row = page.locator("#bot-rows tr", { hasText: "@nova-browser:localhost" });
  await row.waitFor();
  const status = row.locator(".bot-status .pill");
  const waitStatus = async (want) => {
    await page.waitForFunction(
      ([sel, states]) => states.includes(document.querySelector(sel)?.dataset.status),
      ['#bot-rows tr[data-bot] .bot-status .pill', want],
    );
  };
  await waitStatus(["stopped"]);
  expect((await row.textContent()).includes("all"), "the reply mode is not shown");
  await row.locator(".bot-start").click();
  await waitStatus(["starting", "running", "backoff"]);
  await row.locator(".bot-logs").click();
  await page.locator("#bot-log .log-line", { hasText: "supervisor" }).first().waitFor();
  const before = await page.locator("#bot-log .log-line").count();
  await row.locator(".bot-restart").click();
  // The restart is logged and arrives live in the open log.
  await page.waitForFunction((n) => document.querySelectorAll("#bot-log .log-line").length > n, before);
  await row.locator(".bot-stop").click();
  await waitStatus(["stopped"]);
  const statusText = await status.textContent();
  expect(statusText.startsWith("stopped"), `status after stop: ${statusText}`);
  const bots = await api("/bots");
  const bot = bots.bots.find((b) => b.user_id === "@nova-browser:localhost");
  expect(bot && bot.status === "stopped" && bot.reply_mode === "all", `the bot as the API sees it: ${JSON.stringify(bot)}`);
  expect(!(await page.content()).includes("browser-bot-secret-77"), "the bot's password is shown in the page");
  page.once("dialog", (d) => d.accept());
  await row.locator(".bot-delete").click();
  await row.waitFor({ state: "detached" });
  expect(!(await api("/bots")).bots.some((b) => b.user_id === "@nova-browser:localhost"), "the bot was not deleted");
});

await step("system-status", async () => {
  await page.click('#nav a[data-view="system"]');
  await page.locator("#system-status table.kv").waitFor();
  const config = await page.locator("#system-config").textContent();
  expect(!config.includes(TOKEN), "the admin token is shown in the configuration");
});

// Phone width: the same views must fit without sideways scrolling.
await page.setViewportSize({ width: 390, height: 844 });
for (const view of ["personas", "chat", "memories", "graph", "logs", "bots"]) {
  await step(`phone-${view}`, async () => {
    await page.goto(`${ADMIN_URL}/admin/#${view}`);
    await page.locator(`#view-${view}`).waitFor();
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow <= 1, `the ${view} view is ${overflow}px wider than a phone screen`);
  });
}

await browser.close();
console.log("browser test passed");
