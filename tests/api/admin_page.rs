//! The admin web page in a real browser: Debian's chromium, headless, driven over WebDriver by Debian's
//! chromedriver ([`support::browser`]) against a real server (admin listener + MCP listener, a fake LLM streaming
//! slowly enough that tokens visibly arrive one by one). Every step is screenshotted into `target/browser/`.

use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::browser::{ensure, free_port, Browser, Outcome};
use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::{install_log_buffer, test_settings, TestServer};

const TOKEN: &str = "browser-test-admin-token-0123456789";
const REPLY: &str = "The northern ships pass the lighthouse at dusk, and every keeper writes their names down.";
const BOT_USER: &str = "@nova-browser:localhost";
const BOT_SECRET: &str = "browser-bot-secret-77";

#[tokio::test(flavor = "multi_thread")]
async fn admin_page_works_in_chromium() {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some(REPLY.to_string()),
        token_delay: Duration::from_millis(60),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.admin.port = 0;
    // The page reaches the chat WebSocket at the configured `server.port`, so the test gives it a real one.
    settings.server.port = free_port();
    settings.admin.token = Some(TOKEN.to_string());
    settings.bots.executable = Some(env!("CARGO_BIN_EXE_persona-mcp").into());
    let server = TestServer::start_with(settings);
    install_log_buffer();
    let admin = format!("http://{}", server.admin_addr.expect("the admin listener runs"));
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    let mut b = Browser::start(&out).await.unwrap_or_else(|e| panic!("{}", e.0));
    let api = Api::new(&admin);

    b.step("login", async |b| {
        b.goto(&format!("{admin}/admin/")).await?;
        b.visible("#login").await?;
        b.fill("#login-token", "not-the-token-at-all").await?;
        b.click("#login-submit").await?;
        b.has_text("#login-error", "not accepted").await?;
        b.fill("#login-token", TOKEN).await?;
        b.click("#login-submit").await?;
        b.hidden("#login").await?;
        b.visible(&card("Aria")).await?;
        b.visible(&card("Kira")).await?;
        let url = b.client().current_url().await?;
        ensure(!url.as_str().contains(TOKEN), "the token appeared in the URL")?;
        let stored = b.js("return Object.values(sessionStorage);", vec![]).await?;
        ensure(
            stored.as_array().is_some_and(|s| s.contains(&json!(TOKEN))),
            "the token is not kept in sessionStorage",
        )
    })
    .await;

    let mut nova_id = String::new();
    b.step("create-persona-with-avatar", async |b| {
        b.click("#new-persona").await?;
        b.fill("#f-name", "Nova Browser").await?;
        b.fill(
            "#f-description",
            "A lighthouse keeper who collects stories from passing ships.",
        )
        .await?;
        b.fill("#f-model", "fake-model").await?;
        b.fill(
            "#f-system_prompt",
            "You are Nova, a lighthouse keeper. Stay in character.",
        )
        .await?;
        b.fill("#f-charisma", "14").await?;
        b.fill("#f-intelligence", "16").await?;
        b.fill("#f-social_rank", "keeper").await?;
        b.click("#traits-add").await?;
        b.fill("#traits-rows .pair:last-child .pair-key", "curious").await?;
        b.fill("#traits-rows .pair:last-child .pair-value", "88").await?;
        b.click("#topics-add").await?;
        b.fill("#topics-rows .pair:last-child .pair-key", "ships").await?;
        b.fill("#topics-rows .pair:last-child .pair-value", "90").await?;
        // The avatar goes in through the file input, as a file picked from disk.
        let avatar = dir.path().join("nova.png");
        std::fs::write(&avatar, png(96, [255, 170, 40], [200, 40, 120], &[]))?;
        b.pick_file("#f-avatar", &avatar).await?;
        b.click("#save-persona").await?;
        let img = format!("{} img.avatar-img", card("Nova Browser"));
        b.until(
            "the avatar to load at its real size",
            "const i = document.querySelector(arguments[0]); return !!i && i.complete && i.naturalWidth === 96;",
            vec![json!(img)],
        )
        .await?;
        let persona = api.persona("Nova%20Browser").await?;
        nova_id = persona["id"].as_str().unwrap_or_default().to_string();
        ensure(
            persona["description"]
                .as_str()
                .is_some_and(|d| d.contains("lighthouse")),
            format!("description not saved: {persona}"),
        )?;
        ensure(
            persona["personality_traits"]["curious"].as_f64() == Some(88.0),
            format!("trait not saved: {}", persona["personality_traits"]),
        )?;
        ensure(
            persona["topic_preferences"]["ships"].as_f64() == Some(90.0),
            format!("topic not saved: {}", persona["topic_preferences"]),
        )?;
        ensure(
            persona["charisma"].as_f64() == Some(14.0) && persona["intelligence"].as_f64() == Some(16.0),
            "charisma/intelligence not saved",
        )?;
        ensure(
            persona["model"] == "fake-model",
            format!("model not saved: {}", persona["model"]),
        )?;
        ensure(
            persona["avatar_url"].as_str().is_some_and(|u| !u.is_empty()),
            "no avatar_url after the upload",
        )
    })
    .await;

    b.step("import-png-card-by-drop", async |b| {
        let card_json = lyra_card();
        let chara = base64_std(card_json.to_string().as_bytes());
        let bytes = png(64, [30, 90, 200], [20, 200, 180], &[("chara", &chara)]);
        // The drop a person makes with a file from their desktop: a DataTransfer holding the PNG.
        b.js(
            "const bin = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
             const data = new DataTransfer();
             data.items.add(new File([bin], 'lyra.png', { type: 'image/png' }));
             const zone = document.querySelector('#card-drop');
             for (const type of ['dragover', 'drop']) {
               zone.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
             }
             return true;",
            vec![json!(base64_std(&bytes))],
        )
        .await?;
        b.visible(&card("Lyra Cardwright")).await?;
        let persona = api.persona("Lyra%20Cardwright").await?;
        ensure(
            persona["description"]
                .as_str()
                .is_some_and(|d| d.contains("cartographer")),
            format!("card description not imported: {persona}"),
        )?;
        // The editor shows the card's own fields.
        b.click_link_in(&card("Lyra Cardwright"), "Edit").await?;
        let greeting = b.value("#f-greeting").await?;
        ensure(
            greeting == card_json["data"]["first_mes"],
            format!("the card greeting is not shown in the editor: {greeting:?}"),
        )?;
        let tags = b.value("#f-tags").await?;
        ensure(
            tags == "cartography, browser-test",
            format!("the card tags are not shown in the editor: {tags:?}"),
        )?;
        b.click("#nav a[data-view=\"personas\"]").await?;
        b.visible(&card("Nova Browser")).await.map(drop)
    })
    .await;

    b.step("chat-streams", async |b| {
        b.click_link_in(&card("Nova Browser"), "Chat").await?;
        b.until(
            "the chat to open on Nova",
            "const s = document.querySelector('#chat-persona'); return !!s && s.value === arguments[0];",
            vec![json!(nova_id)],
        )
        .await?;
        // Every text the reply shows while it streams, as the person watching sees it.
        b.js(
            "window.__replyStates = [];
             const log = document.getElementById('chat-log');
             new MutationObserver(() => {
               const t = log.querySelector('.msg.persona .text');
               const s = window.__replyStates;
               if (t && t.textContent && s[s.length - 1] !== t.textContent) s.push(t.textContent);
             }).observe(log, { subtree: true, childList: true, characterData: true });
             return true;",
            vec![],
        )
        .await?;
        b.fill(
            "#chat-input",
            "Tell me about the lighthouse keeper and the northern ships",
        )
        .await?;
        b.click("#chat-send").await?;
        b.visible("#chat-log .msg.persona.streaming").await?;
        b.screenshot("chat-streaming-midway").await;
        b.visible("#chat-log .msg.persona.done").await?;
        let final_text = b.text("#chat-log .msg.persona .text").await?;
        ensure(
            final_text == REPLY,
            format!("the reply is {final_text:?}, expected {REPLY:?}"),
        )?;
        let states = b.js("return window.__replyStates;", vec![]).await?;
        let partial = states
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|s| s.len() < REPLY.len() && REPLY.starts_with(s))
            .count();
        ensure(
            partial >= 3,
            format!("the reply did not appear as it streamed: states {states}"),
        )
    })
    .await;

    b.step("memory-browser-finds-the-exchange", async |b| {
        b.click("#nav a[data-view=\"memories\"]").await?;
        b.visible("#mem-filters").await?;
        b.select_value("#mem-persona", &nova_id).await?;
        b.fill("#mem-q", "northern ships").await?;
        b.click("#mem-search").await?;
        let id = b
            .until(
                "a memory row holding the exchange",
                "const row = [...document.querySelectorAll('#mem-rows tr')]
                   .find(tr => tr.querySelector('td.content')?.textContent.includes('northern ships'));
                 return row ? row.dataset.id : null;",
                vec![],
            )
            .await?;
        let id = id.as_str().unwrap_or_default().to_string();
        // Editing visibility from the browser reaches the server.
        b.select_value(&format!("#mem-rows tr[data-id=\"{id}\"] select"), "shared")
            .await?;
        b.retry("the server to store the new visibility", || async {
            let memory = api.get(&format!("/memories/{id}")).await?;
            let memory = if memory["memory"].is_object() {
                &memory["memory"]
            } else {
                &memory
            };
            ensure(
                memory["visibility"] == "shared",
                format!("visibility is {}", memory["visibility"]),
            )
        })
        .await
    })
    .await;

    b.step("relationship-graph", async |b| {
        b.click("#nav a[data-view=\"graph\"]").await?;
        b.visible("svg#relationship-graph").await?;
        let nodes = b.count("svg#relationship-graph g.node").await?;
        ensure(
            nodes >= 4,
            format!("{nodes} persona nodes in the graph, expected at least 4"),
        )?;
        b.until(
            "an edge in the graph",
            "return !!document.querySelector('svg#relationship-graph g.edge text.edge-label');",
            vec![],
        )
        .await?;
        let label = b.text("svg#relationship-graph g.edge text.edge-label").await?;
        let (kind, strength) = label.rsplit_once(' ').unwrap_or_default();
        let well_formed = !kind.is_empty()
            && kind.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            && strength.len() == 4
            && strength.parse::<f64>().is_ok();
        ensure(well_formed, format!("edge label is not \"type strength\": {label:?}"))
    })
    .await;

    b.step("live-logs", async |b| {
        b.click("#nav a[data-view=\"logs\"]").await?;
        b.visible("#log-state.live").await?;
        let done_lines = "return [...document.querySelectorAll('#log-lines .log-line')]
                            .filter(l => l.textContent.includes('stream done')).length;";
        let before = b.js(done_lines, vec![]).await?.as_u64().unwrap_or(0);
        // A chat in a second tab makes the server log "stream done"; this tab must show it without a reload.
        let client = b.client();
        let logs_tab = client.window().await?;
        let tab = client.new_window(true).await?;
        client.switch_to_window(tab.handle).await?;
        b.goto(&format!("{admin}/admin/#chat/{nova_id}")).await?;
        b.fill("#login-token", TOKEN).await?;
        b.click("#login-submit").await?;
        b.fill("#chat-input", "One more story, please").await?;
        b.click("#chat-send").await?;
        b.visible("#chat-log .msg.persona.done").await?;
        client.close_window().await?;
        client.switch_to_window(logs_tab).await?;
        let more = done_lines.replace("length;", "length > arguments[0];");
        b.until("a live \"stream done\" log line", &more, vec![json!(before)])
            .await
            .map(drop)
    })
    .await;

    b.step("bot-controls", async |b| {
        b.click("#nav a[data-view=\"bots\"]").await?;
        b.visible("#bot-create").await?;
        // A homeserver that refuses connections: the bot's process starts, fails to reach it and backs off.
        b.select_label("#bot-persona", "Nova Browser").await?;
        b.fill("#bot-homeserver", "http://127.0.0.1:9").await?;
        b.fill("#bot-user", BOT_USER).await?;
        b.fill("#bot-password", BOT_SECRET).await?;
        b.select_value("#bot-mode", "all").await?;
        let enabled = b.visible("#bot-enabled").await?;
        if enabled.is_selected().await? {
            enabled.click().await?;
        }
        b.click("#bot-create-submit").await?;
        b.has_text("#bot-rows tr", BOT_USER).await?;
        let row = "#bot-rows tr[data-bot]";
        let status_is = |want: &'static [&'static str]| {
            let what = format!("the bot's status to be one of {want:?}");
            async move {
                b.until(
                    &what,
                    "const s = document.querySelector(arguments[0])?.dataset.status;
                     return arguments[1].includes(s) ? s : null;",
                    vec![json!(format!("{row} .bot-status .pill")), json!(want)],
                )
                .await
            }
        };
        status_is(&["stopped"]).await?;
        ensure(b.text(row).await?.contains("all"), "the reply mode is not shown")?;
        // A bot that has never logged in has no device yet: its encryption cell says so.
        let encryption = b.text(&format!("{row} .bot-encryption")).await?;
        ensure(
            encryption == "—",
            format!("encryption of a bot never run: {encryption:?}"),
        )?;
        b.click(&format!("{row} .bot-start")).await?;
        status_is(&["starting", "running", "backoff"]).await?;
        b.click(&format!("{row} .bot-logs")).await?;
        b.has_text("#bot-log .log-line", "supervisor").await?;
        let before = b.count("#bot-log .log-line").await?;
        b.click(&format!("{row} .bot-restart")).await?;
        // The restart is logged and arrives live in the open log.
        b.until(
            "the restart's log line",
            "return document.querySelectorAll('#bot-log .log-line').length > arguments[0];",
            vec![json!(before)],
        )
        .await?;
        b.click(&format!("{row} .bot-stop")).await?;
        status_is(&["stopped"]).await?;
        let status_text = b.text(&format!("{row} .bot-status .pill")).await?;
        ensure(
            status_text.starts_with("stopped"),
            format!("status after stop: {status_text}"),
        )?;
        let bots = api.get("/bots").await?;
        let bot = bots["bots"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["user_id"] == BOT_USER);
        ensure(
            bot.is_some_and(|x| x["status"] == "stopped" && x["reply_mode"] == "all"),
            format!("the bot as the API sees it: {bot:?}"),
        )?;
        ensure(
            !b.client().source().await?.contains(BOT_SECRET),
            "the bot's password is shown in the page",
        )?;
        b.click(&format!("{row} .bot-delete")).await?;
        b.retry("accept the delete confirmation", || async {
            Ok(b.client().accept_alert().await?)
        })
        .await?;
        b.until(
            "the bot's row to go",
            "return !document.querySelector(arguments[0]);",
            vec![json!(row)],
        )
        .await?;
        let bots = api.get("/bots").await?;
        ensure(
            !bots["bots"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|x| x["user_id"] == BOT_USER),
            "the bot was not deleted",
        )
    })
    .await;

    b.step("system-status", async |b| {
        b.click("#nav a[data-view=\"system\"]").await?;
        b.visible("#system-status table.kv").await?;
        let config = b.text("#system-config").await?;
        ensure(!config.contains(TOKEN), "the admin token is shown in the configuration")
    })
    .await;

    // Phone width: the same views must fit without sideways scrolling.
    b.set_viewport(390, 844)
        .await
        .unwrap_or_else(|e| panic!("phone viewport: {}", e.0));
    for view in ["personas", "chat", "memories", "graph", "logs", "bots"] {
        b.step(&format!("phone-{view}"), async |b| {
            b.goto(&format!("{admin}/admin/#{view}")).await?;
            b.visible(&format!("#view-{view}")).await?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let overflow = b
                .js(
                    "return document.documentElement.scrollWidth - window.innerWidth;",
                    vec![],
                )
                .await?;
            let width = b.js("return window.innerWidth;", vec![]).await?;
            ensure(width == 390, format!("the phone viewport is {width}px wide"))?;
            ensure(
                overflow.as_i64().is_some_and(|o| o <= 1),
                format!("the {view} view is {overflow}px wider than a phone screen"),
            )
        })
        .await;
    }

    b.close().await;
    server.stop().await;
}

