// The page's entry: asks for the token once, then shows one view per `#hash`.

import { clearToken, get, setToken, token, whenUnauthorized } from "./api.js";
import { h } from "./dom.js";
import { personasView } from "./personas.js";
import { chatView } from "./chat.js";
import { memoriesView } from "./memories.js";
import { graphView } from "./graph.js";
import { conversationsView } from "./conversations.js";
import { logsView } from "./logs.js";
import { systemView } from "./system.js";
import { botsView } from "./bots.js";

const VIEWS = {
  personas: personasView,
  chat: chatView,
  memories: memoriesView,
  graph: graphView,
  conversations: conversationsView,
  logs: logsView,
  bots: botsView,
  system: systemView,
};

const main = document.getElementById("main");
const login = document.getElementById("login");
let teardown = null;

function askToken(message) {
  const err = document.getElementById("login-error");
  err.hidden = !message;
  err.textContent = message || "";
  document.getElementById("login-token").value = "";
  document.getElementById("logout").hidden = true;
  if (!login.open) login.showModal();
}

document.getElementById("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  setToken(document.getElementById("login-token").value.trim());
  try {
    await get("/system/status");
  } catch (e) {
    clearToken();
    askToken(e.status === 401 ? "That token was not accepted." : `The server did not answer: ${e.message}`);
    return;
  }
  login.close();
  show();
});

login.addEventListener("cancel", (ev) => ev.preventDefault());

document.getElementById("logout").addEventListener("click", () => {
  clearToken();
  if (teardown) teardown();
  teardown = null;
  main.replaceChildren();
  askToken();
});

whenUnauthorized(() => {
  clearToken();
  askToken("The token was refused; sign in again.");
});

/** Renders the view named by the hash (default: personas); a view may answer a function that stops it. */
async function show() {
  if (!token()) return askToken();
  document.getElementById("logout").hidden = false;
  const [name, arg] = decodeURIComponent(location.hash.slice(1)).split("/");
  const view = VIEWS[name] ? name : "personas";
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", a.dataset.view === view);
    if (a.dataset.view === view) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (teardown) teardown();
  teardown = null;
  const root = h("div", { class: `view view-${view}`, id: `view-${view}` });
  main.replaceChildren(root);
  try {
    teardown = (await VIEWS[view](root, arg)) || null;
  } catch (e) {
    root.append(h("p", { class: "error" }, `Could not load: ${e.message}`));
  }
}

window.addEventListener("hashchange", show);
show();
