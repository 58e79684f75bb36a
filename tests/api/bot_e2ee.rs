//! Matrix bots in end-to-end encrypted rooms, against the real Synapse: a person on an E2EE client (the Matrix
//! Rust SDK, `support::e2ee`) opens an encrypted direct chat with a bot, which joins, decrypts, and answers
//! encrypted (the reply streamed into encrypted edits), in a thread too; the bot keeps its device across a
//! restart of its process or of the server, and a lost crypto store is reported on `bot.get` while the bot goes
//! on as a new device.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::bot::{answers, bot_settings, tag, wait_bot, Answer, ARIA_PW, HUMAN_PW, REPLY};
use crate::support::e2ee::E2eeHuman;
use crate::support::synapse::{self, Homeserver, Human};
use crate::support::{TestServer, WsClient};

/// Waits until `sender` (the bot `bot`) has posted `n` complete replies the person could decrypt.
async fn wait_decrypted_answers(
    c: &mut WsClient,
    bot: &Value,
    person: &E2eeHuman,
    room: &str,
    sender: &str,
    n: usize,
) -> Vec<Answer> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let events = person.messages(room);
        let a = answers(&events, sender);
        if a.len() >= n && a.iter().all(|a| a.final_body() == REPLY) {
            return a;
        }
        if Instant::now() > deadline {
            let undecrypted = events
                .iter()
                .filter(|e| e["type"] == "m.room.encrypted" && e["sender"] == sender)
                .count();
            let logs = c.result("bot.logs", json!({ "bot_id": bot, "lines": 1000 })).await;
            panic!(
                "{sender} has {} of {n} complete replies ({undecrypted} could not be decrypted)\nlogs: {:#}",
                a.len(),
                logs["lines"]
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_has_joined(person: &E2eeHuman, room: &str, user: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !person.has_joined(room, user).await {
        assert!(Instant::now() < deadline, "{user} never joined {room}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn encryption_of(c: &mut WsClient, bot: &Value, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    wait_bot(c, bot, what, |b| b["status"] == "running" && ok(&b["encryption"])).await["encryption"].clone()
}

#[tokio::test]
async fn an_encrypted_dm_is_answered_encrypted_in_threads_too_and_the_device_outlives_restarts() {
    let synapse = synapse::shared().await;
    let t = tag();
    let (alice, aria) = (format!("alice{t}"), format!("aria{t}"));
    let ids = synapse.register(&[(&alice, HUMAN_PW), (&aria, ARIA_PW)]).await;
    let aria_id = ids[1].clone();
    let (_llm, settings, dir) = bot_settings();
    let server = TestServer::start_with(settings.clone());
    let mut c = server.client().await;
    let bot = c
        .result(
            "bot.create",
            json!({"persona_id": "Aria", "homeserver": synapse.url, "user_id": aria_id, "password": ARIA_PW}),
        )
        .await["bot_id"]
        .clone();
    let first = encryption_of(&mut c, &bot, "running with a new device", |e| e["store"] == "new").await;
    let device = first["device_id"].as_str().expect("device id").to_string();
    assert!(!first["device_key"].as_str().unwrap_or("").is_empty(), "{first}");
    assert!(first["message"].is_null(), "{first}");

    // An encrypted direct chat: the bot joins, decrypts, and answers encrypted, streaming into edits.
    let person = E2eeHuman::login(synapse, &alice, HUMAN_PW).await;
    let dm = person.create_dm(&aria_id).await;
    wait_has_joined(&person, &dm, &aria_id).await;
    let root = person.send(&dm, "hello aria, can you read this?").await;
    let a = wait_decrypted_answers(&mut c, &bot, &person, &dm, &aria_id, 1).await;
    assert!(!a[0].edits.is_empty(), "the reply was streamed into edits");
    // On the wire (what the homeserver stores) the reply is encrypted: no plain message from the bot.
    let plain = Human::login(synapse, &alice, HUMAN_PW).await;
    assert!(
        answers(&plain.messages(&dm).await, &aria_id).is_empty(),
        "the bot posted in plain text in an encrypted room"
    );
    let counted = wait_bot(&mut c, &bot, "counting its encrypted room", |b| {
        b["status"] == "running" && b["encryption"]["encrypted_rooms"].as_u64() >= Some(1)
    })
    .await;
    assert_eq!(counted["encryption"]["device_id"], device.as_str());

    // A thread in the encrypted room is answered in that thread.
    let asked = person.send_in_thread(&dm, &root, "and in this thread?").await;
    let a = wait_decrypted_answers(&mut c, &bot, &person, &dm, &aria_id, 2).await;
    let relation = &a[1].original["content"]["m.relates_to"];
    assert_eq!(relation["rel_type"], "m.thread", "{}", a[1].original);
    assert_eq!(relation["event_id"], root.as_str());
    assert_eq!(relation["m.in_reply_to"]["event_id"], asked.as_str());

    // A restart of the bot's process: the same device, still answering.
    let pid = counted["pid"].clone();
    c.result("bot.restart", json!({ "bot_id": bot })).await;
    let again = wait_bot(&mut c, &bot, "running in a new process", |b| {
        b["status"] == "running" && b["pid"] != pid && b["encryption"]["store"] == "ok"
    })
    .await;
    assert_eq!(
        again["encryption"]["device_id"],
        device.as_str(),
        "a new device after bot.restart"
    );
    person.send(&dm, "after a restart of the bot?").await;
    wait_decrypted_answers(&mut c, &bot, &person, &dm, &aria_id, 3).await;

    // A restart of the whole server (and so of the bot's process): the same device, still answering.
    server.stop().await;
    let server = TestServer::start_with(settings.clone());
    let mut c = server.client().await;
    let back = encryption_of(&mut c, &bot, "running again", |e| e["store"] == "ok").await;
    assert_eq!(back["device_id"], device.as_str(), "a new device after a restart");
    assert_eq!(
        plain.device_ids(&aria_id).await,
        vec![device.clone()],
        "one device on the homeserver"
    );
    person.send(&dm, "still there after the restart?").await;
    wait_decrypted_answers(&mut c, &bot, &person, &dm, &aria_id, 4).await;

    // The crypto store lost (the data directory restored without it): reported, and the bot logs in as a new
    // device that the person's client encrypts for.
    server.stop().await;
    let store = dir.path().join("bots").join(bot.as_str().expect("bot id"));
    std::fs::remove_dir_all(&store).expect("the bot's crypto store is under the data directory");
    let server = TestServer::start_with(settings);
    let mut c = server.client().await;
    let recreated = encryption_of(&mut c, &bot, "reporting the lost store", |e| e["store"] == "recreated").await;
    let new_device = recreated["device_id"].as_str().expect("device id").to_string();
    assert_ne!(new_device, device);
    let message = recreated["message"].as_str().expect("what happened and what to do");
    assert!(message.contains(&device) && message.contains(&new_device), "{message}");
    let logs = c.result("bot.logs", json!({ "bot_id": bot, "lines": 1000 })).await;
    assert!(
        logs["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .any(|l| l.as_str().is_some_and(|l| l.contains("were lost"))),
        "the loss is in the bot's log"
    );
    // The person's client learns of the new device as it syncs (as Element would), then encrypts for it too.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !person.knows_device(&aria_id, &new_device).await {
        assert!(
            Instant::now() < deadline,
            "the person's client never learnt the bot's new device"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    person.send(&dm, "and now, new device?").await;
    wait_decrypted_answers(&mut c, &bot, &person, &dm, &aria_id, 5).await;
    server.stop().await;
}