/// The persona card in the list, by name.
fn card(name: &str) -> String {
    format!("#persona-list .persona[data-name=\"{name}\"]")
}

/// The admin REST API as the test reads it (with the token), beside the page.
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(admin: &str) -> Self {
        Api {
            http: reqwest::Client::new(),
            base: format!("{admin}/admin/api/v1"),
        }
    }

    async fn get(&self, path: &str) -> Outcome<Value> {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        ensure(status.is_success(), format!("{path}: HTTP {status} {body}"))?;
        Ok(body)
    }

    /// A persona as the API answers it (the object itself, whether or not it comes wrapped).
    async fn persona(&self, name: &str) -> Outcome<Value> {
        let mut p = self.get(&format!("/personas/{name}")).await?;
        Ok(if p["persona"].is_object() {
            p["persona"].take()
        } else {
            p
        })
    }
}

/// The V2 character card the drop imports.
fn lyra_card() -> Value {
    json!({
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {
            "name": "Lyra Cardwright",
            "description": "A cartographer who maps coastlines nobody else has seen.",
            "personality": "patient, precise, quietly funny",
            "scenario": "A harbour town at dawn.",
            "first_mes": "Ah, a visitor. Mind the wet ink.",
            "mes_example": "<START>\n{{user}}: Where are we?\n{{char}}: Off every map but mine.",
            "creator_notes": "Imported by the browser test.",
            "system_prompt": "",
            "post_history_instructions": "",
            "alternate_greetings": ["The tide is early today."],
            "tags": ["cartography", "browser-test"],
            "creator": "persona-mcp tests",
            "character_version": "1.0",
            "extensions": {},
        },
    })
}

/// A size×size RGB PNG: a diagonal gradient between two colours, with `tEXt` chunks.
fn png(size: u32, from: [u8; 3], to: [u8; 3], texts: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let mut encoder = png::Encoder::new(&mut out, size, size);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    for (key, text) in texts {
        encoder
            .add_text_chunk(key.to_string(), text.to_string())
            .expect("a tEXt chunk");
    }
    let mut writer = encoder.write_header().expect("a PNG header");
    let span = (2 * size - 2) as f32;
    let pixels: Vec<u8> = (0..size)
        .flat_map(|y| (0..size).map(move |x| (x + y) as f32 / span))
        .flat_map(|t| (0..3).map(move |c| (from[c] as f32 + (to[c] as f32 - from[c] as f32) * t).round() as u8))
        .collect();
    writer.write_image_data(&pixels).expect("PNG pixels");
    writer.finish().expect("a whole PNG");
    out.into_inner()
}

/// Standard base64, as a card's `chara` chunk and the page's `atob` want it.
fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
