//! Matrix bots against a real Synapse (see `support::synapse`): the supervisor starts `persona-mcp bot`
//! children that log in, join on invite, answer by streaming into an edited message, ignore each other, survive
//! kill -9 and server restarts without answering twice, fail cleanly on bad credentials, die with a killed
//! server, answer a thread in that thread, and never show their secrets.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::fake_llm::{FakeLlm, FakeLlmConfig};
use crate::support::synapse::{self, Homeserver, Human, OwnSynapse};
use persona_mcp::config::Settings;

use crate::support::{test_settings, TestServer, WsClient};

pub(crate) const REPLY: &str = "Hello from the fake model, streaming word by word into the room for everyone";
pub(crate) const HUMAN_PW: &str = "human-pass-4711";
pub(crate) const ARIA_PW: &str = "aria-secret-pass-0815";
const KIRA_PW: &str = "kira-secret-pass-2342";

pub(crate) fn tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// Settings for a server whose bots run as the real `persona-mcp` binary, against a fake LLM streaming `REPLY`
/// slowly enough (about 1.5 s) for the bot to post the first chunk and edit it; the data directory is `dir`.
pub(crate) fn bot_settings() -> (FakeLlm, Settings, tempfile::TempDir) {
    let llm = FakeLlm::start(FakeLlmConfig {
        reply: Some(REPLY.into()),
        token_delay: Duration::from_millis(110),
        ..FakeLlmConfig::default()
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = test_settings(&llm.url(), dir.path());
    settings.bots.executable = Some(env!("CARGO_BIN_EXE_persona-mcp").into());
    (llm, settings, dir)
}

/// A server started with [`bot_settings`].
fn bot_server() -> (FakeLlm, TestServer, tempfile::TempDir) {
    let (llm, settings, dir) = bot_settings();
    (llm, TestServer::start_with(settings), dir)
}

pub(crate) async fn wait_bot(c: &mut WsClient, id: &Value, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let b = c.result("bot.get", json!({ "bot_id": id })).await;
        if ok(&b) {
            return b;
        }
        if Instant::now() > deadline {
            let logs = c.result("bot.logs", json!({ "bot_id": id, "lines": 1000 })).await;
            panic!("bot never {what}: {b}\nlogs: {:#}", logs["lines"]);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) fn status_is(status: &'static str) -> impl Fn(&Value) -> bool {
    move |b| b["status"] == status
}

/// One reply of a bot: the message it posted and its edits, in order.
pub(crate) struct Answer {
    pub(crate) original: Value,
    pub(crate) edits: Vec<Value>,
}

impl Answer {
    pub(crate) fn final_body(&self) -> &str {
        match self.edits.last() {
            Some(e) => e["content"]["m.new_content"]["body"].as_str().unwrap_or(""),
            None => self.original["content"]["body"].as_str().unwrap_or(""),
        }
    }
}

pub(crate) fn answers(events: &[Value], sender: &str) -> Vec<Answer> {
    let mine: Vec<&Value> = events.iter().filter(|e| e["sender"] == sender).collect();
    mine.iter()
        .filter(|e| e["content"]["m.relates_to"]["rel_type"] != "m.replace")
        .map(|o| Answer {
            original: (*o).clone(),
            edits: mine
                .iter()
                .filter(|e| e["content"]["m.relates_to"]["event_id"] == o["event_id"])
                .map(|e| (*e).clone())
                .collect(),
        })
        .collect()
}

/// Waits until `sender` has posted `n` complete replies in the room; answers them.
async fn wait_answers(human: &Human, room: &str, sender: &str, n: usize) -> Vec<Answer> {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let a = answers(&human.messages(room).await, sender);
        if a.len() >= n && a.iter().all(|a| a.final_body() == REPLY) {
            return a;
        }
        assert!(
            Instant::now() < deadline,
            "{sender} has {} of {n} complete replies",
            a.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Lets any unwanted reply arrive, then counts `sender`'s replies.
async fn settled_count(human: &Human, room: &str, sender: &str) -> usize {
    tokio::time::sleep(Duration::from_millis(3000)).await;
    answers(&human.messages(room).await, sender).len()
}

pub(crate) async fn wait_joined(human: &Human, room: &str, users: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let joined = human.joined(room).await;
        if users.iter().all(|u| joined.iter().any(|j| j == u)) {
            return;
        }
        assert!(Instant::now() < deadline, "not joined: {users:?} in {joined:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn process_alive(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

#[tokio::test]
async fn bots_answer_in_rooms_stream_edits_ignore_each_other_and_survive_kill() {
    let synapse = synapse::shared().await;
    let t = tag();
    let (alice, aria, kira) = (format!("alice{t}"), format!("aria{t}"), format!("kira{t}"));
    let ids = synapse
        .register(&[(&alice, HUMAN_PW), (&aria, ARIA_PW), (&kira, KIRA_PW)])
        .await;
    let (aria_id, kira_id) = (ids[1].clone(), ids[2].clone());
    let (_llm, server, _dir) = bot_server();
    let mut c = server.client().await;
    let mut answers_seen: Vec<Value> = Vec::new();

    // Aria answers when named; Kira (created for the other seeded persona) answers everything.
    let created = c
        .result(
            "bot.create",
            json!({"persona_id": "Aria", "homeserver": synapse.url, "user_id": aria_id, "password": ARIA_PW,
                   "reply_mode": "mention", "enabled": false}),
        )
        .await;
    assert_eq!(created["status"], "stopped", "{created}");
    assert_eq!(created["reply_mode"], "mention");
    let aria_bot = created["bot_id"].clone();
    let started = c.result("bot.start", json!({ "bot_id": aria_bot })).await;
    answers_seen.push(started.clone());
    assert!(
        started["status"] == "starting" || started["status"] == "running",
        "{started}"
    );
    let running = wait_bot(&mut c, &aria_bot, "running", status_is("running")).await;
    assert!(running["pid"].as_u64().is_some(), "{running}");
    let kira_bot = c
        .result(
            "bot.create",
            json!({"persona_id": "Kira", "homeserver": synapse.url, "user_id": kira_id, "password": KIRA_PW,
                   "reply_mode": "all"}),
        )
        .await["bot_id"]
        .clone();
    wait_bot(&mut c, &kira_bot, "running", status_is("running")).await;

    // Invited by a user of their homeserver, both join.
    let human = Human::login(synapse, &alice, HUMAN_PW).await;
    let room = human.create_room(&[&aria_id, &kira_id]).await;
    wait_joined(&human, &room, &[&aria_id, &kira_id]).await;

    // Named: a streamed reply, posted with the first chunk, edited at most once a second, ending with the whole.
    human.send(&room, "@aria hello").await;
    let aria_answers = wait_answers(&human, &room, &aria_id, 1).await;
    let first = &aria_answers[0];
    let posted = first.original["content"]["body"].as_str().unwrap();
    assert!(
        REPLY.starts_with(posted) && posted != REPLY,
        "first chunk posted: {posted:?}"
    );
    let last = first.edits.last().expect("the reply was edited");
    assert_eq!(last["content"]["m.new_content"]["body"], REPLY);
    assert_eq!(last["content"]["body"], format!("* {REPLY}"));
    let stamps: Vec<i64> = std::iter::once(&first.original)
        .chain(&first.edits)
        .map(|e| e["origin_server_ts"].as_i64().unwrap())
        .collect();
    for pair in stamps[..stamps.len() - 1].windows(2) {
        assert!(pair[1] - pair[0] >= 900, "edits at most once a second: {stamps:?}");
    }
    wait_answers(&human, &room, &kira_id, 1).await;

    // Not named in a group room: Kira (all) answers, Aria (mention) does not; neither answers the other.
    human.send(&room, "what a lovely day it is").await;
    wait_answers(&human, &room, &kira_id, 2).await;
    assert_eq!(
        settled_count(&human, &room, &aria_id).await,
        1,
        "mention mode stays quiet"
    );
    assert_eq!(
        answers(&human.messages(&room).await, &kira_id).len(),
        2,
        "Kira ignores Aria"
    );

    // In a direct chat (a room of two), mention mode answers everything.
    let dm = human.create_room(&[&aria_id]).await;
    wait_joined(&human, &dm, &[&aria_id]).await;
    human.send(&dm, "are you there").await;
    wait_answers(&human, &dm, &aria_id, 1).await;

    // Both in `all` mode: one reply each to a human, none to each other.
    let updated = c
        .result("bot.update", json!({ "bot_id": aria_bot, "reply_mode": "all" }))
        .await;
    answers_seen.push(updated.clone());
    assert_eq!(updated["reply_mode"], "all");
    wait_bot(&mut c, &aria_bot, "running again", status_is("running")).await;
    human.send(&room, "tell me something").await;
    wait_answers(&human, &room, &aria_id, 2).await;
    wait_answers(&human, &room, &kira_id, 3).await;
    assert_eq!(settled_count(&human, &room, &aria_id).await, 2, "Aria answered once");
    assert_eq!(
        answers(&human.messages(&room).await, &kira_id).len(),
        3,
        "Kira answered once"
    );

    // kill -9: the supervisor restarts it; it answers a new message and no old one again.
    let before = c.result("bot.get", json!({ "bot_id": aria_bot })).await;
    let old_pid = before["pid"].as_u64().expect("pid");
    let killed = std::process::Command::new("kill")
        .args(["-9", &old_pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let back = wait_bot(&mut c, &aria_bot, "restarted", |b| {
        b["status"] == "running" && b["restarts"].as_u64() >= Some(1) && b["pid"].as_u64() != Some(old_pid)
    })
    .await;
    answers_seen.push(back.clone());
    human.send(&room, "welcome back").await;
    wait_answers(&human, &room, &aria_id, 3).await;
    assert_eq!(
        settled_count(&human, &room, &aria_id).await,
        3,
        "nothing answered twice"
    );

    // Secrets: not on the child's command line or in its environment, not in any answer or log line.
    let kira_view = c.result("bot.get", json!({ "bot_id": kira_bot })).await;
    let kira_pid = kira_view["pid"].as_u64().expect("kira runs");
    for file in ["cmdline", "environ"] {
        let raw = std::fs::read(format!("/proc/{kira_pid}/{file}")).expect("proc readable");
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains(KIRA_PW), "password in the child's {file}");
    }
    answers_seen.push(kira_view);
    answers_seen.push(c.result("bot.list", json!({})).await);
    for id in [&aria_bot, &kira_bot] {
        let logs = c.result("bot.logs", json!({ "bot_id": id, "lines": 1000 })).await;
        let lines = logs["lines"].as_array().expect("lines").clone();
        assert!(
            lines.iter().any(|l| l.as_str().unwrap().contains("logged in")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.as_str().unwrap().contains("joined on invite")),
            "{lines:?}"
        );
        answers_seen.push(logs);
    }
    let everything = serde_json::to_string(&answers_seen).unwrap();
    for secret in [ARIA_PW, KIRA_PW, "syt_"] {
        assert!(!everything.contains(secret), "{secret} leaked: {everything}");
    }
    let metrics = reqwest::get(server.http_url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let answered = metrics
        .lines()
        .find_map(|l| l.strip_prefix("persona_mcp_bot_messages_answered_total "))
        .and_then(|v| v.parse::<u64>().ok())
        .expect("answered counter");
    assert!(answered >= 7, "{answered}");
    assert!(
        metrics.contains("persona_mcp_bot_restarts_total 1"),
        "one restart counted"
    );
    assert!(metrics.contains("persona_mcp_bot_reply_latency_seconds_count"));

    // bot.stop ends the process within 10 s; bot.delete stops and forgets.
    let pid = back["pid"].as_u64().unwrap();
    let asked = Instant::now();
    let stopped = c.result("bot.stop", json!({ "bot_id": aria_bot })).await;
    assert!(asked.elapsed() < Duration::from_secs(10), "{:?}", asked.elapsed());
    assert_eq!(stopped["status"], "stopped");
    assert!(stopped["pid"].is_null());
    assert!(!process_alive(pid), "bot process {pid} still there");
    c.result("bot.delete", json!({ "bot_id": kira_bot })).await;
    assert!(!process_alive(kira_pid), "deleted bot's process {kira_pid} still there");
    let e = c.error("bot.get", json!({ "bot_id": kira_bot })).await;
    assert_eq!(e["code"], -32009);

    // Deleting a persona stops its running bot's process and deletes the bot.
    c.result("bot.start", json!({ "bot_id": aria_bot })).await;
    let running = wait_bot(&mut c, &aria_bot, "running for the delete", status_is("running")).await;
    let pid = running["pid"].as_u64().expect("pid");
    let asked = Instant::now();
    c.result("persona.delete", json!({ "persona_id": "Aria" })).await;
    assert!(asked.elapsed() < Duration::from_secs(12), "{:?}", asked.elapsed());
    assert!(
        !process_alive(pid),
        "the deleted persona's bot process {pid} still there"
    );
    let e = c.error("bot.get", json!({ "bot_id": aria_bot })).await;
    assert_eq!(e["code"], -32009);
    let left = c.result("bot.list", json!({})).await;
    assert!(!left.to_string().contains(aria_bot.as_str().unwrap()), "{left}");
    server.stop().await;
}

/// The history (user and assistant turns, not the system prompt) of the first model request that answered
/// `message`.
pub(crate) fn history_of(llm: &FakeLlm, message: &str) -> Vec<String> {
    let turns = |r: &Value| -> Vec<String> {
        r["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["role"] != "system")
            .filter_map(|m| m["content"].as_str().map(str::to_string))
            .collect()
    };
    llm.requests()
        .iter()
        .map(turns)
        .find(|t| t.iter().any(|m| m == message))
        .unwrap_or_else(|| panic!("no model request for {message:?}"))
}

#[tokio::test]
async fn a_thread_is_answered_in_the_thread_and_keeps_a_conversation_of_its_own() {
    let synapse = synapse::shared().await;
    let t = tag();
    let (alice, aria) = (format!("alice{t}"), format!("aria{t}"));
    let ids = synapse.register(&[(&alice, HUMAN_PW), (&aria, ARIA_PW)]).await;
    let aria_id = ids[1].clone();
    let (llm, server, _dir) = bot_server();
    let mut c = server.client().await;
    let bot = c
        .result(
            "bot.create",
            json!({"persona_id": "Aria", "homeserver": synapse.url, "user_id": aria_id, "password": ARIA_PW,
                   "reply_mode": "mention"}),
        )
        .await["bot_id"]
        .clone();
    wait_bot(&mut c, &bot, "running", status_is("running")).await;
    let human = Human::login(synapse, &alice, HUMAN_PW).await;
    let room = human.create_room(&[&aria_id]).await;
    wait_joined(&human, &room, &[&aria_id]).await;

    // The main timeline: answered there.
    let apples = "@aria the main timeline speaks of apples";
    let root = human.send(&room, apples).await;
    let a = wait_answers(&human, &room, &aria_id, 1).await;
    assert!(a[0].original["content"]["m.relates_to"].is_null(), "{}", a[0].original);

    // In a thread on that message: answered in the thread, as a reply to the message (the fallback for clients
    // without threads), streamed into edits of that reply.
    let pears = "@aria in the thread we speak of pears";
    let asked = human.send_in_thread(&room, &root, pears).await;
    let a = wait_answers(&human, &room, &aria_id, 2).await;
    let relation = &a[1].original["content"]["m.relates_to"];
    assert_eq!(relation["rel_type"], "m.thread", "{}", a[1].original);
    assert_eq!(relation["event_id"], root.as_str());
    assert_eq!(relation["is_falling_back"], true);
    assert_eq!(relation["m.in_reply_to"]["event_id"], asked.as_str());
    assert!(!a[1].edits.is_empty(), "the threaded reply was streamed into edits");
    assert!(a[1]
        .edits
        .iter()
        .all(|e| e["content"]["m.relates_to"]["rel_type"] == "m.replace"
            && e["content"]["m.new_content"]["m.relates_to"].is_null()));
    let seen = history_of(&llm, pears);
    assert!(
        !seen.iter().any(|m| m == apples),
        "the thread does not see the main timeline: {seen:?}"
    );

    // The thread goes on with its own history; the main timeline with its own.
    let still = "@aria still in the thread";
    human.send_in_thread(&room, &root, still).await;
    let a = wait_answers(&human, &room, &aria_id, 3).await;
    assert_eq!(a[2].original["content"]["m.relates_to"]["event_id"], root.as_str());
    let seen = history_of(&llm, still);
    assert!(seen.iter().any(|m| m == pears), "the thread resumes: {seen:?}");
    assert!(!seen.iter().any(|m| m == apples), "{seen:?}");
    let back = "@aria back in the main timeline";
    human.send(&room, back).await;
    let a = wait_answers(&human, &room, &aria_id, 4).await;
    assert!(a[3].original["content"]["m.relates_to"].is_null(), "{}", a[3].original);
    let seen = history_of(&llm, back);
    assert!(seen.iter().any(|m| m == apples), "the main timeline resumes: {seen:?}");
    assert!(!seen.iter().any(|m| m == pears), "{seen:?}");
    server.stop().await;
}

#[tokio::test]
async fn bad_credentials_fail_with_growing_retries_and_an_unreachable_homeserver_backs_off() {
    let synapse = synapse::shared().await;
    let t = tag();
    let user = format!("wrongpw{t}");
    let ids = synapse.register(&[(&user, "the-right-password")]).await;
    let (_llm, server, _dir) = bot_server();
    let mut c = server.client().await;

    let bot = c
        .result(
            "bot.create",
            json!({"persona_id": "Aria", "homeserver": synapse.url, "user_id": ids[0], "password": "a-wrong-password"}),
        )
        .await["bot_id"]
        .clone();
    let failed = wait_bot(&mut c, &bot, "failed", status_is("failed")).await;
    let first_failure = Instant::now();
    assert_eq!(failed["errcode"], "M_FORBIDDEN", "{failed}");
    assert!(failed["last_error"].is_string(), "{failed}");
    assert!(failed["pid"].is_null());
    let wait = failed["next_start_in"].as_f64().expect("retry time shown");
    assert!(wait > 0.0 && wait <= 1.0, "{failed}");
    // Tried again ever more rarely: the second retry waits 2 s, so no tight loop.
    let later = wait_bot(&mut c, &bot, "failed twice", |b| {
        b["status"] == "failed" && b["restarts"].as_u64() >= Some(2)
    })
    .await;
    assert!(first_failure.elapsed() >= Duration::from_millis(900), "{later}");
    assert!(
        later["next_start_in"].as_f64().unwrap() > 1.0,
        "the delay doubles: {later}"
    );
    assert_eq!(later["errcode"], "M_FORBIDDEN", "{later}");
    let logs = c.result("bot.logs", json!({ "bot_id": bot })).await;
    let everything = format!("{later}{logs}");
    assert!(!everything.contains("a-wrong-password"), "{everything}");

    // Nothing listens there: restarted with a growing delay, visible in the status.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let ghost = c
        .result(
            "bot.create",
            json!({"persona_id": "Kira", "homeserver": format!("http://127.0.0.1:{port}"),
                   "user_id": format!("@ghost{t}:localhost"), "access_token": "some-token"}),
        )
        .await["bot_id"]
        .clone();
    let first = wait_bot(&mut c, &ghost, "in backoff", status_is("backoff")).await;
    let wait = first["next_start_in"].as_f64().expect("next_start_in");
    assert!(wait > 0.0 && wait <= 1.0, "{first}");
    let second = wait_bot(&mut c, &ghost, "backing off longer", |b| {
        b["status"] == "backoff" && b["restarts"].as_u64() >= Some(2)
    })
    .await;
    assert!(
        second["next_start_in"].as_f64().unwrap() > 1.0,
        "the delay doubles: {second}"
    );
    assert!(second["last_error"].as_str().unwrap().contains("exited"), "{second}");
    let stopped = c.result("bot.stop", json!({ "bot_id": ghost })).await;
    assert_eq!(stopped["status"], "stopped");
    assert!(stopped["next_start_in"].is_null());

    // Bad input is refused naming the field.
    let e = c
        .error(
            "bot.create",
            json!({"persona_id": "Aria", "homeserver": synapse.url, "user_id": "@x:localhost"}),
        )
        .await;
    assert_eq!(e["code"], -32602);
    assert!(e["message"].as_str().unwrap().contains("password"), "{e}");
    let e = c
        .error(
            "bot.create",
            json!({"persona_id": "Aria", "homeserver": synapse.url, "user_id": "aria", "password": "x"}),
        )
        .await;
    assert_eq!(e["data"]["field"], "user_id", "{e}");
    let e = c
        .error(
            "bot.create",
            json!({"persona_id": "Aria", "homeserver": "ftp://x", "user_id": "@a:b", "password": "x"}),
        )
        .await;
    assert_eq!(e["data"]["field"], "homeserver", "{e}");
    let e = c
        .error(
            "bot.create",
            json!({"persona_id": "Nobody", "homeserver": synapse.url, "user_id": "@n:localhost", "password": "x"}),
        )
        .await;
    assert_eq!(e["code"], -32001);
    let e = c.error("bot.get", json!({ "bot_id": uuid::Uuid::new_v4() })).await;
    assert_eq!(e["code"], -32009);
    let e = c.error("bot.logs", json!({ "bot_id": bot, "lines": 0 })).await;
    assert_eq!(e["data"]["field"], "lines");
    server.stop().await;
}

#[tokio::test]
async fn bots_decline_strangers_stop_with_the_server_and_come_back_after_a_restart() {
    let synapse = synapse::shared().await;
    let t = tag();
    let (alice, bob, aria) = (format!("alice{t}"), format!("bob{t}"), format!("aria{t}"));
    let ids = synapse
        .register(&[(&alice, HUMAN_PW), (&bob, HUMAN_PW), (&aria, ARIA_PW)])
        .await;
    let aria_id = ids[2].clone();
    let (_llm, server, _dir) = bot_server();
    let mut c = server.client().await;
    let bot = c
        .result(
            "bot.create",
            json!({"persona_id": "Aria", "homeserver": synapse.url, "user_id": aria_id, "password": ARIA_PW,
                   "invite_allowlist": [ids[0]]}),
        )
        .await["bot_id"]
        .clone();
    let running = wait_bot(&mut c, &bot, "running", status_is("running")).await;

    // Only users on its allowlist may invite it: Bob's invite is declined.
    let stranger = Human::login(synapse, &bob, HUMAN_PW).await;
    let declined = stranger.create_room(&[&aria_id]).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while stranger.membership(&declined, &aria_id).await != "leave" {
        assert!(Instant::now() < deadline, "the invite from a stranger was not declined");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let human = Human::login(synapse, &alice, HUMAN_PW).await;
    let room = human.create_room(&[&aria_id]).await;
    wait_joined(&human, &room, &[&aria_id]).await;
    human.send(&room, "hello aria").await;
    wait_answers(&human, &room, &aria_id, 1).await;

    // Server shutdown stops the bot's process; the next start starts it again (enabled) where it left off.
    let pid = running["pid"].as_u64().unwrap();
    let server = server.restart().await;
    assert!(!process_alive(pid), "bot process {pid} outlived the server");
    let mut c = server.client().await;
    let back = wait_bot(&mut c, &bot, "running after the restart", status_is("running")).await;
    assert_ne!(back["pid"].as_u64(), Some(pid));
    human.send(&room, "hello again").await;
    wait_answers(&human, &room, &aria_id, 2).await;
    assert_eq!(
        settled_count(&human, &room, &aria_id).await,
        2,
        "nothing answered twice"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_homeserver_restart_is_waited_out_and_nothing_is_answered_twice() {
    let mut homeserver = OwnSynapse::start().await;
    let t = tag();
    let (alice, aria) = (format!("alice{t}"), format!("aria{t}"));
    let ids = homeserver.register(&[(&alice, HUMAN_PW), (&aria, ARIA_PW)]).await;
    let aria_id = ids[1].clone();
    let (_llm, server, _dir) = bot_server();
    let mut c = server.client().await;
    let bot = c
        .result(
            "bot.create",
            json!({"persona_id": "Aria", "homeserver": homeserver.url, "user_id": aria_id, "password": ARIA_PW,
                   "reply_mode": "all"}),
        )
        .await["bot_id"]
        .clone();
    wait_bot(&mut c, &bot, "running", status_is("running")).await;
    let human = Human::login(&homeserver, &alice, HUMAN_PW).await;
    let room = human.create_room(&[&aria_id]).await;
    wait_joined(&human, &room, &[&aria_id]).await;
    human.send(&room, "before the outage").await;
    wait_answers(&human, &room, &aria_id, 1).await;

    // The homeserver stops mid-run and starts again (same port, same data): the bot waits it out, never
    // `failed`, then answers a new message and not the old one again.
    homeserver.stop().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = c.result("bot.get", json!({ "bot_id": bot })).await;
    assert_ne!(during["status"], "failed", "{during}");
    homeserver.resume().await;
    human.send(&room, "after the outage").await;
    wait_answers(&human, &room, &aria_id, 2).await;
    assert_eq!(
        settled_count(&human, &room, &aria_id).await,
        2,
        "one answer per message, none twice"
    );
    let back = c.result("bot.get", json!({ "bot_id": bot })).await;
    assert_eq!(back["status"], "running", "{back}");
    server.stop().await;
}

#[tokio::test]
async fn a_killed_server_leaves_no_bot_process_behind() {
    use std::io::{BufRead, BufReader};

    let synapse = synapse::shared().await;
    let t = tag();
    let user = format!("orphan{t}");
    let ids = synapse.register(&[(&user, ARIA_PW)]).await;
    let llm = FakeLlm::start(FakeLlmConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_persona-mcp"))
        .current_dir(dir.path())
        .env("PERSONA_MCP__STORAGE__DATA_DIR", dir.path())
        .env("PERSONA_MCP__LLM__URL", llm.url())
        .env("PERSONA_MCP__SERVER__PORT", "0")
        .env("PERSONA_MCP__ADMIN__PORT", "0")
        .env("PERSONA_MCP__EMBEDDER__PROVIDER", "none")
        .env("PERSONA_MCP__LOGGING__LEVEL", "info")
        .env("NO_COLOR", "1")
        .arg("serve")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = server.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let url = line
                .split("listening: ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .filter(|url| url.starts_with("ws://"));
            if let Some(url) = url {
                tx.send(url.to_string()).ok();
            }
        }
    });
    let url = rx.recv_timeout(Duration::from_secs(60)).expect("the server listens");
    let mut c = WsClient::connect(&url).await;
    let bot = c
        .result(
            "bot.create",
            json!({"persona_id": "Kira", "homeserver": synapse.url, "user_id": ids[0], "password": ARIA_PW}),
        )
        .await["bot_id"]
        .clone();
    let running = wait_bot(&mut c, &bot, "running", status_is("running")).await;
    let pid = running["pid"].as_u64().unwrap();
    assert!(process_alive(pid));
    server.kill().unwrap();
    server.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while process_alive(pid) {
        assert!(
            Instant::now() < deadline,
            "bot process {pid} orphaned by the killed server"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_state_load_restarts_running_bots_and_keeps_their_credentials() {
    let synapse = synapse::shared().await;
    let t = tag();
    let user = format!("loadbot{t}");
    let ids = synapse.register(&[(&user, ARIA_PW)]).await;
    let (_llm, server, _dir) = bot_server();
    let mut c = server.client().await;
    let bot = c
        .result(
            "bot.create",
            json!({"persona_id": "Aria", "homeserver": synapse.url, "user_id": ids[0], "password": ARIA_PW}),
        )
        .await["bot_id"]
        .clone();
    let before = wait_bot(&mut c, &bot, "running", status_is("running")).await;
    let old_pid = before["pid"].as_u64().unwrap();
    let saved = c.result("state.save", json!({})).await;
    let loaded = c.result("state.load", json!({"path": saved["path"]})).await;
    assert_eq!(loaded["state_loaded"], true, "{loaded}");
    // The old process is gone by the time the load answers; the loaded bot logs in again with the password it
    // had (the snapshot carries no secrets).
    assert!(!process_alive(old_pid), "the bot process of before the load still runs");
    let after = wait_bot(&mut c, &bot, "running again", |b| {
        b["status"] == "running" && b["pid"].as_u64().is_some_and(|p| p != old_pid)
    })
    .await;
    assert_eq!(after["user_id"], ids[0].as_str());
}
